#!/usr/bin/env bash
# The training benchmark on a CUDA GPU, the issue's GPU protocol: AST-base with 10 s inputs
# (max_length 1024, 1214 tokens) at batch 32, then 1 s inputs (max_length 100, 110 tokens) at
# batch 128; per method one training step (forward, cross-entropy, backward, AdamW, zero grad)
# in three implementations, alternating per method:
#   py       bench/py_ast_train.py (plain PyTorch, every method)
#   hf-peft  bench/hf_peft_train.py (transformers' ASTForAudioClassification + peft: lora,
#            full, linear)
#   astpeft  astpeft-bench train (every method)
# bf16 autocast by default (DTYPES="bf16 fp32" adds fp32 rows, whose products all three run
# in TF32 as astpeft does). Also `astpeft-bench pipeline` (the input pipeline's own samples/s)
# where that build has the subcommand. Builds astpeft and astpeft-bench against a CUDA
# libtorch first (unless NO_BUILD=1 and they are built).
#
#   bench/gpu.sh [LIBTORCH_DIR]
#
# Writes $OUT/results.jsonl (raw JSON lines, one per run; failed or skipped runs as
# {"impl", "method", ..., "error"}), $OUT/results-mfu.jsonl (the same with the MFU fields of
# bench/bench_flops.py), $OUT/table.md (the markdown table, also printed) and $OUT/logs/
# (each run's stderr).
#
# LIBTORCH_DIR (or env LIBTORCH) is what -DCMAKE_PREFIX_PATH gets: an unpacked pytorch.org
# libtorch (cxx11 ABI, CUDA), or a pip wheel's cmake folder. Default: the wheel of $PYTHON,
#   $PYTHON -c 'import torch; print(torch.utils.cmake_prefix_path)'
# env:
#   PYTHON (python3; its torch must have CUDA for the py rows), HF_PYTHON ($PYTHON; needs
#     transformers and peft for the hf-peft rows), BUILD (build-cuda), NO_BUILD (1: use the
#     executables already in BUILD), CMAKE_ARGS (extra configure arguments), JOBS (nproc),
#   OUT (a new temporary folder), MODEL (an HF AST folder; where it has no model.safetensors,
#     a random AST-base is written there by `astpeft init-model --max-length 1024`, or by
#     tools/make_random_ast.py without the executables; default $OUT/ast-base), DEVICE (cuda),
#   CONFIGS ("1024:32 100:128": max_length:batch pairs, in this order), DTYPES (bf16),
#   METHODS (full linear bitfit lora adapter prompt-deep prefix prompt-shallow),
#   HF_METHODS (lora full linear), STEPS (10), WARMUP (3), ROUNDS (1),
#   ROW_TIMEOUT (120 s per run), BUDGET_S (0 = none; else no run starts after BUDGET_S -
#     ROW_RESERVE (30) seconds from the start, and the table is still written),
#   GPU_NAME (default: from torch or nvidia-smi) and PEAK_FLOPS (FLOP/s) for the MFU,
#   PIPELINE_ARGS (the arguments of `astpeft-bench pipeline MODEL` after MODEL; default:
#     --data resources/demo --batch B --max-length L --seconds 4 --augment all).
# At the defaults on an H100 this takes about 5-6 minutes (38 runs, most of it start-up).
# Needs the CUDA toolkit that the libtorch was built for (its CMake config looks for it) and
# the project's other build dependencies (tools/bootstrap.sh), Qt excepted
# (-DASTPEFT_BUILD_STUDIO=OFF).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS
py=${PYTHON:-python3}
hf_py=${HF_PYTHON:-$py}
build=${BUILD:-$root/build-cuda}
out=${OUT:-$(mktemp -d)}
device=${DEVICE:-cuda}
steps=${STEPS:-10}
warmup=${WARMUP:-3}
rounds=${ROUNDS:-1}
row_timeout=${ROW_TIMEOUT:-120}
budget=${BUDGET_S:-0}
reserve=${ROW_RESERVE:-30}
methods=${METHODS:-full linear bitfit lora adapter prompt-deep prefix prompt-shallow}
hf_methods=" ${HF_METHODS:-lora full linear} "
mkdir -p "$out/logs"
results="$out/results.jsonl"
: > "$results"
bench="$build/bench/astpeft-bench"
cli="$build/app/astpeft"

cpp_ok=yes
if [ "${NO_BUILD:-0}" = 1 ]; then
  if [ -x "$bench" ] && [ -x "$cli" ]; then
    echo "== using the executables in $build (NO_BUILD=1)"
  else
    cpp_ok=no  # the baselines still run, on a model from tools/make_random_ast.py
    echo "note: NO_BUILD=1 and no astpeft / astpeft-bench in $build: the astpeft rows are skipped" >&2
  fi
else
  libtorch=${1:-${LIBTORCH:-}}
  if [ -z "$libtorch" ]; then
    libtorch=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)') || {
      echo "gpu.sh: give LIBTORCH_DIR (no torch in $py to take it from)" >&2
      exit 2
    }
  fi
  cuda_compiler=()
  if [[ ${CMAKE_ARGS:-} != *CMAKE_CUDA_COMPILER* ]] && command -v nvcc >/dev/null; then
    cuda_compiler=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)")
  fi
  echo "== building against $libtorch into $build"
  # shellcheck disable=SC2086 # CMAKE_ARGS is a list of arguments
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$libtorch" \
    -DASTPEFT_BUILD_TESTS=OFF -DASTPEFT_BUILD_STUDIO=OFF "${cuda_compiler[@]}" ${CMAKE_ARGS:-}
  cmake --build "$build" --target astpeft astpeft-bench -j "${JOBS:-$(nproc)}"
fi
# The executables find libtorch through their build RUNPATH (CMake adds the folders of the
# libraries they link); nothing is added to LD_LIBRARY_PATH, which would take precedence.

model=${MODEL:-$out/ast-base}
if [ ! -f "$model/model.safetensors" ]; then
  if [ "$cpp_ok" = yes ]; then
    "$cli" init-model --preset base --max-length 1024 --seed 1 --labels a,b,c,d,e,f,g,h,i,j --out "$model" >/dev/null
  else
    "$py" "$root/tools/make_random_ast.py" "$model" --max-length 1024 --labels 10 --seed 1 >/dev/null
  fi
fi

# Which baselines can run: torch with the device for py, and transformers + peft for hf-peft.
if [ "$device" = cpu ]; then
  want_dev='import torch'
else
  want_dev='import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'
fi
py_ok=yes hf_ok=yes notes=()
[ "$cpp_ok" = yes ] || notes+=("astpeft rows skipped: no astpeft-bench in $build")
"$py" -c "$want_dev" 2>/dev/null || { py_ok=no; notes+=("py rows skipped: $py has no torch with $device"); }
"$hf_py" -c "$want_dev; import transformers, peft" 2>/dev/null ||
  { hf_ok=no; notes+=("hf-peft rows skipped: $hf_py lacks torch with $device, transformers or peft"); }
for n in "${notes[@]}"; do echo "note: $n" >&2; done
py_torch=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo '?')
gpu_name=${GPU_NAME:-}
if [ -z "$gpu_name" ] && [ "$device" != cpu ]; then
  gpu_name=$("$py" -c 'import torch; print(torch.cuda.get_device_name(0))' 2>/dev/null ||
    nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1 || true)
fi

# One run: appends its JSON line to $results, or on failure, timeout or an exhausted budget an
# {"error": ...} line, and never stops the script.
#   run_row IMPL METHOD DTYPE MAX_LENGTH BATCH ROUND COMMAND...
run_row() {
  local impl=$1 m=$2 dt=$3 len=$4 b=$5 rnd=$6
  shift 6
  local log="$out/logs/$impl-$m-$dt-$len-$b-r$rnd.log" limit=$row_timeout error="" line="" rc=0
  if [ "$budget" -gt 0 ]; then
    local left=$((budget - (SECONDS - start)))
    if [ "$left" -lt "$reserve" ]; then
      error="not run: time budget (BUDGET_S=$budget) spent"
    elif [ "$left" -lt "$limit" ]; then
      limit=$left
    fi
  fi
  if [ -z "$error" ]; then
    line=$(timeout "$limit" "$@" 2>"$log" | tail -n 1) || rc=$?
    if [ "$rc" = 0 ] && [[ $line == \{* ]]; then
      echo "$line" >> "$results"
      printf '      %-8s %-15s %s: %.2f samples/s\n' "$impl" "$m" "$dt" \
        "$(sed -E 's/.*"samples_per_s": ?([0-9.eE+-]+).*/\1/' <<< "$line")" || true
      return 0
    fi
    if [ "$rc" = 124 ]; then
      error="timed out after ${limit} s"
    elif grep -q -i "out of memory" "$log"; then
      error="CUDA out of memory"
    else
      error="exit status $rc: $(grep -v '^\s*$' "$log" | tail -n 1 | cut -c1-200)"
    fi
  fi
  error=${error//\"/} error=${error//\\/}
  error=$(tr -d '[:cntrl:]' <<< "$error")
  printf '{"impl":"%s","bench":"train","method":"%s","dtype":"%s","max_length":%s,"batch":%s,"round":%s,"error":"%s"}\n' \
    "$impl" "$m" "$dt" "$len" "$b" "$rnd" "$error" >> "$results"
  printf '      %-8s %-15s %s: %s\n' "$impl" "$m" "$dt" "$error"
}

# py_ast_train.py with fp32 products in TF32, as astpeft-bench runs them on CUDA.
py_tf32=(-c 'import runpy, sys, torch
torch.set_float32_matmul_precision("high")
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")')

# The input pipeline's own samples/s, where this astpeft-bench has it.
pipeline=no
if [ "$cpp_ok" = no ]; then
  :
elif { timeout 30 "$bench" 2>&1 || true; } | grep -q pipeline ||
  timeout 30 "$bench" pipeline --help >/dev/null 2>&1; then
  pipeline=yes
fi

# Two passes over CONFIGS: first the methods that all three implementations run, then the
# others, so that with a budget the three-way comparisons at both input lengths come first.
first=() rest=()
for m in $methods; do
  if [[ $hf_methods == *" $m "* ]]; then first+=("$m"); else rest+=("$m"); fi
done

# The input pipeline's samples/s per input length: `astpeft-bench pipeline MODEL --data
# DATASET` makes the trainer's batches on one thread (default: the demo dataset's 1 s clips,
# padded to the max_length, with every augmentation); PIPELINE_ARGS replaces the arguments
# after MODEL.
measure_pipeline() {
  local len=$1 b=$2 line="" log="$out/logs/pipeline-$1.log"
  local pargs=(--data "$root/resources/demo" --batch "$b" --max-length "$len" --seconds 4 --augment all)
  # shellcheck disable=SC2206 # PIPELINE_ARGS is a list of arguments
  [ -z "${PIPELINE_ARGS:-}" ] || pargs=(${PIPELINE_ARGS})
  line=$(timeout 120 "$bench" pipeline "$model" "${pargs[@]}" 2>"$log" | grep cpp-pipeline | tail -n 1) || line=""
  if [[ $line == \{* ]]; then
    echo "{\"pipeline_max_length\":$len,\"pipeline_batch\":$b,${line#\{}" >> "$results"
    printf '   input pipeline, max_length %s: %.1f samples/s\n' "$len" \
      "$(sed -E 's/.*"samples_per_s": ?([0-9.eE+-]+).*/\1/' <<< "$line")" || true
  else
    echo "   input pipeline, max_length $len: astpeft-bench pipeline failed (see $log)"
  fi
}

for pass in first rest; do
  if [ "$pass" = first ]; then list=("${first[@]}"); else list=("${rest[@]}"); fi
  [ "${#list[@]}" -gt 0 ] || continue
  for config in ${CONFIGS:-1024:32 100:128}; do
    len=${config%%:*} b=${config##*:}
    echo "== $device, max_length $len, batch $b, $steps steps after $warmup warm-up: ${list[*]}"
    if [ "$pass" = first ] && [ "$pipeline" = yes ]; then
      measure_pipeline "$len" "$b"
    fi
    args=(--batch "$b" --steps "$steps" --warmup "$warmup" --max-length "$len" --device "$device")
    for ((r = 1; r <= rounds; r++)); do
      for dt in ${DTYPES:-bf16}; do
        for m in "${list[@]}"; do
          echo "   round $r, $dt: $m"
          if [ "$dt" = bf16 ]; then
            pyx=("$py") pyflag=(--bf16) hfflag=(--bf16)
          else
            pyx=("$py" "${py_tf32[@]}") pyflag=() hfflag=(--tf32)
          fi
          if [ "$py_ok" = yes ]; then
            run_row py "$m" "$dt" "$len" "$b" "$r" "${pyx[@]}" "$root/bench/py_ast_train.py" "$model" \
              --method "$m" "${args[@]}" "${pyflag[@]}"
          fi
          if [ "$hf_ok" = yes ] && [[ $hf_methods == *" $m "* ]]; then
            run_row hf-peft "$m" "$dt" "$len" "$b" "$r" "$hf_py" "$root/bench/hf_peft_train.py" "$model" \
              --method "$m" "${args[@]}" "${hfflag[@]}"
          fi
          if [ "$cpp_ok" = yes ]; then
            run_row astpeft "$m" "$dt" "$len" "$b" "$r" "$bench" train "$model" --method "$m" "${args[@]}" --precision "$dt"
          fi
        done
      done
    done
  done
done

"$py" - "$root/bench" "$results" "$model" "$gpu_name" "${PEAK_FLOPS:-}" "$out" "$device" \
  "$( { [ "$cpp_ok" = yes ] && "$cli" --version; } 2>/dev/null || echo astpeft)" "$steps" "$warmup" "$rounds" "$((SECONDS - start))" \
  "$py_torch" "${notes[@]}" <<'PY'
import json, os, sys
bench_dir, results, model, gpu, peak, out, device, version, steps, warmup, rounds, seconds, py_torch = sys.argv[1:14]
notes = sys.argv[14:]
sys.path.insert(0, bench_dir)
import bench_flops as bf  # noqa: E402

rows = [json.loads(l) for l in open(results) if l.strip()]
config = bf.load_config(model)
cuda = device != "cpu"
train = []
for r in rows:
    if r.get("bench") != "train":
        continue
    r["impl"] = {"python": "py", "cpp": "astpeft"}.get(r["impl"], r["impl"])
    r["precision"] = "bf16" if str(r.get("dtype", "")).startswith("bf16") else "fp32"
    if "error" not in r:
        # every fp32 row on CUDA runs its products in TF32 (astpeft-bench by itself, the
        # baselines as gpu.sh starts them)
        r = bf.row_mfu(r, config, gpu if cuda else None, peak or None, tf32=cuda)
    train.append(r)
with open(os.path.join(out, "results-mfu.jsonl"), "w") as f:
    for r in train:
        f.write(json.dumps(r) + "\n")


def median_round(runs):
    ok = sorted((r for r in runs if "error" not in r), key=lambda r: r["step_ms_median"])
    if ok:
        return ok[(len(ok) - 1) // 2]  # the lower median
    return runs[0] if runs else None  # the error


def cell(r, key, fmt):
    if r is None:
        return "-"
    if "error" in r:
        return "OOM" if "memory" in r["error"] else ("skipped" if "budget" in r["error"] else "failed")
    return format(r[key], fmt) if key in r else "-"


def ratio(a, b):
    if a is None or b is None or "error" in a or "error" in b:
        return "-"
    return f"{a['samples_per_s'] / b['samples_per_s']:.2f}x"


pipe = [r for r in rows if r.get("impl") == "cpp-pipeline"]
hf_row = next((r for r in train if r["impl"] == "hf-peft" and "error" not in r), None)
d = bf.dims(config)
arch = "AST-base" if (d["D"], d["layers"], d["I"]) == (768, 12, 3072) else f"AST (hidden {d['D']}, {d['layers']} layers)"
lines = [f"## Training step on {gpu or device}", "",
         f"{version}; {steps} timed steps after {warmup} warm-up, {rounds} round(s) (median round), "
         f"{seconds} s in all. {arch} with random weights, {d['labels']} classes, random inputs.",
         ""]
base = f"Baselines: `bench/py_ast_train.py` (plain PyTorch {py_torch})"
if hf_row:
    v = hf_row["versions"]
    base += (f" and `bench/hf_peft_train.py` (transformers {v['transformers']} ASTForAudioClassification, "
             f"attention {hf_row['attn']}, + peft {v['peft']}, torch {v['torch']}; lora, full, linear).")
lines.append(base + ("" if hf_row else "."))
for p in pipe:
    lines.append(f"Input pipeline (`astpeft-bench pipeline`, one thread, max_length {p.get('pipeline_max_length')}, "
                 f"batch {p.get('batch', p.get('pipeline_batch'))}, augment {p.get('augment', '?')}"
                 f"{', waveform path' if p.get('waveform') else ''}): **{p['samples_per_s']:.1f} samples/s**.")
if not pipe:
    lines.append("Input pipeline: not measured (this astpeft-bench has no `pipeline` subcommand, or it failed).")
lines += ["", "MFU: samples/s x training FLOPs per sample (bench/bench_flops.py: 3 x forward for full, "
          "forward + activation gradients + trainable weight gradients for PEFT, about 1 x forward for linear) "
          "/ the device's dense peak for the precision (bf16; fp32 rows run TF32)"
          + (f", {float(peak) / 1e12:.0f} TFLOP/s given" if peak else "")
          + ". peak MB: the caching allocator's peak allocated memory.", ""]
lines.append("| input | batch | dtype | method | trainable (astpeft) | samples/s py / hf / astpeft | step ms py / hf / astpeft "
             "| peak MB py / hf / astpeft | MFU py / hf / astpeft | astpeft / hf | astpeft / py |")
lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
configs = list(dict.fromkeys((r["max_length"], r["batch"]) for r in train))
for length, batch in configs:
    label = f"{length / 100:.0f} s ({length})" if length % 100 == 0 else str(length)
    for prec in dict.fromkeys(r["precision"] for r in train):
        for m in dict.fromkeys(r["method"] for r in train):
            pick = {impl: median_round([r for r in train if r["impl"] == impl and r["method"] == m
                                        and r["precision"] == prec and r["max_length"] == length
                                        and r["batch"] == batch]) for impl in ("py", "hf-peft", "astpeft")}
            p, h, c = pick["py"], pick["hf-peft"], pick["astpeft"]
            if not (p or h or c):
                continue
            trainable = format(c["trainable"], ",") if c and "error" not in c else "-"
            sps = " / ".join(cell(x, "samples_per_s", ".1f") for x in (p, h, c))
            ms = " / ".join(cell(x, "step_ms_median", ".1f") for x in (p, h, c))
            mem = " / ".join(cell(x, "peak_device_mb", ".0f") for x in (p, h, c))
            mfu = " / ".join(cell(x, "mfu", ".1%") for x in (p, h, c))
            lines.append(f"| {label} | {batch} | {prec} | {m} | {trainable} | {sps} | {ms} | {mem} | {mfu} "
                         f"| {ratio(c, h)} | {ratio(c, p)} |")
errors = [r for r in train if "error" in r]
if errors:
    lines += ["", "Runs that gave no result:", ""]
    lines += [f"- {r['impl']} {r['method']} {r['precision']} max_length {r['max_length']} batch {r['batch']}: {r['error']}"
              for r in errors]
if notes:
    lines += [""] + [f"Note: {n}." for n in notes]
text = "\n".join(lines) + "\n"
open(os.path.join(out, "table.md"), "w").write(text)
print("\n" + text)
PY
echo "raw results: $results; table: $out/table.md"
