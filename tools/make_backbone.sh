#!/usr/bin/env bash
# Regenerates the bundled backbone (resources/backbone/: config.json, model.safetensors) from
# nothing but Debian packages, deterministically:
#   1. tools/make_corpus.py builds the pretraining corpus (about 300 classes x 48 clips of at
#      most 1 s: espeak-ng and espeak words, Hedgewars' recorded voice actors, ten languages,
#      recorded game and desktop sounds, sox and FluidSynth sounds, each under a random
#      recording condition; flite, festival and wesnoth's sounds are held out);
#   2. the starting point: with START=DIR, tools/grow_backbone.py stacks that checkpoint's
#      layers into a LAYERS-deep backbone (the bundled backbone started from the previous,
#      6-layer one, git show 49afdeb:resources/backbone); without START, `astpeft init-model`
#      writes a random AST of the shape ARCH, seed 1;
#   3. `astpeft train --method full` trains all of it on the corpus (85/10/5 split, seed 1) with
#      SpecAugment and mixup, one linear warm-up and cosine decay over EPOCHS epochs, in bf16
#      autocast where the CPU has native bf16 (AVX512-BF16 or AMX), else in fp32;
#   4. `astpeft export --dtype bf16` writes the best epoch as a plain Hugging Face-layout
#      checkpoint with bf16 weights (half the size; loaded as float32), and `astpeft eval`
#      measures it on the held-out test split (resources/backbone/README.md).
# Interrupted runs continue where they stopped when the script is run again on the same
# WORK_DIR (`astpeft train --resume`), so the pretraining can take as many sittings as needed.
# Usage: tools/make_backbone.sh [WORK_DIR] (default: a temporary folder). Environment:
#   ASTPEFT_BUILD_DIR as for tools/bootstrap.sh; OUT=DIR writes somewhere else than
#   resources/backbone; EPOCHS (20); START and LAYERS (12); ARCH (init-model flags, default
#   below);
#   PRECISION (auto: bf16 on CPUs with native bf16, else fp32); DEVICE (cpu; cuda on a GPU);
#   THREADS (2: the same thread count gives the same weights).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ASTPEFT_BUILD_DIR:-$root/build}
cli="$build/app/astpeft"
work=${1:-$(mktemp -d)}
out=${OUT:-$root/resources/backbone}
epochs=${EPOCHS:-20}
read -r -a arch <<< "${ARCH:---hidden 192 --layers 12 --heads 3 --ffn 768 --stride 16,16}"

packages=(espeak-ng espeak sox libsox-fmt-all fluidsynth timgm6mb-soundfont python3-numpy
  hedgewars-data openarena-data warzone2100-data extremetuxracer-data frozen-bubble-data
  pingus-data sound-theme-freedesktop)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ -x "$cli" ] || { echo "make_backbone: build first ($cli is missing)" >&2; exit 1; }
export OMP_WAIT_POLICY=PASSIVE

precision=${PRECISION:-auto}
if [ "$precision" = auto ]; then
  precision=fp32
  grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && precision=bf16
fi

[ -d "$work/corpus" ] || python3 "$root/tools/make_corpus.py" "$work/corpus" --seed 2024
if [ ! -d "$work/start" ]; then
  if [ -n "${START:-}" ]; then
    python3 "$root/tools/grow_backbone.py" "$START" "$work/start" --layers "${LAYERS:-12}"
  else
    "$cli" init-model --preset small "${arch[@]}" --max-length 100 --seed 1 --out "$work/start"
  fi
fi
resume=()
[ -d "$work/pretrain/checkpoints/last" ] && resume=(--resume)
if [ ! -f "$work/pretrain-done" ]; then
  "$cli" --threads "${THREADS:-2}" train --model "$work/start" --data "$work/corpus" --method full \
    --epochs "$epochs" --batch-size 32 --lr 3e-4 --warmup 500 --weight-decay 0.05 \
    --max-length 100 --val-fraction 0.1 --test-fraction 0.05 --freq-mask 24 --time-mask 24 \
    --mixup 0.3 --precision "$precision" --device "${DEVICE:-cpu}" --seed 1 \
    --cache-dir "$work/cache" --out "$work/pretrain" "${resume[@]}"
  touch "$work/pretrain-done"
fi
mkdir -p "$out"
"$cli" export "$work/pretrain" --out "$out" --dtype bf16
"$cli" eval "$work/pretrain" --split test | tee "$work/test-split.txt"
echo "== wrote $out; the test-split report is $work/test-split.txt"
