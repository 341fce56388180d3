#!/usr/bin/env bash
# The main job until the studio and the bundled backbone exist (issues 5 and 7): spoken words
# generated with espeak-ng (5 words, 4 voices, 2 speeds, 2 pitches, plus one corrupt file that
# the import report lists), a randomly initialised AST backbone in the Hugging Face layout, then
#   astpeft train    a conformer adapter (the paper's setting), with a live progress bar
#   astpeft eval     the run's adapter on its validation split
#   astpeft predict  two clips through backbone + adapter
#   astpeft compare  LoRA, adapter and linear probing at the same parameter budget
# Usage: tools/demo.sh [BUILD_DIR]; ASTPEFT_DEMO_DIR keeps the files in a folder of your choice.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${ASTPEFT_BUILD_DIR:-$root/build}}
cli="$build/app/astpeft"
work=${ASTPEFT_DEMO_DIR:-$(mktemp -d)}
data="$work/words"

echo "== generating spoken words in $data"
for word in yes no stop go left; do
  mkdir -p "$data/$word"
  for voice in en en-us en+f3 en+m3; do
    for speed in 130 180; do
      for pitch in 35 65; do
        espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$data/$word/${voice/+/_}_${speed}_${pitch}.wav" "$word"
      done
    done
  done
done
printf 'RIFF-not-really-audio' > "$data/go/broken.wav"

echo "== a random AST backbone (small preset: 192 hidden, 6 layers)"
"$cli" init-model --preset small --max-length 1024 --seed 1 --out "$work/backbone"

echo "== astpeft train: conformer adapter, 12 epochs"
"$cli" train --model "$work/backbone" --data "$data" --method adapter --epochs 12 \
  --batch-size 8 --cache-dir "$work/cache" --out "$work/run"

echo "== astpeft eval: the run's best adapter on its validation split"
"$cli" eval "$work/run" --split validation

echo "== astpeft predict with the adapter"
"$cli" predict "$work/backbone" --adapter "$work/run" "$data/yes/en_130_35.wav" \
  "$data/left/en-us_180_65.wav" --top-k 2

echo "== astpeft compare: three methods at a 1% budget, 4 epochs each"
"$cli" compare --model "$work/backbone" --data "$data" --methods lora,adapter,linear \
  --budget 1% --epochs 4 --cache-dir "$work/cache" --out "$work/compare"
echo "== done; files in $work"
