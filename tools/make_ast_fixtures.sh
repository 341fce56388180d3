#!/usr/bin/env bash
# Regenerates tests/fixtures/ast/: reference logits of randomly initialised AST-base checkpoints
# (written by our own `astpeft init-model`, whose PRNG is version-independent) computed by the
# independent PyTorch implementation tools/ast_reference.py (float64) on the features that
# `astpeft fbank` computes from tests/fixtures/fbank/speech.wav.
# Usage: tools/make_ast_fixtures.sh [BUILD_DIR]   (needs Debian's python3-torch)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${ASTPEFT_BUILD_DIR:-$root/build}}
cli="$build/app/astpeft"
out="$root/tests/fixtures/ast"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
labels="dog,rooster,rain,sea_waves,crackling_fire,crying_baby,sneezing,clock_tick,helicopter,chainsaw"
for len in 100 1024; do
  "$cli" init-model --preset base --max-length "$len" --labels "$labels" --seed 20240715 --out "$tmp/base_$len"
  "$cli" fbank "$root/tests/fixtures/fbank/speech.wav" --max-length "$len" --out "$tmp/input_$len.npy"
  /usr/bin/python3 "$root/tools/ast_reference.py" "$tmp/base_$len" "$tmp/input_$len.npy" "$out/base_${len}_logits.npy"
done
# A small mean-tokens-head model in bf16 storage exercises the other head and dtype conversion.
/usr/bin/python3 "$root/tools/make_random_ast.py" "$tmp/small_bf16" --hidden 96 --layers 2 --heads 3 \
  --intermediate 192 --max-length 100 --labels 4 --seed 3 --dtype BF16 --tstride 12 --eps 1e-6
"$cli" fbank "$root/tests/fixtures/fbank/speech.wav" --max-length 100 --out "$tmp/input_100.npy"
/usr/bin/python3 "$root/tools/ast_reference.py" "$tmp/small_bf16" "$tmp/input_100.npy" "$out/small_bf16_logits.npy"
cp -r "$tmp/small_bf16" "$out/small_bf16"
echo "wrote $out"
