#!/usr/bin/python3
"""Generate the fbank reference fixtures for the C++ feature extractor.

Usage
-----
    /usr/bin/python3 tools/make_fbank_fixtures.py [OUTDIR]

OUTDIR defaults to ``tests/fixtures/fbank`` under the repository root (found from
this script's location).  Needs Debian's Python (torch 1.13, torchaudio 0.13,
numpy) plus the ``espeak-ng`` and ``sox`` executables.

What it writes
--------------
For every fixture NAME:

* ``NAME.wav``  16 kHz, mono, 16-bit PCM WAV (plain 44-byte RIFF header, written
  by Python's ``wave`` module).
* ``NAME.npy``  float32 [frames, 128]: the features exactly as Hugging Face's
  ``ASTFeatureExtractor`` computes them (torchaudio backend), but WITHOUT the
  padding/truncation to max_length, i.e. every frame is kept:

      x   = int16 samples / 32768             (float32, read with `wave` + numpy)
      fb  = torchaudio.compliance.kaldi.fbank(x[None], htk_compat=True,
                sample_frequency=16000, use_energy=False, window_type='hanning',
                num_mel_bins=128, dither=0.0, frame_shift=10)
      out = (fb - (-4.2677393)) / (4.5689974 * 2)

  Frames = 1 + (samples - 400) // 160 (Kaldi snip_edges=True).

* ``long_60s`` is the exception: ``long_60s.npy`` keeps only every 37th frame
  (rows 0, 37, 74, ...) and ``long_60s.json`` holds
  ``{"frame_step": 37, "frames": <total frame count>}``.

* ``manifest.json``: one entry per fixture (sample count, frame count, stored rows,
  frame step, sha256 of the WAV) plus the feature parameters and tool versions.

The features are always computed from the WAV file as written (read back from
disk), so the .npy files match the .wav files bit for bit even if espeak-ng or sox
produce slightly different audio on another machine.

Determinism: every synthetic signal uses a fixed numpy seed, sox runs with -R
(repeatable) and -D (no dither), no timestamps are written anywhere.  Rerunning
the script on the same machine reproduces every file byte for byte.

Notes
-----
* Inputs shorter than 400 samples (one 25 ms window) make torchaudio's fbank fail
  with an AssertionError ("choose a window size 400 that is [2, N]"), so HF's
  extractor cannot handle them; ``short_400`` (exactly one frame) and
  ``short_559`` (one frame, one sample short of two) are the edge cases kept here.
* The whole folder is kept under 3 MB; some clips are shorter than their
  "natural" length for that reason (see DURATIONS).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np
import torch
import torchaudio

SR = 16000
MEAN = -4.2677393
STD = 4.5689974
FBANK_KW = dict(htk_compat=True, sample_frequency=16000, use_energy=False,
                window_type="hanning", num_mel_bins=128, dither=0.0, frame_shift=10)
LONG_STEP = 37

# Durations in seconds (chosen to keep the folder under 3 MB).
DURATIONS = {
    "white_noise": 1.25,
    "pink_noise": 1.25,
    "tone_440": 1.0,
    "tone_7900": 0.5,
    "sweep": 2.0,
    "silence": 0.5,
    "near_silence": 0.5,
    "clipped": 0.5,
    "dc_offset": 0.5,
    "long_60s": 60.0,
}
SPEECH_MAX_S = 2.0  # espeak-ng output is cut to at most this long

SPEECH_TEXT = "Open the door, please."
SPEECH_FAST_TEXT = "Turn the volume down, please."


# --------------------------------------------------------------------------- I/O
def float_to_int16(x):
    """float in [-1, 1) -> int16 with rounding and clipping to full scale."""
    y = np.round(np.asarray(x, dtype=np.float64) * 32768.0)
    return np.clip(y, -32768, 32767).astype(np.int16)


def write_wav(path, samples_i16):
    samples_i16 = np.ascontiguousarray(samples_i16, dtype="<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(samples_i16.tobytes())


def read_wav_i16(path):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != SR:
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit, got "
                             f"{w.getframerate()} Hz, {w.getnchannels()} ch, {8 * w.getsampwidth()} bit")
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").copy()


def features_from_wav(path):
    """The HF ASTFeatureExtractor features of a WAV file, all frames, float32 [T,128]."""
    x = read_wav_i16(path).astype(np.float32) / np.float32(32768.0)
    wav = torch.from_numpy(x)
    fb = torchaudio.compliance.kaldi.fbank(wav[None], **FBANK_KW)
    fb = (fb - (MEAN)) / (STD * 2)
    return fb.numpy().astype(np.float32, copy=False)


# --------------------------------------------------------------- signal sources
def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def espeak_to_i16(tmpdir, text, args, max_s):
    raw = os.path.join(tmpdir, "espeak_raw.wav")
    conv = os.path.join(tmpdir, "espeak_16k.wav")
    run(["espeak-ng"] + args + ["-w", raw, text])
    # -R repeatable, -D no dither: byte-identical output on every run
    run(["sox", "-R", raw, "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-D", conv])
    x = read_wav_i16(conv)
    return x[: int(round(max_s * SR))]


def sox_pink_to_i16(tmpdir, seconds):
    out = os.path.join(tmpdir, "pink.wav")
    run(["sox", "-R", "-n", "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", out,
         "synth", f"{seconds}", "pinknoise", "vol", "0.3"])
    x = read_wav_i16(out)
    return x[: int(round(seconds * SR))]


def n_samples(name):
    return int(round(DURATIONS[name] * SR))


def tone(n, freq, amp, phase=0.0):
    t = np.arange(n, dtype=np.float64) / SR
    return amp * np.sin(2 * np.pi * freq * t + phase)


def make_long(n, seed):
    """60 s of alternating noise bursts, tones, chirps and gaps (numpy only)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n, dtype=np.float64)
    pos = 0
    while pos < n:
        seg = int(rng.integers(int(0.2 * SR), int(1.5 * SR)))
        seg = min(seg, n - pos)
        kind = int(rng.integers(0, 4))
        t = np.arange(seg, dtype=np.float64) / SR
        if kind == 0:  # noise burst with random level
            sig = rng.uniform(0.02, 0.4) * rng.standard_normal(seg)
        elif kind == 1:  # one or two tones
            sig = tone(seg, rng.uniform(60, 7800), rng.uniform(0.05, 0.5))
            if rng.random() < 0.5:
                sig += tone(seg, rng.uniform(60, 7800), rng.uniform(0.05, 0.3))
        elif kind == 2:  # linear chirp
            f0, f1 = rng.uniform(50, 7900, size=2)
            dur = max(seg / SR, 1e-9)
            sig = rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * dur)))
        else:  # near-silent gap
            sig = 1e-4 * rng.standard_normal(seg)
        # 5 ms fades to avoid clicks at segment borders
        fade = min(80, seg // 2)
        if fade > 0:
            ramp = np.linspace(0.0, 1.0, fade)
            sig[:fade] *= ramp
            sig[seg - fade:] *= ramp[::-1]
        out[pos:pos + seg] = sig
        pos += seg
    return float_to_int16(np.clip(out, -0.99, 0.99))


def build_signals(tmpdir):
    """Ordered list of (name, int16 samples, description)."""
    sig = []
    sig.append(("speech", espeak_to_i16(tmpdir, SPEECH_TEXT, ["-v", "en-us"], SPEECH_MAX_S),
                f"espeak-ng -v en-us '{SPEECH_TEXT}', sox to 16 kHz s16 (-R -D), cut to <= {SPEECH_MAX_S} s"))
    sig.append(("speech_fast_high",
                espeak_to_i16(tmpdir, SPEECH_FAST_TEXT, ["-v", "en-gb+f3", "-s", "220", "-p", "80"], SPEECH_MAX_S),
                f"espeak-ng -v en-gb+f3 -s 220 -p 80 '{SPEECH_FAST_TEXT}', sox to 16 kHz s16 (-R -D)"))
    rng = np.random.default_rng(1)
    sig.append(("white_noise", float_to_int16(np.clip(0.3 * rng.uniform(-1, 1, n_samples("white_noise")), -1, 1)),
                "uniform white noise, amplitude 0.3, seed 1"))
    sig.append(("pink_noise", sox_pink_to_i16(tmpdir, DURATIONS["pink_noise"]),
                "sox -R -n synth pinknoise vol 0.3"))
    sig.append(("tone_440", float_to_int16(tone(n_samples("tone_440"), 440.0, 0.5)), "440 Hz sine, amplitude 0.5"))
    sig.append(("tone_7900", float_to_int16(tone(n_samples("tone_7900"), 7900.0, 0.5)),
                "7900 Hz sine (near Nyquist), amplitude 0.5"))
    n = n_samples("sweep")
    t = np.arange(n, dtype=np.float64) / SR
    f0, f1, T = 20.0, 8000.0, n / SR
    k = np.log(f1 / f0)
    sweep = 0.5 * np.sin(2 * np.pi * f0 * T / k * (np.exp(t / T * k) - 1.0))
    sig.append(("sweep", float_to_int16(sweep), "exponential sine sweep 20 Hz -> 8 kHz, amplitude 0.5"))
    sig.append(("silence", np.zeros(n_samples("silence"), dtype=np.int16), "exact digital zeros"))
    rng = np.random.default_rng(2)
    sig.append(("near_silence", rng.integers(-1, 2, n_samples("near_silence")).astype(np.int16),
                "+-1 LSB dither: int16 values uniform in {-1,0,1}, seed 2"))
    sig.append(("clipped", float_to_int16(np.clip(tone(n_samples("clipped"), 300.0, 3.0), -1.0, 1.0)),
                "300 Hz sine at amplitude 3 clipped to full scale"))
    sig.append(("dc_offset", float_to_int16(tone(n_samples("dc_offset"), 1000.0, 0.3) + 0.5),
                "1000 Hz sine amplitude 0.3 plus 0.5 DC"))
    rng = np.random.default_rng(3)
    sig.append(("short_400", float_to_int16(tone(400, 1000.0, 0.3) + 0.05 * rng.standard_normal(400)),
                "exactly 400 samples = one frame (1 kHz tone + noise, seed 3)"))
    rng = np.random.default_rng(4)
    sig.append(("short_559", float_to_int16(tone(559, 2500.0, 0.3) + 0.05 * rng.standard_normal(559)),
                "559 samples = one frame, one sample short of two (2.5 kHz tone + noise, seed 4)"))
    sig.append(("long_60s", make_long(n_samples("long_60s"), seed=5),
                f"60 s numpy mixture of noise bursts, tones, chirps and gaps (seed 5); npy keeps every {LONG_STEP}th frame"))
    return sig


def tool_version(cmd):
    try:
        r = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", default=os.path.join(repo, "tests", "fixtures", "fbank"))
    args = ap.parse_args()
    for exe in ("espeak-ng", "sox"):
        if shutil.which(exe) is None:
            sys.exit(f"error: '{exe}' not found on PATH")
    torch.set_num_threads(1)
    os.makedirs(args.outdir, exist_ok=True)

    entries = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for name, samples, desc in build_signals(tmpdir):
            wav_path = os.path.join(args.outdir, name + ".wav")
            write_wav(wav_path, samples)
            feats = features_from_wav(wav_path)  # always from the file as written
            frames = int(feats.shape[0])
            assert frames == 1 + (len(samples) - 400) // 160, (name, frames, len(samples))
            step = LONG_STEP if name == "long_60s" else 1
            stored = np.ascontiguousarray(feats[::step], dtype=np.float32)
            np.save(os.path.join(args.outdir, name + ".npy"), stored)
            if name == "long_60s":
                with open(os.path.join(args.outdir, name + ".json"), "w") as f:
                    json.dump({"frame_step": LONG_STEP, "frames": frames}, f)
                    f.write("\n")
            with open(wav_path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            entries.append({
                "name": name, "wav": name + ".wav", "npy": name + ".npy",
                "samples": int(len(samples)), "frames": frames,
                "frame_step": step, "stored_frames": int(stored.shape[0]),
                "wav_sha256": sha, "description": desc,
            })
            print(f"{name:18s} samples={len(samples):7d} frames={frames:5d} stored={stored.shape[0]:5d}")

    manifest = {
        "sample_rate": SR,
        "features": {
            "function": "torchaudio.compliance.kaldi.fbank",
            "args": FBANK_KW,
            "input_scaling": "int16 / 32768 as float32",
            "normalization": {"mean": MEAN, "std": STD, "formula": "(fbank - mean) / (std * 2)"},
            "padding": "none (all frames kept)",
            "dtype": "float32",
            "shape": "[frames, 128]",
        },
        "generator": "tools/make_fbank_fixtures.py",
        "versions": {"torch": torch.__version__, "torchaudio": torchaudio.__version__,
                     "numpy": np.__version__, "espeak-ng": tool_version(["espeak-ng", "--version"]),
                     "sox": tool_version(["sox", "--version"])},
        "fixtures": entries,
    }
    with open(os.path.join(args.outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(args.outdir, p)) for p in os.listdir(args.outdir))
    print(f"wrote {len(entries)} fixtures to {args.outdir} ({total} bytes)")


if __name__ == "__main__":
    main()
