#!/usr/bin/env bash
# The main job until the studio and the bundled backbone exist: a randomly initialised AST
# checkpoint in the Hugging Face layout, generated audio (espeak-ng words, sox tones and noise),
# then `astpeft info`, `fbank` and `predict` on it. Usage: tools/demo.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${ASTPEFT_BUILD_DIR:-$root/build}}
cli="$build/app/astpeft"
work=${ASTPEFT_DEMO_DIR:-$(mktemp -d)}
mkdir -p "$work/audio"

echo "== generating audio in $work/audio"
espeak-ng -w "$work/audio/yes.wav" "yes"
espeak-ng -v en+f3 -s 190 -w "$work/audio/stop.wav" "stop"
sox -n -r 44100 -c 2 "$work/audio/chord.flac" synth 1.5 pluck C4 pluck E4 pluck G4 gain -6
sox -n -r 22050 "$work/audio/noise.ogg" synth 2 pinknoise gain -12

echo "== a random AST (small preset, 100 frames = 1 s) with four labels"
"$cli" init-model --preset small --max-length 100 --labels yes,stop,chord,noise --seed 1 --out "$work/model"
"$cli" info "$work/model"

echo "== features of yes.wav"
"$cli" fbank "$work/audio/yes.wav" --max-length 100 --out "$work/yes_fbank.npy"
ls -l "$work/yes_fbank.npy"

echo "== predictions (an untrained model: scores are near chance until training lands)"
"$cli" predict "$work/model" "$work/audio"/* --top-k 2 --json
echo "== done; files in $work"
