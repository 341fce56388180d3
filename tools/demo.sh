#!/usr/bin/env bash
# The longer CLI tour (tools/bootstrap.sh demo opens the studio or runs `astpeft train --demo`):
# the bundled demo dataset (resources/demo: ten spoken words and background noise, plus one
# corrupt file that the import report lists), the bundled pretrained backbone (resources/backbone;
# a randomly initialised AST in the Hugging Face layout while it is not there), then
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

echo "== the demo dataset (resources/demo) in $data, with one corrupt file"
mkdir -p "$data"
cp -r "$root/resources/demo/." "$data/"
printf 'RIFF-not-really-audio' > "$data/go/broken.wav"

if [ -f "$root/resources/backbone/config.json" ]; then
  backbone="$root/resources/backbone"
  echo "== the bundled pretrained backbone"
  "$cli" info "$backbone" | head -4
else
  backbone="$work/backbone"
  echo "== no bundled backbone yet: a random AST backbone (small preset: 192 hidden, 6 layers)"
  "$cli" init-model --preset small --max-length 100 --seed 1 --out "$backbone"
fi

echo "== astpeft train: conformer adapter, 8 epochs"
"$cli" train --model "$backbone" --data "$data" --method adapter --epochs 8 \
  --batch-size 8 --cache-dir "$work/cache" --out "$work/run"

echo "== astpeft eval: the run's best adapter on its validation split"
"$cli" eval "$work/run" --split validation

echo "== astpeft predict with the adapter"
"$cli" predict "$backbone" --adapter "$work/run" "$data/yes/en_f3_s135_p35.flac" \
  "$data/left/en-us_m5_s175_p65.flac" --top-k 2

echo "== astpeft compare: three methods at a 1% budget, 3 epochs of 8 clips per class each"
"$cli" compare --model "$backbone" --data "$data" --methods lora,adapter,linear \
  --budget 1% --epochs 3 --few-shot 8 --cache-dir "$work/cache" --out "$work/compare"
echo "== done; files in $work"
