#!/usr/bin/env bash
# Regenerates the bundled demo dataset (resources/demo/, installed to share/astpeft/demo):
# one folder per class, FLAC 16 kHz mono 16-bit, every clip at most 1.0 s.
#   yes no up down left right on off stop go   the ten Speech Commands core words, spoken by
#       espeak-ng in 8 voice variants (never used by the backbone's pretraining corpus) at
#       2 speeds x 2 pitches = 32 clips per word; leading and trailing silence trimmed, 50 ms of
#       silence added on both sides, cut to 1.0 s
#   _background_   32 clips of 1 s: white/pink/brown noise, mains hum, rumble and near-silence at
#       low level, synthesised by sox
# Deterministic: no dither (-D) for speech, sox's fixed random seed (-R) for the noises, so two
# runs give byte-identical files (same espeak-ng, sox and libFLAC versions).
# Usage: tools/make_demo.sh [OUTDIR]   (default: resources/demo of this checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/resources/demo}

words=(yes no up down left right on off stop go)
voices=(en+f3 en+f4 en+m5 en+m6 en-us+f3 en-us+m5 en-gb-scotland en-gb-x-rp+f4)
speeds=(135 175)   # words per minute (espeak-ng's default is 175)
pitches=(35 65)    # 0-99 (default 50)

for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "make_demo.sh: $tool is needed" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Only this script's files are replaced: a README.md in OUTDIR stays.
mkdir -p "$out"
for class in "${words[@]}" _background_; do
  rm -rf "${out:?}/$class"
  mkdir -p "$out/$class"
done

# sox: no dither (-D), fixed random seed (-R), failures only on stderr (-V1).
sx() { sox -D -R -V1 "$@"; }
flac16k=(-r 16000 -c 1 -b 16 -C 8)

for word in "${words[@]}"; do
  for voice in "${voices[@]}"; do
    for speed in "${speeds[@]}"; do
      for pitch in "${pitches[@]}"; do
        name="${voice//+/_}_s${speed}_p${pitch}"
        espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$tmp/raw.wav" "$word"
        # silence (start), reverse, silence (the old end), reverse: both ends trimmed at -40 dB.
        sx "$tmp/raw.wav" "$tmp/trim.wav" silence 1 0.01 1% reverse silence 1 0.01 1% reverse
        sx "$tmp/trim.wav" "${flac16k[@]}" --comment "" "$out/$word/$name.flac" \
          rate -v 16000 pad 0.05 0.05 trim 0 1.0
      done
    done
  done
done

# Background: 32 one-second clips. Each line: name, then the sox synth and effect arguments;
# a synth with several types makes one channel per type, averaged to mono on output.
background=(
  "white-1 synth 1 whitenoise vol 0.004"
  "white-2 synth 1 whitenoise vol 0.012"
  "white-3 synth 1 whitenoise vol 0.01 lowpass 2000"
  "white-4 synth 1 whitenoise vol 0.006 highpass 3000"
  "pink-1 synth 1 pinknoise vol 0.006"
  "pink-2 synth 1 pinknoise vol 0.02"
  "pink-3 synth 1 pinknoise vol 0.03 lowpass 1000"
  "pink-4 synth 1 pinknoise vol 0.03 bandpass 800 400h"
  "brown-1 synth 1 brownnoise vol 0.01"
  "brown-2 synth 1 brownnoise vol 0.04"
  "brown-3 synth 1 brownnoise vol 0.08 lowpass 300"
  "brown-4 synth 1 brownnoise vol 0.03 highpass 200"
  "hum50-1 synth 1 sine 50 vol 0.01"
  "hum50-2 synth 1 sine 50 sine 100 sine 150 vol 0.006"
  "hum60-1 synth 1 sine 60 vol 0.01"
  "hum60-2 synth 1 sine 60 sine 120 sine 180 vol 0.006"
  "hum50-noise synth 1 sine 50 pinknoise vol 0.008"
  "hum60-noise synth 1 sine 60 whitenoise vol 0.006"
  "buzz-100 synth 1 square 100 vol 0.004 lowpass 1500"
  "buzz-120 synth 1 sawtooth 120 vol 0.004 lowpass 1200"
  "fan-1 synth 1 brownnoise vol 0.03 tremolo 8 40"
  "fan-2 synth 1 pinknoise vol 0.02 tremolo 4 30 lowpass 1500"
  "rumble-1 synth 1 brownnoise vol 0.15 lowpass 120"
  "rumble-2 synth 1 sine 35 brownnoise vol 0.05 lowpass 200"
  "hiss-1 synth 1 whitenoise vol 0.01 highpass 6000"
  "hiss-2 synth 1 pinknoise vol 0.015 highpass 4000"
  "tone-1k synth 1 sine 1000 vol 0.002"
  "whine synth 1 sine 3150 pinknoise vol 0.003"
  "silence-1 synth 1 whitenoise vol 0.0005"
  "silence-2 synth 1 pinknoise vol 0.001"
  "silence-3 synth 1 brownnoise vol 0.002"
  "silence-4 synth 1 sine 50 vol 0.0005"
)
for entry in "${background[@]}"; do
  read -r name effects <<<"$entry"
  # shellcheck disable=SC2086 # the effects are words on purpose
  types=$(grep -o -w -E 'sine|square|sawtooth|whitenoise|pinknoise|brownnoise' <<<"$effects" | wc -l)
  sx -r 16000 -c "$types" -n "${flac16k[@]}" --comment "" "$out/_background_/$name.flac" $effects
done

echo "make_demo.sh: $(find "$out" -name '*.flac' | wc -l) clips, $(du -sh "$out" | cut -f1) in $out"
