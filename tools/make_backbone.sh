#!/usr/bin/env bash
# Regenerates the bundled backbone (resources/backbone/: config.json, model.safetensors) from
# nothing but Debian packages, deterministically:
#   1. tools/make_corpus.py synthesises the pretraining corpus (63 classes x 120 clips of at
#      most 1 s: espeak-ng words and languages, FluidSynth instruments, sox sounds, mixtures);
#   2. `astpeft init-model` writes a random small AST (192 hidden, 6 layers, 3 heads, 1 s of
#      input, 16x16 patches without overlap: 48 patches), seed 1;
#   3. `astpeft train --method full` trains all of it on the corpus (80/10/10 split, seed 1);
#   4. `astpeft export` writes the best epoch as a plain Hugging Face-layout checkpoint, and
#      `astpeft eval` measures it on the held-out test split (resources/backbone/README.md).
# The same build gives byte-identical weights at the same --threads (the sums in a matrix
# product are ordered by the thread split). It took 60-70 minutes on 2 cores; see the model card.
# Usage: tools/make_backbone.sh [WORK_DIR] (default: a temporary folder); ASTPEFT_BUILD_DIR as
# for tools/bootstrap.sh; OUT=DIR writes somewhere else than resources/backbone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ASTPEFT_BUILD_DIR:-$root/build}
cli="$build/app/astpeft"
work=${1:-$(mktemp -d)}
out=${OUT:-$root/resources/backbone}

missing=()
for p in espeak-ng sox fluidsynth timgm6mb-soundfont python3; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ -x "$cli" ] || { echo "make_backbone: build first ($cli is missing)" >&2; exit 1; }
export OMP_WAIT_POLICY=PASSIVE

[ -d "$work/corpus" ] || python3 "$root/tools/make_corpus.py" "$work/corpus" --seed 2024
[ -d "$work/random" ] || "$cli" init-model --preset small --max-length 100 --stride 16,16 \
  --seed 1 --out "$work/random"
resume=()
[ -d "$work/pretrain/checkpoints/last" ] && resume=(--resume)
"$cli" --threads 2 train --model "$work/random" --data "$work/corpus" --method full \
  --epochs 10 --batch-size 32 --lr 5e-4 --warmup 200 --max-length 100 \
  --val-fraction 0.1 --test-fraction 0.1 --freq-mask 16 --time-mask 16 --seed 1 \
  --cache-dir "$work/cache" --out "$work/pretrain" "${resume[@]}"
mkdir -p "$out"
"$cli" export "$work/pretrain" --out "$out"
"$cli" eval "$work/pretrain" --split test | tee "$work/test-split.txt"
echo "== wrote $out; the test-split report is $work/test-split.txt"
