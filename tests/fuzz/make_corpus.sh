#!/usr/bin/env bash
# Regenerates the fuzz targets' seed corpora in tests/fuzz/corpus/TARGET/ (committed; each file
# a few hundred bytes to a few KB): small valid inputs of each reader, in the shapes the unit
# tests use (tst_safetensors, tst_audio, tst_dataset, tst_adapter_manifest, tst_hub_download),
# plus the bundled backbone's config.json. The adapter_config seeds are written by
# adapterManifestJson and are kept as they are. Needs python3 and sox.
#
#   tests/fuzz/make_corpus.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=$here/corpus
mkdir -p "$corpus"/{safetensors,audio,csv_layouts,adapter_config,hub_response}

python3 - "$corpus" <<'PY'
import json, os, struct, sys
corpus = sys.argv[1]

def safetensors(name, tensors, metadata=None):
    header, data = {}, b""
    for tname, dtype, shape, raw in tensors:
        header[tname] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(corpus, "safetensors", name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)

f32 = lambda *v: struct.pack("<%df" % len(v), *v)
safetensors("two_f32", [("a.weight", "F32", [2, 2], f32(1, 2, 3, 4)), ("a.bias", "F32", [2], f32(5, 6))],
            {"format": "pt"})
safetensors("mixed_dtypes", [("h", "F16", [3], b"\x00\x3c" * 3), ("b", "BF16", [1, 2], b"\x80\x3f" * 2),
                             ("i", "I64", [1], struct.pack("<q", 7)), ("m", "BOOL", [2], b"\x01\x00"),
                             ("u", "U8", [4], b"\x01\x02\x03\x04"), ("d", "F64", [], struct.pack("<d", 1.5))])
safetensors("empty_tensor", [("e", "F32", [0, 3], b""), ("s", "I32", [1], struct.pack("<i", -1))])
safetensors("no_tensors", [], {"astpeft": "adapter"})

def write(target, name, text):
    with open(os.path.join(corpus, target, name), "w", newline="") as f:
        f.write(text)

# CSV manifests in the shapes of tst_dataset.
write("csv_layouts", "csv_bom_crlf_quotes",
      "\ufeffpath,label,split\r\nyes/1.wav,yes,train\r\n\"no/2,a.wav\",\"n\"\"o\",validation\r\n"
      "\"multi\nline.wav\",up,test\r\n/abs/3.wav,,train\r\n")
write("csv_layouts", "tsv_fold", "file\tclass\tfold\n1.wav\t0\t1\n2.wav\t1\t2\n3.wav\t0\t3\n")
write("csv_layouts", "esc50",
      "filename,fold,target,category,esc10,src_file,take\n1-100-A-0.wav,1,0,dog,True,100,A\n"
      "2-200-A-1.wav,2,1,rooster,False,200,A\n5-999-A-0.wav,5,0,dog,False,999,A\n")
write("csv_layouts", "urbansound8k",
      "slice_file_name,fsID,start,end,salience,fold,classID,class\n"
      "100-0-0-0.wav,100,0.0,4.0,1,1,0,air_conditioner\n200-3-0-1.wav,200,0.0,4.0,2,10,3,dog_bark\n")
write("csv_layouts", "fluent",
      ",path,speakerId,transcription,action,object,location\n"
      "0,wavs/speakers/spkA/1.wav,spkA,\"say it, now\",activate,lights,kitchen\n"
      "1,wavs/speakers/spkB/2.wav,spkB,stop,deactivate,music,none\n")
write("csv_layouts", "audiofolder", "file_name,label\ncat/1.wav,cat\ndog/2.wav,\n4.wav,bird\n")
write("csv_layouts", "speech_commands_list", "yes/0a7c2a8d_nohash_0.wav\nno/0b09edd3_nohash_1.wav\n\n")

# Header lines of Hub answers, as tests/hub_server.h sends them.
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
sha1 = "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"
write("hub_response", "lfs_redirect",
      "HTTP/1.1 302 Found\r\nLocation: /cdn/model.safetensors\r\nX-Linked-Etag: \"%s\"\r\n"
      "X-Linked-Size: 123456\r\nETag: \"%s\"\r\nX-Repo-Commit: %s\r\n\r\n" % (sha256, sha1, sha1))
write("hub_response", "regular_file",
      "HTTP/1.1 307 Temporary Redirect\r\nLocation: /other/resolve/main/config.json\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1010\r\nETag: W/\"%s\"\r\nX-Repo-Commit: %s\r\n\r\n"
      % (sha1.upper(), sha1))
write("hub_response", "mirror_lfs", "HTTP/2 200\r\ncontent-length: 99\r\netag: \"%s\"\r\n\r\n" % sha256)
write("hub_response", "partial",
      "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/200\r\nContent-Length: 100\r\n"
      "ETag: \"%s\"\r\n\r\n" % sha1)
write("hub_response", "error", "HTTP/1.1 404 Not Found\r\nX-Error-Code: RepoNotFound\r\n"
      "X-Error-Message: Repository not found\r\n\r\n")
PY

cp "$root/resources/backbone/config.json" "$corpus/adapter_config/backbone_config.json"

# Audio: the first byte picks the extension (0 .wav, 1 .flac, 2 .ogg, 3 .mp3; fuzz_audio.cpp).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
audio() { # NAME PREFIX_BYTE SOX_OUTPUT_OPTIONS... (0.05 s of a tone and noise)
  local name=$1 prefix=$2
  shift 2
  sox -n -r 8000 -c 1 "$@" "$scratch/$name" synth 0.05 sine 440 : synth 0.05 whitenoise vol 0.5
  { printf "\\x$prefix"; cat "$scratch/$name"; } > "$corpus/audio/$name"
}
audio pcm16_8k.wav 00 -b 16
audio pcm24_stereo.wav 00 -c 2 -b 24
audio float32.wav 00 -e floating-point -b 32
audio ulaw.wav 00 -e u-law
audio tone.flac 01
audio tone.ogg 02 -C 0
{ printf '\x00'; cat "$root/tests/fixtures/fbank/short_400.wav"; } > "$corpus/audio/short_400.wav"
