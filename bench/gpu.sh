#!/usr/bin/env bash
# The training benchmark (bench/run.sh's "train" section) on a CUDA GPU: builds astpeft and
# astpeft-bench against a CUDA libtorch 2.x and runs, per method, the Python baseline
# (bench/py_ast_train.py, with the same torch) and the C++ step, in fp32 and with bf16 autocast.
# Prints a table; raw JSON lines go to $OUT/results.jsonl.
#
#   bench/gpu.sh [LIBTORCH_DIR]
#
# LIBTORCH_DIR (or env LIBTORCH) is what -DCMAKE_PREFIX_PATH gets: an unpacked pytorch.org
# libtorch (cxx11 ABI, CUDA), or a pip wheel's cmake folder. Default: the wheel of $PYTHON,
#   $PYTHON -c 'import torch; print(torch.utils.cmake_prefix_path)'
# env: PYTHON (python3; its torch must be a CUDA build for the baseline), BUILD (build-cuda),
#   OUT (a new temporary folder), MODEL (an HF AST folder; default: a random AST-base written
#   by `astpeft init-model`), METHODS (full linear bitfit lora adapter prompt-deep prefix
#   prompt-shallow), STEPS (20), WARMUP (5), BATCH (8), ROUNDS (2), DEVICE (cuda),
#   CMAKE_ARGS (extra configure arguments, e.g. -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc).
# Needs the CUDA toolkit that the libtorch was built for (its CMake config looks for it), and
# the project's other build dependencies (tools/bootstrap.sh). Older pip wheels (before 2.7)
# use the pre-C++11 string ABI; the CLI and bench link only core (no Qt), which is built with
# the flags libtorch's CMake config exports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
libtorch=${1:-${LIBTORCH:-}}
if [ -z "$libtorch" ]; then
  libtorch=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)') || {
    echo "gpu.sh: give LIBTORCH_DIR (no torch in $py to take it from)" >&2
    exit 2
  }
fi
build=${BUILD:-$root/build-cuda}
out=${OUT:-$(mktemp -d)}
device=${DEVICE:-cuda}
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"

echo "== building against $libtorch into $build"
# shellcheck disable=SC2086 # CMAKE_ARGS is a list of arguments
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$libtorch" \
  -DASTPEFT_BUILD_TESTS=OFF ${CMAKE_ARGS:-}
cmake --build "$build" --target astpeft astpeft-bench
bench="$build/bench/astpeft-bench"
cli="$build/app/astpeft"
# The executables find libtorch through their build RUNPATH (CMake adds the folders of the
# libraries they link); nothing is added to LD_LIBRARY_PATH, which would take precedence.

model=${MODEL:-$out/ast-base}
if [ -z "${MODEL:-}" ] && [ ! -f "$model/model.safetensors" ]; then
  "$cli" init-model --preset base --max-length 1024 --seed 1 --labels a,b,c,d,e,f,g,h,i,j --out "$model" >/dev/null
fi
python_ok=$("$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && echo yes || echo no)
[ "$python_ok" = yes ] || echo "note: $py has no CUDA torch; the Python baseline is skipped" >&2

echo "== training step throughput on $device, AST-base, 1 s clips (max_length 100), batch ${BATCH:-8}"
args=(--batch "${BATCH:-8}" --steps "${STEPS:-20}" --warmup "${WARMUP:-5}" --max-length 100 --device "$device")
for ((r = 0; r < ${ROUNDS:-2}; r++)); do
  for m in ${METHODS:-full linear bitfit lora adapter prompt-deep prefix prompt-shallow}; do
    echo "   round $((r + 1)): $m"
    if [ "$python_ok" = yes ]; then
      "$py" "$root/bench/py_ast_train.py" "$model" --method "$m" "${args[@]}" >> "$results"
      "$py" "$root/bench/py_ast_train.py" "$model" --method "$m" "${args[@]}" --bf16 >> "$results"
    fi
    "$bench" train "$model" --method "$m" "${args[@]}" --precision fp32 >> "$results"
    "$bench" train "$model" --method "$m" "${args[@]}" --precision bf16 >> "$results"
  done
done

"$py" - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]


def median_round(runs):
    runs = sorted(runs, key=lambda r: r["step_ms_median"])
    return runs[(len(runs) - 1) // 2] if runs else None  # the lower median


methods = list(dict.fromkeys(r["method"] for r in rows))
print(f"\ntraining step on {rows[0]['device']}, batch {rows[0]['batch']}, max_length 100: samples/s "
      "(higher is better), median round; peak = the caching allocator's peak allocated MB")
print(f"{'method':>15} {'dtype':>5} {'python':>8} {'astpeft':>8} {'ratio':>6} {'vs py fp32':>10} {'peak MB py/cpp':>16}")
for dtype in ("fp32", "bf16"):
    for m in methods:
        p = median_round([r for r in rows if r["impl"] == "python" and r["method"] == m
                          and r["dtype"] == ("bf16-autocast" if dtype == "bf16" else "fp32")])
        p32 = median_round([r for r in rows if r["impl"] == "python" and r["method"] == m and r["dtype"] == "fp32"])
        c = median_round([r for r in rows if r["impl"] == "cpp" and r["method"] == m and r["dtype"] == dtype])
        if not c:
            continue
        ps = f"{p['samples_per_s']:>8.1f}" if p else f"{'-':>8}"
        ratio = f"{c['samples_per_s'] / p['samples_per_s']:>5.2f}x" if p else f"{'-':>6}"
        vs32 = f"{c['samples_per_s'] / p32['samples_per_s']:>9.2f}x" if p32 else f"{'-':>10}"
        mem = f"{p.get('peak_device_mb', 0):>7.0f} /{c.get('peak_device_mb', 0):>7.0f}" if p else f"{'-':>7} /{c.get('peak_device_mb', 0):>7.0f}"
        print(f"{m:>15} {dtype:>5} {ps} {c['samples_per_s']:>8.1f} {ratio} {vs32} {mem}")
PY
echo "raw results: $results"
