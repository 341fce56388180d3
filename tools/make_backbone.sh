#!/usr/bin/env bash
# Regenerates the bundled backbone (resources/backbone/: config.json, model.safetensors) from
# nothing but Debian packages, deterministically:
#   1. tools/make_corpus.py synthesises the pretraining corpus (63 classes x 120 clips of at
#      most 1 s: espeak-ng words and languages, FluidSynth instruments, sox sounds, mixtures);
#   2. `astpeft init-model` writes a random small AST (192 hidden, 6 layers, 3 heads, 1 s of
#      input, 16x16 patches without overlap: 48 patches), seed 1;
#   3. `astpeft train --method full` trains all of it on the corpus (80/10/10 split, seed 1),
#      in two stages (10 epochs from random weights, then 20 more from the best of those);
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
# Two stages of full training, each a cosine schedule with warm-up (a warm restart between
# them): stage 1 from random weights, stage 2 from stage 1's best epoch. Every run resumes
# where it stopped when the script is run again on the same WORK_DIR.
train() { # train STAGE MODEL EPOCHS LR WARMUP
  local resume=()
  [ -d "$work/$1/checkpoints/last" ] && resume=(--resume)
  [ -f "$work/$1-done" ] && return 0
  "$cli" --threads 2 train --model "$2" --data "$work/corpus" --method full \
    --epochs "$3" --batch-size 32 --lr "$4" --warmup "$5" --max-length 100 \
    --val-fraction 0.1 --test-fraction 0.1 --freq-mask 16 --time-mask 16 --seed 1 \
    --cache-dir "$work/cache" --out "$work/$1" "${resume[@]}"
  touch "$work/$1-done"
}
train pretrain "$work/random" 10 5e-4 200
[ -d "$work/stage1" ] || "$cli" export "$work/pretrain" --out "$work/stage1"
train pretrain2 "$work/stage1" "${STAGE2_EPOCHS:-20}" 3e-4 100
mkdir -p "$out"
"$cli" export "$work/pretrain2" --out "$out"
"$cli" eval "$work/pretrain2" --split test | tee "$work/test-split.txt"
echo "== wrote $out; the test-split report is $work/test-split.txt"
