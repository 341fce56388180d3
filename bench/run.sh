#!/usr/bin/env bash
# Benchmarks, one command: C++ (astpeft-bench) against Python baselines on this machine, same
# inputs, same thread count. Prints tables with ratios; raw JSON lines go to $OUT/results.jsonl.
#   bench/run.sh [BUILD_DIR]     env: THREADS (default nproc), RUNS (default 20), OUT
# Needs Debian's python3-torch and python3-torchaudio (tools/bootstrap.sh bench installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${ASTPEFT_BUILD_DIR:-$root/build}}
threads=${THREADS:-$(nproc)}
runs=${RUNS:-20}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
py=/usr/bin/python3
bench="$build/bench/astpeft-bench"
cli="$build/app/astpeft"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

echo "== fbank throughput ($threads threads, OMP_WAIT_POLICY=$OMP_WAIT_POLICY)"
"$py" "$root/bench/py_fbank.py" --threads "$threads" >> "$results"
"$bench" fbank --threads "$threads" >> "$results"

echo "== AST-base forward latency, batch 1"
model="$out/ast-base"
[ -f "$model/model.safetensors" ] || "$cli" init-model --preset base --max-length 1024 --seed 1 \
  --labels a,b,c,d,e,f,g,h,i,j --out "$model"
# Python and C++ alternate for ROUNDS rounds, so that drift in this machine's speed (seen here:
# +-15 % over minutes) hits both alike; the table takes the median over rounds.
rounds=${ROUNDS:-3}
for len in 100 1024; do
  for ((r = 0; r < rounds; r++)); do
    "$py" "$root/bench/py_ast_forward.py" "$model" --max-length "$len" --runs "$runs" --threads "$threads" >> "$results"
    "$bench" forward "$model" --max-length "$len" --runs "$runs" --threads "$threads" >> "$results"
  done
done
bf16=$("$cli" --version >/dev/null; grep -q -E 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo yes || echo no)
if [ "$bf16" = yes ]; then
  for len in 100 1024; do
    "$py" "$root/bench/py_ast_forward.py" "$model" --max-length "$len" --runs "$runs" --threads "$threads" --bf16 >> "$results"
    "$bench" forward "$model" --max-length "$len" --runs "$runs" --threads "$threads" --precision bf16 >> "$results"
  done
fi

echo "== thread settings (C++, AST-base, 1 s input)"
for t in 1 "$threads"; do
  for policy in PASSIVE ACTIVE; do
    OMP_WAIT_POLICY=$policy "$bench" forward "$model" --max-length 100 --runs "$runs" --threads "$t" \
      | sed "s/}$/, \"omp_wait_policy\": \"$policy\"}/" >> "$results"
  done
done

"$py" - "$results" "$bf16" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bf16 = sys.argv[2] == "yes"
print("\nfbank throughput: seconds of audio per second (higher is better); baseline torchaudio 0.13 kaldi.fbank")
print(f"{'clip':>6} {'mode':>8} {'torchaudio':>11} {'astpeft':>9} {'ratio':>6}")
for clip in (1.0, 10.0):
    for mode in ("single", "batch32"):
        p = next(r for r in rows if r.get("bench") == "fbank" and r["impl"] == "python" and r["clip_s"] == clip and r["mode"] == mode)
        c = next(r for r in rows if r.get("bench") == "fbank" and r["impl"] == "cpp" and r["clip_s"] == clip and r["mode"] == mode)
        print(f"{clip:>5.0f}s {mode:>8} {p['audio_s_per_s']:>11.0f} {c['audio_s_per_s']:>9.0f} {c['audio_s_per_s']/p['audio_s_per_s']:>5.2f}x")
print("\nAST-base forward, batch 1: median / p95 ms (lower is better), median of alternating rounds; baseline PyTorch 1.13 (tools/ast_reference.py model)")
print(f"{'input':>6} {'dtype':>6} {'python':>17} {'astpeft':>17} {'speed-up':>9} {'peak RSS py/cpp MB':>19}")
fwd = [r for r in rows if "median_ms" in r and "omp_wait_policy" not in r]
for length in (100, 1024):
    for dtype in (("fp32", "bf16") if bf16 else ("fp32",)):
        pd = "bf16-autocast" if dtype == "bf16" else "fp32"
        def pick(impl, dt):
            runs = [r for r in fwd if r["impl"] == impl and r["max_length"] == length and r["dtype"] == dt]
            runs.sort(key=lambda r: r["median_ms"])
            return runs[len(runs) // 2]  # the round with the median latency
        p = pick("python", pd)
        c = pick("cpp", dtype)
        label = "1 s" if length == 100 else "10 s"
        print(f"{label:>6} {dtype:>6} {p['median_ms']:>8.1f} /{p['p95_ms']:>7.1f} {c['median_ms']:>8.1f} /{c['p95_ms']:>7.1f} {p['median_ms']/c['median_ms']:>8.2f}x {p['peak_rss_mb']:>9.0f} /{c['peak_rss_mb']:>7.0f}")
if not bf16:
    print("  bf16: skipped, this CPU has neither AVX512-BF16 nor AMX (bf16 matmul is emulated and slower than fp32)")
print("\nthread settings, C++ AST-base 1 s input: median ms")
for r in rows:
    if "omp_wait_policy" in r:
        print(f"  threads {r['threads']}  OMP_WAIT_POLICY={r['omp_wait_policy']:<7} {r['median_ms']:8.1f}")
PY
echo "raw results: $results"
