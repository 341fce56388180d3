#!/usr/bin/env bash
# The prepared GPU check: one command for a session that has a CUDA machine. Builds the CLI and
# the benchmark against the machine's pip torch, checks the CLI on the GPU (selfcheck, info,
# the demo training on cuda against cpu, eval, predict) and runs the GPU benchmark
# (bench/gpu.sh), each step with its own timeout, going on past failures, and writes
# OUTDIR/summary.md.
#
#   tools/gpu_check.sh OUTDIR
#
# Expects (the lent machine): one NVIDIA GPU (an H100), 16 cores, python3 (3.12) with a CUDA
# torch (2.11 + CUDA 13) whose CMake prefix is `python3 -c 'import torch;
# print(torch.utils.cmake_prefix_path)'`, transformers and peft; nvcc, CMake and ninja; no Qt
# and no internet; at most 10 minutes per command. The project's other build dependencies may
# be missing there (libsndfile1-dev, libsamplerate0-dev, portaudio19-dev, nlohmann-json3-dev,
# libcurl4-openssl-dev, libssl-dev, pkg-config; libjemalloc-dev is optional): the configure step
# then fails, and summary.md names the missing packages; the benchmark's Python baselines still
# run then (the astpeft rows are skipped).
#
# Steps (OUTDIR/steps.tsv: name, status, seconds, log), all within TOTAL_S (540 s):
#   env.txt              nvidia-smi, driver, nvcc, cmake, ninja, python, torch / CUDA / cuDNN,
#                        transformers, peft, and a preflight of the build dependencies
#   configure.log        cmake -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=<torch>
#                        -DASTPEFT_BUILD_STUDIO=OFF -DASTPEFT_BUILD_TESTS=OFF
#                        [-DCMAKE_CUDA_COMPILER=<nvcc>] into BUILD (build-cuda)
#   build.log            ninja -j JOBS (16): the targets astpeft and astpeft-bench
#   version.txt, help.txt, selfcheck.txt (astpeft selfcheck --device cuda, where astpeft has
#   it), info.txt (astpeft info resources/backbone --device cuda)
#   demo-cuda/, demo-cpu/ (astpeft train --demo --epochs DEMO_EPOCHS (8) on each device, the
#   cpu run in parallel), demo-compare.txt (their validation accuracies), eval.txt (astpeft
#   eval on the cuda run, validation split, --device cuda), predict.txt (astpeft predict with
#   the cuda run's adapter on three demo clips, --device cuda)
#   bench/               bench/gpu.sh (OUT=OUTDIR/bench, NO_BUILD=1, BUDGET_S: what is left):
#                        results.jsonl, results-mfu.jsonl, table.md, logs/
#   summary.md
# env: PYTHON (python3), BUILD (build-cuda in the source tree), NO_BUILD (1: use the executables
#   already in BUILD, e.g. on a rerun), JOBS (16), TOTAL_S (540),
#   DEMO_EPOCHS (8), CMAKE_ARGS (extra configure arguments), and bench/gpu.sh's (STEPS, WARMUP,
#   METHODS, HF_METHODS, CONFIGS, DTYPES, ...). Large files (the benchmark's AST-base
#   checkpoint, feature caches) go to a temporary folder, not OUTDIR.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: tools/gpu_check.sh OUTDIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
outdir=$(cd "$1" && pwd)
py=${PYTHON:-python3}
build=${BUILD:-$root/build-cuda}
jobs=${JOBS:-16}
total=${TOTAL_S:-540}
epochs=${DEMO_EPOCHS:-8}
start=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
steps="$outdir/steps.tsv"
printf 'step\tstatus\tseconds\tlog\n' > "$steps"
cli="$build/app/astpeft"
backbone="$root/resources/backbone"

elapsed() { echo $((SECONDS - start)); }
left() { echo $((total - (SECONDS - start))); }

# step NAME LIMIT LOG COMMAND...: runs COMMAND with stdout and stderr in LOG under
# timeout min(LIMIT, time left - 15 s), records the outcome in steps.tsv; returns its status.
step() {
  local name=$1 limit=$2 log=$3 rc=0 status t0=$SECONDS
  shift 3
  local avail=$(($(left) - 15))
  if [ "$avail" -lt 5 ]; then
    printf '%s\tskipped: no time left\t0\t%s\n' "$name" "${log#"$outdir"/}" >> "$steps"
    echo "[$(elapsed) s] $name: skipped, no time left"
    return 1
  fi
  [ "$limit" -le "$avail" ] || limit=$avail
  timeout -k 10 "$limit" "$@" > "$log" 2>&1 || rc=$?
  case $rc in
    0) status=ok ;;
    124 | 137) status="timed out after $limit s" ;;
    *) status="failed (exit status $rc)" ;;
  esac
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - t0))" "${log#"$outdir"/}" >> "$steps"
  echo "[$(elapsed) s] $name: $status ($((SECONDS - t0)) s)"
  return "$rc"
}

skip() {  # skip NAME REASON
  printf '%s\tskipped: %s\t0\t\n' "$1" "$2" >> "$steps"
  echo "[$(elapsed) s] $1: skipped, $2"
}

# ---------------------------------------------------------------- 1. the machine
echo "== environment -> $outdir/env.txt"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host: $(uname -srm); $(nproc) cores; $(free -g 2>/dev/null | awk '/Mem:/ {print $2 " GiB memory"}')"
  echo "source: $root ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'no git')$(git -C "$root" diff --quiet 2>/dev/null || echo ', with uncommitted changes'))"
  echo
  echo "--- nvidia-smi"
  timeout 30 nvidia-smi || echo "nvidia-smi: not available"
  timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm,power.limit \
    --format=csv || true
  echo
  echo "--- tools"
  timeout 10 nvcc --version 2>&1 | tail -n 2 || echo "nvcc: not found"
  timeout 10 cmake --version 2>&1 | head -n 1 || echo "cmake: not found"
  echo "ninja $(timeout 10 ninja --version 2>&1 || echo 'not found')"
  timeout 10 c++ --version 2>&1 | head -n 1 || echo "c++: not found"
  echo
  echo "--- python"
  timeout 90 "$py" - <<'PY' 2>&1 || echo "python: torch check failed"
import sys
print("python", sys.version.split()[0], sys.executable)
import torch
print("torch", torch.__version__, "| CUDA", torch.version.cuda, "| cuDNN", torch.backends.cudnn.version(),
      "| cxx11 ABI", torch._C._GLIBCXX_USE_CXX11_ABI)
print("cmake prefix", torch.utils.cmake_prefix_path)
print("cuda available", torch.cuda.is_available(), "| devices", torch.cuda.device_count())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device 0", p.name, f"{p.total_memory / 2**30:.1f} GiB", f"sm_{p.major}{p.minor}",
          "| bf16", torch.cuda.is_bf16_supported())
for name in ("transformers", "peft", "numpy", "safetensors"):
    try:
        print(name, __import__(name).__version__)
    except Exception as e:  # noqa: BLE001
        print(name, "missing:", e)
PY
  echo
  echo "--- build dependencies (preflight)"
  if command -v pkg-config >/dev/null; then
    for m in sndfile samplerate portaudio-2.0 jemalloc; do
      echo "pkg-config $m: $(pkg-config --modversion "$m" 2>/dev/null || echo MISSING)"
    done
  else
    echo "pkg-config: MISSING (package pkg-config)"
  fi
  for h in nlohmann/json.hpp curl/curl.h openssl/sha.h; do
    found=$(find /usr/include /usr/include/*-linux-gnu /usr/local/include -maxdepth 2 -path "*/include*/$h" \
      -print -quit 2>/dev/null || true)
    echo "header $h: ${found:-MISSING}"
  done
} > "$outdir/env.txt" 2>&1
printf 'env\tok\t%s\tenv.txt\n' "$(elapsed)" >> "$steps"
gpu_name=$(timeout 30 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)

# ---------------------------------------------------------------- 2. configure and build
built=no configured=no
torch_prefix=$(timeout 90 "$py" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
cuda_args=()
if command -v nvcc >/dev/null; then
  cuda_args=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)")
fi
if [ "${NO_BUILD:-0}" = 1 ] && [ -x "$cli" ] && [ -x "$build/bench/astpeft-bench" ]; then
  configured=yes built=yes
  skip configure "NO_BUILD=1, using $build"
  skip build "NO_BUILD=1"
elif [ -z "$torch_prefix" ]; then
  skip configure "no torch in $py to take the CMake prefix from"
else
  # shellcheck disable=SC2086 # CMAKE_ARGS is a list of arguments
  if step configure 150 "$outdir/configure.log" cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" -DASTPEFT_BUILD_STUDIO=OFF \
    -DASTPEFT_BUILD_TESTS=OFF "${cuda_args[@]}" ${CMAKE_ARGS:-}; then
    configured=yes
  fi
fi
if [ "$built" = yes ]; then
  :
elif [ "$configured" = yes ]; then
  if step build 330 "$outdir/build.log" cmake --build "$build" --target astpeft astpeft-bench -j "$jobs"; then
    built=yes
  fi
else
  skip build "configure failed"
fi

# What configure missed, from its log: "package (what CMake looked for)" lines.
diagnose() {
  local log=$1
  [ -f "$log" ] || return 0
  { grep -o -E "No package '[^']+' found|Package '[^']+'.*not found" "$log" || true; } |
    sed -E "s/^[^']*'([^']+)'.*/\1/" | sort -u | while read -r m; do
    case $m in
      sndfile) echo "libsndfile1-dev (pkg-config module sndfile)" ;;
      samplerate) echo "libsamplerate0-dev (pkg-config module samplerate)" ;;
      portaudio-2.0) echo "portaudio19-dev (pkg-config module portaudio-2.0)" ;;
      jemalloc) echo "libjemalloc-dev (pkg-config module jemalloc; optional, not fatal)" ;;
      *) echo "the package with pkg-config module $m" ;;
    esac
  done
  grep -q 'provided by "nlohmann_json"' "$log" && echo "nlohmann-json3-dev (find_package nlohmann_json)"
  grep -q 'Could NOT find CURL' "$log" && echo "libcurl4-openssl-dev (find_package CURL)"
  grep -q 'Could NOT find OpenSSL' "$log" && echo "libssl-dev (find_package OpenSSL)"
  grep -q 'Could NOT find PkgConfig' "$log" && echo "pkg-config (find_package PkgConfig)"
  grep -q 'provided by "Torch"' "$log" && echo "torch's CMake files (find_package Torch; prefix $torch_prefix)"
  grep -q -E 'provided by "Qt6"|Qt6 .*not found' "$log" && echo "qt6-base-dev (find_package Qt6: -DASTPEFT_BUILD_STUDIO=OFF not honoured?)"
  grep -q 'QCustomPlotQt6' "$log" && grep -q 'CMake Error' "$log" && echo "libqcustomplot-dev (find_package QCustomPlotQt6)"
  grep -q -i -E 'No CMAKE_CUDA_COMPILER|Failed to find nvcc|Could NOT find CUDA|CUDA_TOOLKIT_ROOT_DIR|CUDAToolkit.*not found|Failed to detect a default CUDA architecture' "$log" &&
    echo "the CUDA toolkit (nvcc) matching torch's CUDA (find_package CUDA / CUDAToolkit)"
  grep -q 'unable to find a build program corresponding to "Ninja"' "$log" && echo "ninja-build (the Ninja generator)"
  grep -q -E 'CMake [0-9.]+ or higher is required' "$log" && echo "a newer CMake ($(grep -o -E 'CMake [0-9.]+ or higher is required' "$log" | head -n 1))"
  return 0
}

# ---------------------------------------------------------------- 3. the CLI on the GPU
demo_files=()
for c in yes stop _background_; do
  f=$(find "$root/resources/demo/$c" -name '*.flac' -print -quit 2>/dev/null || true)
  [ -z "$f" ] || demo_files+=("$f")
done
if [ "$built" = yes ]; then
  step version 30 "$outdir/version.txt" "$cli" --version || true
  step help 30 "$outdir/help.txt" "$cli" --help || true
  if grep -q -E '^\s+selfcheck' "$outdir/help.txt" 2>/dev/null; then
    step selfcheck 120 "$outdir/selfcheck.txt" "$cli" selfcheck --device cuda || true
  else
    skip selfcheck "astpeft --help lists no selfcheck"
  fi
  step info 60 "$outdir/info.txt" "$cli" info "$backbone" --device cuda || true

  # The demo on both devices, the cpu run in the background (it uses the cores, the cuda run
  # mostly the GPU). Separate feature caches, so that neither reads what the other wrote.
  rm -rf "$outdir/demo-cuda" "$outdir/demo-cpu"
  cpu_threads=$((jobs > 6 ? jobs - 4 : 2))
  step demo-cpu 240 "$outdir/demo-cpu.log" "$cli" --threads "$cpu_threads" train --demo --device cpu \
    --out "$outdir/demo-cpu" --epochs "$epochs" --json --cache-dir "$work/cache-cpu" &
  cpu_pid=$!
  step demo-cuda 240 "$outdir/demo-cuda.log" "$cli" train --demo --device cuda \
    --out "$outdir/demo-cuda" --epochs "$epochs" --json --cache-dir "$work/cache-cuda" || true
  wait "$cpu_pid" || true
  timeout 60 "$py" - "$outdir" > "$outdir/demo-compare.txt" 2>&1 <<'PY' || true
import json, os, sys
out = sys.argv[1]
res = {}
for dev in ("cuda", "cpu"):
    run = os.path.join(out, f"demo-{dev}")
    events = []
    try:
        with open(os.path.join(run, "metrics.jsonl")) as f:
            events = [json.loads(l) for l in f if l.strip()]
    except OSError as e:
        print(f"{dev}: no metrics.jsonl ({e.strerror})")
        continue
    try:
        with open(os.path.join(run, "options.json")) as f:
            precision = json.load(f).get("precision", "?")
    except (OSError, ValueError):
        precision = "?"
    epochs = [e for e in events if e.get("event") == "epoch"]
    fin = next((e for e in events if e.get("event") == "finished"), None)
    last = epochs[-1] if epochs else {}
    best = fin.get("best_val_accuracy") if fin else max((e.get("val_accuracy") or 0 for e in epochs), default=None)
    res[dev] = (last.get("val_accuracy"), best)
    print(f"{dev}: precision {precision}, {len(epochs)} epochs, final validation accuracy {last.get('val_accuracy')}, "
          f"best {best} (epoch {fin.get('best_epoch') if fin else '?'}), "
          f"{fin.get('seconds') if fin else '?'} s, finished: {fin.get('reason') if fin else 'no finished event'}")
if len(res) == 2 and None not in res["cuda"] + res["cpu"]:
    d_final = abs(res["cuda"][0] - res["cpu"][0])
    d_best = abs(res["cuda"][1] - res["cpu"][1])
    verdict = "AGREE" if d_final <= 0.10 and d_best <= 0.10 else "DIFFER"
    print(f"|cuda - cpu|: final {d_final:.3f}, best {d_best:.3f} -> {verdict} (bound 0.10; the runs differ in "
          "precision and in floating-point order, not in data, seed or recipe)")
else:
    print("comparison: not possible (a run is missing)")
PY
  printf 'demo-compare\tok\t0\tdemo-compare.txt\n' >> "$steps"
  if [ -f "$outdir/demo-cuda/adapter_config.json" ]; then
    step eval 90 "$outdir/eval.txt" "$cli" eval "$outdir/demo-cuda" --split validation --device cuda || true
    step predict 60 "$outdir/predict.txt" "$cli" predict "$backbone" --adapter "$outdir/demo-cuda" \
      --device cuda --json "${demo_files[@]}" || true
  else
    skip eval "the cuda demo run left no adapter"
    skip predict "the cuda demo run left no adapter"
  fi
else
  for s in version help selfcheck info demo-cuda demo-cpu eval predict; do skip "$s" "not built"; done
fi

# ---------------------------------------------------------------- 4. the benchmark
bench_budget=$(($(left) - 25))
if [ "$bench_budget" -gt 60 ]; then
  step bench "$((bench_budget + 15))" "$outdir/bench.log" env OUT="$outdir/bench" NO_BUILD=1 \
    BUILD="$build" PYTHON="$py" MODEL="$work/ast-base" BUDGET_S="$bench_budget" \
    GPU_NAME="${GPU_NAME:-$gpu_name}" bash "$root/bench/gpu.sh" || true
else
  skip bench "only $bench_budget s left"
fi

# ---------------------------------------------------------------- 5. summary
{
  echo "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: ${gpu_name:-no GPU name}; $(grep -m1 -E '^torch ' "$outdir/env.txt" || echo 'torch: ?'); $(elapsed) s in all (limit $total s)."
  if [ "$built" = yes ]; then
    echo "astpeft: $(head -n 1 "$outdir/version.txt" 2>/dev/null)"
  fi
  echo
  echo "| step | status | seconds | log |"
  echo "|---|---|---|---|"
  tail -n +2 "$steps" | awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}'
  echo
  if [ "$configured" != yes ]; then
    echo "## Configure failed"
    echo
    missing=$(diagnose "$outdir/configure.log")
    if [ -n "$missing" ]; then
      echo "Missing (install these, then rerun):"
      echo
      while read -r l; do echo "- $l"; done <<< "$missing"
    else
      echo "No known missing package found in configure.log; its errors:"
      echo
      echo '```'
      grep -A3 'CMake Error' "$outdir/configure.log" 2>/dev/null | head -n 30
      echo '```'
    fi
    echo
  elif [ "$built" != yes ]; then
    echo "## Build failed"
    echo
    echo '```'
    grep -m 15 -E 'error:|Error ' "$outdir/build.log" 2>/dev/null || tail -n 15 "$outdir/build.log" 2>/dev/null
    echo '```'
    echo
    if grep -q -P '^build\ttimed out' "$steps"; then
      echo "The build ran out of time. It goes on where it stopped with"
      echo "\`cmake --build $build --target astpeft astpeft-bench -j $jobs\`; then"
      echo "\`NO_BUILD=1 tools/gpu_check.sh OUTDIR\` runs the checks without building."
      echo
    fi
  fi
  if [ -s "$outdir/selfcheck.txt" ]; then
    echo "## selfcheck --device cuda"
    echo
    echo '```'
    tail -n 12 "$outdir/selfcheck.txt"
    echo '```'
    echo
  fi
  if [ -s "$outdir/demo-compare.txt" ]; then
    echo "## Demo training, cuda against cpu ($epochs epochs)"
    echo
    echo '```'
    cat "$outdir/demo-compare.txt"
    echo '```'
    echo
  fi
  if [ -s "$outdir/eval.txt" ]; then
    echo "## eval (cuda run, validation split, --device cuda)"
    echo
    echo '```'
    head -n 3 "$outdir/eval.txt"
    echo '```'
    echo
  fi
  if [ -s "$outdir/predict.txt" ]; then
    echo "## predict (cuda run's adapter, --device cuda)"
    echo
    "$py" - "$outdir/predict.txt" <<'PY' 2>/dev/null || head -n 5 "$outdir/predict.txt"
import json, os, sys
ok = n = 0
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    j = json.loads(line)
    want = os.path.basename(os.path.dirname(j["file"]))
    got = j["top"][0]["label"] if j["top"] else None
    n += 1
    ok += got == want
    print(f"- {want}/{os.path.basename(j['file'])}: {got} ({j['top'][0]['score']:.3f})")
print(f"\n{ok} of {n} clips classified as their folder's class.")
PY
    echo
  fi
  if [ -s "$outdir/bench/table.md" ]; then
    sed 's/^## /## Benchmark: /' "$outdir/bench/table.md"
  else
    echo "## Benchmark"
    echo
    echo "No table (see bench.log)."
    tail -n 5 "$outdir/bench.log" 2>/dev/null | sed 's/^/    /'
  fi
  echo
  echo "Rerun the benchmark alone on this machine (the build stays in $build):"
  echo "\`NO_BUILD=1 OUT=OUTDIR/bench bench/gpu.sh\` (env: STEPS, WARMUP, ROUNDS, METHODS, CONFIGS, DTYPES, BUDGET_S)."
} > "$outdir/summary.md"
echo "[$(elapsed) s] summary: $outdir/summary.md"
