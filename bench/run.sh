#!/usr/bin/env bash
# Benchmarks, one command: C++ (astpeft-bench) against Python baselines on this machine, same
# inputs, same thread count. Prints tables with ratios; raw JSON lines go to $OUT/results.jsonl.
#   bench/run.sh [BUILD_DIR]     env: THREADS (default nproc), RUNS (default 20), ROUNDS (3), OUT,
#     BENCH: the sections to run, comma-separated (default all): fbank, forward, threads,
#       train (training step per method), checkpoint (the step with and without activation
#       checkpointing, C++ only), probe (linear-probing epochs, encoder cache on/off),
#       gui (the studio's redraw time and event-loop stalls while training), stream (live
#       classification latency and real-time factor, 1 s windows, AST-base and the bundled
#       backbone; STREAM_SECONDS (20)), transfer (tools/transfer.sh: the bundled backbone
#       against a random one of its architecture on held-out tasks, flite keywords, Wesnoth's
#       game sounds and the demo; TRANSFER_TASKS, TRANSFER_METHODS, TRANSFER_SHOTS,
#       TRANSFER_EPOCHS, TRANSFER_BACKBONE (default resources/backbone); its runs are kept in
#       $OUT/transfer and not rerun), dist (data-parallel training: 1 process against 2 on
#       c10d's Gloo, all-reduce bytes and time per step; DIST_METHODS)
#     TRAIN_METHODS (default: full linear bitfit lora adapter prompt-deep prefix prompt-shallow),
#     TRAIN_STEPS (8), TRAIN_WARMUP (2), TRAIN_BATCH (8), TRAIN_BF16 (yes|no; default: yes on
#     CPUs with AVX512-BF16 or AMX), HF_METHODS (the methods of TRAIN_METHODS that the Hugging
#     Face baseline also runs; default: lora full linear), BENCH_VENV (the baseline's virtual
#     environment; default BUILD_DIR/bench-venv), BENCH_VENV_PYTHON (python3: what makes it);
#     CKPT_METHODS, CKPT_STEPS (4), CKPT_WARMUP (1)
# Needs Debian's python3-torch and python3-torchaudio (tools/bootstrap.sh bench installs them),
# sox for the probe section's clips, and flite and wesnoth-1.16-data for the transfer section's
# tasks (tools/make_transfer_tasks.py). The train section's second baseline,
# bench/hf_peft_train.py (transformers + peft), runs in a virtual environment this script makes
# on first use (python3 -m venv; pip install torch==2.13.0 transformers peft numpy
# safetensors); where that fails its rows are skipped with one line saying why.
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
sections=,${BENCH:-fbank,forward,threads,train,checkpoint,probe,dist,gui,stream,transfer},
want() { [[ $sections == *",$1,"* || $sections == ",all," ]]; }
# Python and C++ alternate for ROUNDS rounds, so that drift in this machine's speed (seen here:
# +-15 % over minutes) hits both alike; the tables take the median over rounds.
rounds=${ROUNDS:-3}
bf16=$("$cli" --version >/dev/null; grep -q -E 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo yes || echo no)
model="$out/ast-base"
if want forward || want threads || want train || want checkpoint || want probe || want dist || want stream; then
  [ -f "$model/model.safetensors" ] || "$cli" init-model --preset base --max-length 1024 --seed 1 \
    --labels a,b,c,d,e,f,g,h,i,j --out "$model" >/dev/null
fi

if want fbank; then
  echo "== fbank throughput ($threads threads, OMP_WAIT_POLICY=$OMP_WAIT_POLICY)"
  "$py" "$root/bench/py_fbank.py" --threads "$threads" >> "$results"
  "$bench" fbank --threads "$threads" >> "$results"
fi

if want forward; then
  echo "== AST-base forward latency, batch 1"
  for len in 100 1024; do
    for ((r = 0; r < rounds; r++)); do
      "$py" "$root/bench/py_ast_forward.py" "$model" --max-length "$len" --runs "$runs" --threads "$threads" >> "$results"
      "$bench" forward "$model" --max-length "$len" --runs "$runs" --threads "$threads" >> "$results"
    done
  done
  if [ "$bf16" = yes ]; then
    for len in 100 1024; do
      "$py" "$root/bench/py_ast_forward.py" "$model" --max-length "$len" --runs "$runs" --threads "$threads" --bf16 >> "$results"
      "$bench" forward "$model" --max-length "$len" --runs "$runs" --threads "$threads" --precision bf16 >> "$results"
    done
  fi
fi

if want threads; then
  echo "== thread settings (C++, AST-base, 1 s input)"
  for t in 1 "$threads"; do
    for policy in PASSIVE ACTIVE; do
      OMP_WAIT_POLICY=$policy "$bench" forward "$model" --max-length 100 --runs "$runs" --threads "$t" \
        | sed "s/}$/, \"omp_wait_policy\": \"$policy\"}/" >> "$results"
    done
  done
fi

# The Hugging Face baseline's Python: a virtual environment with a pip torch, transformers and
# peft, made on first use (or repaired when an import fails). Sets hf_py, or leaves it empty and
# says why in hf_skip.
hf_py=""
hf_skip=""
hf_venv() {
  local venv=${BENCH_VENV:-$build/bench-venv} log="$out/bench-venv.log"
  local check='import torch, transformers, peft, numpy, safetensors'
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    hf_py="$venv/bin/python"
    return
  fi
  echo "   making the Hugging Face baseline's virtual environment $venv (log: $log)"
  if { [ -x "$venv/bin/python" ] || "${BENCH_VENV_PYTHON:-python3}" -m venv "$venv"; } >"$log" 2>&1 \
    && "$venv/bin/python" -m pip install torch==2.13.0 transformers peft numpy safetensors >>"$log" 2>&1 \
    && "$venv/bin/python" -c "$check" >>"$log" 2>&1; then
    hf_py="$venv/bin/python"
  else
    hf_skip="hf-peft baseline skipped: could not make the virtual environment $venv ($(tail -n 1 "$log" 2>/dev/null | cut -c1-160); log: $log)"
  fi
}

if want train; then
  # One training step (forward, cross-entropy, backward, AdamW, zero grad) per method, paper
  # settings; per method in each round: plain PyTorch (bench/py_ast_train.py), then Hugging
  # Face transformers + peft (bench/hf_peft_train.py; HF_METHODS only), then C++, alternating.
  echo "== training step throughput, AST-base, 1 s clips (max_length 100), batch ${TRAIN_BATCH:-8}"
  train_bf16=${TRAIN_BF16:-$bf16}
  hf_methods=" ${HF_METHODS:-lora full linear} "
  for m in ${TRAIN_METHODS:-full linear bitfit lora adapter prompt-deep prefix prompt-shallow}; do
    if [[ $hf_methods == *" $m "* ]]; then
      hf_venv
      break
    fi
  done
  [ -z "$hf_skip" ] || echo "   $hf_skip"
  targs=(--batch "${TRAIN_BATCH:-8}" --steps "${TRAIN_STEPS:-8}" --warmup "${TRAIN_WARMUP:-2}" --max-length 100 --threads "$threads")
  for ((r = 0; r < rounds; r++)); do
    for m in ${TRAIN_METHODS:-full linear bitfit lora adapter prompt-deep prefix prompt-shallow}; do
      echo "   round $((r + 1))/$rounds: $m"
      hf=no
      [[ -n $hf_py && $hf_methods == *" $m "* ]] && hf=yes
      "$py" "$root/bench/py_ast_train.py" "$model" --method "$m" "${targs[@]}" >> "$results"
      if [ "$hf" = yes ]; then
        "$hf_py" "$root/bench/hf_peft_train.py" "$model" --method "$m" "${targs[@]}" >> "$results"
      fi
      "$bench" train "$model" --method "$m" "${targs[@]}" >> "$results"
      if [ "$train_bf16" = yes ]; then
        "$py" "$root/bench/py_ast_train.py" "$model" --method "$m" "${targs[@]}" --bf16 >> "$results"
        if [ "$hf" = yes ]; then
          "$hf_py" "$root/bench/hf_peft_train.py" "$model" --method "$m" "${targs[@]}" --bf16 >> "$results"
        fi
        "$bench" train "$model" --method "$m" "${targs[@]}" --precision bf16 >> "$results"
      fi
    done
  done
fi

if want checkpoint; then
  # The PEFT methods again with activation checkpointing (astpeft train --checkpoint-activations),
  # C++ only: its cost in speed and what it saves in peak memory against plain full fine-tuning.
  echo "== training step with activation checkpointing, AST-base, 1 s clips, batch ${TRAIN_BATCH:-8}"
  cargs=(--batch "${TRAIN_BATCH:-8}" --steps "${CKPT_STEPS:-4}" --warmup "${CKPT_WARMUP:-1}" --max-length 100 --threads "$threads")
  for m in ${CKPT_METHODS:-full bitfit lora adapter prompt-deep prefix prompt-shallow}; do
    echo "   $m"
    for c in 0 1; do
      "$bench" train "$model" --method "$m" "${cargs[@]}" --checkpoint-activations $c \
        | sed 's/^{/{"section":"checkpoint",/' >> "$results"
    done
  done
fi

# 64 clips of 1 s in 4 classes (tones, square waves, pink and brown noise) in $1, made once.
make_clips() {
  local data=$1
  if [ ! -f "$data/.done" ]; then
    rm -rf "$data"
    for c in tone square pink brown; do
      mkdir -p "$data/$c"
      for ((i = 0; i < 16; i++)); do
        f=$((200 + 97 * i))
        case $c in
          tone) synth=(sine "$f") ;;
          square) synth=(square "$f") ;;
          pink) synth=(pinknoise) ;;
          brown) synth=(brownnoise) ;;
        esac
        sox -n -r 16000 -c 1 -b 16 "$data/$c/$i.wav" synth 1 "${synth[@]}" gain -"$((3 + i % 9))"
      done
    done
    touch "$data/.done"
  fi
}

if want probe; then
  # Linear probing without augmentation: `astpeft train` caches the frozen encoder's outputs
  # (default) or runs the encoder every epoch (--no-encoder-cache). 64 clips of 1 s, 4 classes.
  echo "== linear-probing epochs, AST-base, 64 clips of 1 s, encoder cache on / off"
  data="$out/probe-data"
  make_clips "$data"
  for mode in cached uncached; do
    run_dir="$out/probe-$mode"
    rm -rf "$run_dir"
    extra=()
    [ "$mode" = uncached ] && extra=(--no-encoder-cache)
    "$cli" --threads "$threads" train --model "$model" --data "$data" --method linear --epochs 3 \
      --batch-size 8 --json --no-cache --out "$run_dir" "${extra[@]}" \
      | grep -E '"event": ?"(epoch|finished)"' | sed "s/^{/{\"probe\": \"$mode\", /" >> "$results"
  done
fi

if want dist; then
  # Data-parallel training on c10d's Gloo over 127.0.0.1: one process at batch 8 against two
  # (astpeft train --nproc 2) at batch 4 each, the same global batch, the cores split between
  # them; one epoch of AST-base on the probe section's clips (57 training clips: 8 steps). The
  # finished event counts each process's gradient all-reduces, their bytes and time.
  echo "== data-parallel training, AST-base, 1 s clips: 1 process x batch 8 vs 2 processes x batch 4"
  data="$out/probe-data"
  make_clips "$data"
  half=$((threads / 2 > 0 ? threads / 2 : 1))
  for method in ${DIST_METHODS:-linear lora adapter full}; do
    for world in 1 2; do
      run_dir="$out/dist-$method-$world"
      rm -rf "$run_dir"
      if [ "$world" = 1 ]; then
        launch=(--threads "$threads" train --batch-size 8)
      else
        launch=(--threads "$half" train --nproc 2 --batch-size 4)
      fi
      "$cli" "${launch[@]}" --model "$model" --data "$data" --method "$method" --epochs 1 \
        --max-length 100 --val-fraction 0.1 --no-encoder-cache --no-test --json \
        --cache-dir "$out/dist-cache" --out "$run_dir" \
        | grep -E '"event": ?"(import|step|finished)"' \
        | sed "s/^{/{\"dist\": \"$method\", \"processes\": $world, /" >> "$results"
    done
  done
fi

if want gui; then
  # The studio's responsiveness (offscreen): redraw of a 100,000-point curve; GUI event-loop
  # stalls idle and while a LoRA run on the small preset trains in the training view's thread.
  echo "== studio responsiveness (astpeft-gui-bench, offscreen)"
  QT_QPA_PLATFORM=offscreen "$build/bench/astpeft-gui-bench" --epochs 2 >> "$results"
fi

if want stream; then
  # Live classification (astpeft listen's engine) on AST-base with 1 s windows, fed 10 ms blocks:
  # streaming (only the new fbank frames per hop) against recomputing each window's front end.
  # ROUNDS rounds, every configuration once per round, so that the VM's drift spreads over all.
  echo "== live classification, AST-base and the bundled backbone, 1 s windows, 10 ms blocks ($rounds rounds)"
  for round in $(seq "$rounds"); do
    for precision in fp32 int8; do
      for hop in 0.25 0.5; do
        "$bench" stream "$model" --max-length 100 --hop "$hop" --seconds "${STREAM_SECONDS:-20}" \
          --precision "$precision" --threads "$threads" \
          | sed "s/^{/{\"model\":\"ast-base\",\"round\":$round,/" >> "$results"
        "$bench" stream "$root/resources/backbone" --hop "$hop" --seconds "${STREAM_SECONDS:-20}" \
          --precision "$precision" --threads "$threads" \
          | sed "s/^{/{\"model\":\"bundled\",\"round\":$round,/" >> "$results"
      done
    done
  done
fi

if want transfer; then
  # Does the bundled backbone's pretraining transfer? tools/transfer.sh trains each held-out
  # task (flite-keywords: ten words from a speech engine the pretraining never used, validated
  # on a diphone voice; wesnoth-sounds: recorded game sounds split by source; demo: ten words
  # in held-out espeak-ng voices, and background) with each method, few-shot (4 or 8 clips per
  # class) and with all clips, on the bundled backbone and on a random backbone of the same
  # architecture (init-model, seed 1), same recipe, seed and steps (12 epochs of batch 8);
  # best validation accuracy. Its header has the knobs; its table is also in
  # $OUT/transfer/transfer.md, and its finished runs are reused when OUT is kept.
  echo "== transfer: the bundled backbone vs a random one on held-out tasks (tools/transfer.sh)"
  ASTPEFT_BUILD_DIR=$build "$root/tools/transfer.sh" "${TRANSFER_BACKBONE:-$root/resources/backbone}" \
    "$out/transfer" --threads "$threads" | sed -u 's/^/   /'
  cat "$out/transfer/transfer.jsonl" >> "$results"
fi

"$py" - "$results" "$bf16" "${train_bf16:-$bf16}" "$hf_skip" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bf16 = sys.argv[2] == "yes"
train_bf16 = sys.argv[3] == "yes"
hf_skip = sys.argv[4]


def median_round(runs, key):
    """The round with the median value of `key` (alternating rounds; see the comment above);
    the lower median for an even count (with ROUNDS=2: the faster round, for both sides)."""
    runs = sorted(runs, key=lambda r: r[key])
    return runs[(len(runs) - 1) // 2] if runs else None


if any(r.get("bench") == "fbank" for r in rows):
    print("\nfbank throughput: seconds of audio per second (higher is better); baseline torchaudio 0.13 kaldi.fbank")
    print(f"{'clip':>6} {'mode':>8} {'torchaudio':>11} {'astpeft':>9} {'ratio':>6}")
    for clip in (1.0, 10.0):
        for mode in ("single", "batch32"):
            p = next(r for r in rows if r.get("bench") == "fbank" and r["impl"] == "python" and r["clip_s"] == clip and r["mode"] == mode)
            c = next(r for r in rows if r.get("bench") == "fbank" and r["impl"] == "cpp" and r["clip_s"] == clip and r["mode"] == mode)
            print(f"{clip:>5.0f}s {mode:>8} {p['audio_s_per_s']:>11.0f} {c['audio_s_per_s']:>9.0f} {c['audio_s_per_s']/p['audio_s_per_s']:>5.2f}x")

fwd = [r for r in rows if "median_ms" in r and "omp_wait_policy" not in r
       and r.get("bench") not in ("stream", "gui")]
if fwd:
    print("\nAST-base forward, batch 1: median / p95 ms (lower is better), median of alternating rounds; baseline PyTorch 1.13 (tools/ast_reference.py model)")
    print(f"{'input':>6} {'dtype':>6} {'python':>17} {'astpeft':>17} {'speed-up':>9} {'peak RSS py/cpp MB':>19}")
    for length in (100, 1024):
        for dtype in (("fp32", "bf16") if bf16 else ("fp32",)):
            pd = "bf16-autocast" if dtype == "bf16" else "fp32"
            p = median_round([r for r in fwd if r["impl"] == "python" and r["max_length"] == length and r["dtype"] == pd], "median_ms")
            c = median_round([r for r in fwd if r["impl"] == "cpp" and r["max_length"] == length and r["dtype"] == dtype], "median_ms")
            label = "1 s" if length == 100 else "10 s"
            print(f"{label:>6} {dtype:>6} {p['median_ms']:>8.1f} /{p['p95_ms']:>7.1f} {c['median_ms']:>8.1f} /{c['p95_ms']:>7.1f} {p['median_ms']/c['median_ms']:>8.2f}x {p['peak_rss_mb']:>9.0f} /{c['peak_rss_mb']:>7.0f}")
    if not bf16:
        print("  bf16: skipped, this CPU has neither AVX512-BF16 nor AMX (bf16 matmul is emulated and slower than fp32)")

if any("omp_wait_policy" in r for r in rows):
    print("\nthread settings, C++ AST-base 1 s input: median ms")
    for r in rows:
        if "omp_wait_policy" in r:
            print(f"  threads {r['threads']}  OMP_WAIT_POLICY={r['omp_wait_policy']:<7} {r['median_ms']:8.1f}")

train = [r for r in rows if r.get("bench") == "train" and r.get("section") != "checkpoint"]
if train:
    methods = list(dict.fromkeys(r["method"] for r in train))
    batch = train[0]["batch"]
    hf_version = next((r["versions"] for r in train if r["impl"] == "hf-peft"), None)
    print(f"\ntraining step, AST-base, 1 s clips (max_length 100), batch {batch}: samples/s (higher is better), "
          "median step of the median round; baselines PyTorch 1.13 (bench/py_ast_train.py) and "
          + (f"Hugging Face transformers {hf_version['transformers']} + peft {hf_version['peft']} on torch "
             f"{hf_version['torch']} (bench/hf_peft_train.py)" if hf_version else "Hugging Face + peft (bench/hf_peft_train.py)"))
    print(f"{'method':>15} {'dtype':>5} {'trainable':>10} {'python':>7} {'hf-peft':>8} {'astpeft':>8} {'cpp/py':>7} {'cpp/hf':>7} "
          f"{'step ms py/hf/cpp':>22} {'peak RSS py/hf/cpp MB':>22} {'vs full py/cpp':>15}")

    def pick_run(impl, m, dtype):
        want = ("bf16-autocast" if dtype == "bf16" else "fp32") if impl != "cpp" else dtype
        return median_round([r for r in train if r["impl"] == impl and r["method"] == m and r["dtype"] == want], "step_ms_median")

    def num(r, key, fmt):
        return format(r[key], fmt) if r else "-"

    for dtype in (("fp32", "bf16") if train_bf16 else ("fp32",)):
        pick = {m: (pick_run("python", m, dtype), pick_run("hf-peft", m, dtype), pick_run("cpp", m, dtype)) for m in methods}
        full = pick.get("full", (None, None, None))
        for m in methods:
            p, h, c = pick[m]
            if not p or not c:
                continue
            same = "" if p["trainable"] == c["trainable"] else f" (python trains {p['trainable']}!)"
            if h and h["trainable"] != c["trainable"]:
                same += f" (hf-peft trains {h['trainable']})"
            if dtype == "bf16":  # the bf16 goal is against the fp32 baseline
                p32 = pick_run("python", m, "fp32")
                same += f" ({c['samples_per_s'] / p32['samples_per_s']:.2f}x python fp32)" if p32 else ""
            vs = ""
            if full[0] and full[2] and m != "full":
                vs = f"{p['peak_rss_mb'] / full[0]['peak_rss_mb']:>6.0%} /{c['peak_rss_mb'] / full[2]['peak_rss_mb']:>5.0%}"
            cpp_hf = f"{c['samples_per_s'] / h['samples_per_s']:>6.2f}x" if h else f"{'-':>7}"
            print(f"{m:>15} {dtype:>5} {c['trainable']:>10} {p['samples_per_s']:>7.2f} {num(h, 'samples_per_s', '.2f'):>8} "
                  f"{c['samples_per_s']:>8.2f} {c['samples_per_s'] / p['samples_per_s']:>6.2f}x {cpp_hf} "
                  f"{p['step_ms_median']:>6.0f} /{num(h, 'step_ms_median', '.0f'):>6} /{c['step_ms_median']:>6.0f} "
                  f"{p['peak_rss_mb']:>6.0f} /{num(h, 'peak_rss_mb', '.0f'):>6} /{c['peak_rss_mb']:>6.0f} {vs:>15}{same}")
    if not train_bf16:
        print("  bf16: skipped (TRAIN_BF16=no)" if bf16 else
              "  bf16: skipped, this CPU has neither AVX512-BF16 nor AMX (bf16 matmul is emulated and slower than fp32; TRAIN_BF16=yes runs it)")
    if hf_skip:
        print(f"  {hf_skip}")
    elif any(r["impl"] == "hf-peft" for r in train):
        print("  hf-peft: ASTForAudioClassification with HF's own head (its LayerNorm trains too: +2*hidden parameters), "
              f"attention {next(r['attn'] for r in train if r['impl'] == 'hf-peft')}, LoRA through peft")
    print("  goals: astpeft >= python in fp32 (ratio >= 1.00x); bf16 >= 1.5x python fp32 (AVX512-BF16/AMX only);")
    print("  PEFT peak memory <= 60% of full fine-tuning (peak RSS of the process, weights included)")

ckpt = [r for r in rows if r.get("section") == "checkpoint"]
if ckpt:
    print(f"\nactivation checkpointing (C++, AST-base, 1 s clips, batch {ckpt[0]['batch']}): samples/s and peak RSS, "
          "plain / checkpointed; baseline: plain full fine-tuning's peak RSS")
    print(f"{'method':>15} {'samples/s plain/ckpt':>21} {'speed':>6} {'peak RSS MB plain/ckpt':>23} {'vs full plain/ckpt':>19}")
    full = next((r for r in ckpt if r["method"] == "full" and not r["checkpoint_activations"]), None)
    for m in dict.fromkeys(r["method"] for r in ckpt):
        p = next((r for r in ckpt if r["method"] == m and not r["checkpoint_activations"]), None)
        c = next((r for r in ckpt if r["method"] == m and r["checkpoint_activations"]), None)
        if not p or not c:
            continue
        vs = f"{p['peak_rss_mb'] / full['peak_rss_mb']:>8.0%} /{c['peak_rss_mb'] / full['peak_rss_mb']:>5.0%}" if full else ""
        print(f"{m:>15} {p['samples_per_s']:>10.2f} /{c['samples_per_s']:>7.2f} {c['samples_per_s'] / p['samples_per_s']:>5.2f}x "
              f"{p['peak_rss_mb']:>11.0f} /{c['peak_rss_mb']:>7.0f} {vs:>19}")
    print("  goal: PEFT peak memory <= 60% of full fine-tuning")

gui = [r for r in rows if r.get("bench") == "gui"]
if gui:
    print("\nstudio responsiveness (offscreen); goals: redraw < 16 ms, GUI stall < 50 ms while training")
    for r in gui:
        if r["case"] == "redraw":
            print(f"  redraw of {r['points']:,} points x {r['graphs']} graphs: median {r['median_ms']:.1f} ms, "
                  f"worst {r['max_ms']:.1f} ms ({r['median_ms'] / r['goal_ms']:.2f}x the 16 ms budget)")
        else:
            print(f"  event-loop stall, {r['while']:>8} ({r['seconds']:.0f} s, {r['ticks']} ticks): "
                  f"p99 {r['p99_ms']:.1f} ms, longest {r['max_ms']:.1f} ms ({r['max_ms'] / r['goal_ms']:.2f}x the 50 ms goal)")

probe = [r for r in rows if "probe" in r and r.get("event") == "epoch"]
if probe:
    print("\nlinear probing, 64 clips of 1 s (batch 8, 3 epochs, `astpeft train --method linear`): seconds per epoch")
    print(f"{'epoch':>6} {'encoder cache':>14} {'no cache':>9} {'speed-up':>9}")
    for e in sorted({r["epoch"] for r in probe}):
        c = next((r for r in probe if r["probe"] == "cached" and r["epoch"] == e), None)
        u = next((r for r in probe if r["probe"] == "uncached" and r["epoch"] == e), None)
        if c and u:
            print(f"{e:>6} {c['seconds']:>14.3f} {u['seconds']:>9.3f} {u['seconds'] / max(c['seconds'], 1e-9):>8.0f}x")
    print("  goal: epochs after the first at least 20x faster with the cache (the cache is built once before epoch 1)")

stream = [r for r in rows if r.get("bench") == "stream"]
if stream:
    print("\nlive classification (astpeft listen's engine), 1 s windows fed 10 ms blocks: latency per window "
          "(last block in -> result, ms) and real-time factor (compute / audio time); baseline: each window's whole "
          "front end recomputed (offline path). Each row is the round with the median streaming real-time factor; "
          "the last column is that factor's range over all rounds")
    print(f"{'model':>9} {'dtype':>6} {'hop':>6} {'windows':>8} {'offline med/p95':>16} {'stream med/p95':>15} {'speed-up':>9} {'rtf off/stream':>15} {'rtf range':>12}")
    for model in dict.fromkeys(r.get("model", "ast-base") for r in stream):
        for dtype in dict.fromkeys(r.get("dtype", "fp32") for r in stream):
            for hop in dict.fromkeys(r["hop_s"] for r in stream):
                pick = [r for r in stream if r["hop_s"] == hop and r.get("dtype", "fp32") == dtype
                        and r.get("model", "ast-base") == model]
                pairs = []
                for rnd in dict.fromkeys(r.get("round", 1) for r in pick):
                    o = next((r for r in pick if r["mode"] == "offline" and r.get("round", 1) == rnd), None)
                    s = next((r for r in pick if r["mode"] == "stream" and r.get("round", 1) == rnd), None)
                    if o and s:
                        pairs.append((o, s))
                if not pairs:
                    continue
                pairs.sort(key=lambda p: p[1]["rtf"])
                o, s = pairs[(len(pairs) - 1) // 2]
                lo, hi = pairs[0][1]["rtf"], pairs[-1][1]["rtf"]
                print(f"{model:>9} {dtype:>6} {hop:>5.2f}s {s['windows']:>8} {o['median_ms']:>7.1f} /{o['p95_ms']:>7.1f} {s['median_ms']:>6.1f} /{s['p95_ms']:>7.1f} "
                      f"{o['median_ms'] / s['median_ms']:>8.2f}x {o['rtf']:>7.3f} /{s['rtf']:>6.3f} {lo:>5.2f}-{hi:<5.2f}")
    print("  goals (issue 6, 0.25 s hop): AST-base p95 < 250 ms and real-time factor < 0.5; the bundled backbone under 20 ms")

dist = [r for r in rows if "dist" in r]
if dist:
    print("\ndata-parallel training (c10d Gloo, 127.0.0.1), AST-base, global batch 8; baseline: one process "
          "at batch 8 with every core. steps/s from the epoch's samples/s; all-reduce per optimizer step on "
          "each process")
    print(f"{'method':>8} {'trainable':>10} {'steps/s 1p':>11} {'steps/s 2p':>11} {'2p/1p':>6} "
          f"{'all-reduce/step':>16} {'ms/step':>8} {'of step':>8}")
    for method in dict.fromkeys(r["dist"] for r in dist):
        def last(world, event):
            pick = [r for r in dist if r["dist"] == method and r["processes"] == world and r["event"] == event]
            return pick[-1] if pick else None
        s1, s2, f2, imp = last(1, "step"), last(2, "step"), last(2, "finished"), last(1, "import")
        if not (s1 and s2 and f2):
            continue
        r1, r2 = s1["samples_per_second"] / 8, s2["samples_per_second"] / 8
        ar = f2.get("all_reduce", {})
        count = max(1, ar.get("count", 0))
        kb = ar.get("bytes", 0) / count / 1024
        ms = 1000 * ar.get("seconds", 0) / count
        trainable = imp["parameters"]["trainable"] if imp else 0
        print(f"{method:>8} {trainable:>10} {r1:>11.3f} {r2:>11.3f} {r2 / r1:>5.2f}x {kb:>13.1f} KB {ms:>8.1f} "
              f"{100 * ms / 1000 * r2:>7.1f}%")
    print("  informational on a 2-core machine (two processes share its cores); the scaling goal, >= 0.9 of "
          "linear per added GPU, is for multi-GPU machines (NCCL)")

transfer = [r for r in rows if r.get("bench") == "transfer"]
if transfer:
    print("\ntransfer (tools/transfer.sh): best validation accuracy after the same steps on held-out tasks; "
          "baseline: the same architecture randomly initialised")
    print(f"{'task':>15} {'clips/class':>11} {'method':>8} {'trainable':>10} {'bundled':>8} {'random':>8} {'gain':>7} {'seconds b/r':>12}")
    for task in dict.fromkeys(r["task"] for r in transfer):
        for shots in dict.fromkeys(r["shots"] for r in transfer):
            for method in dict.fromkeys(r["method"] for r in transfer):
                pick = [r for r in transfer if (r["task"], r["shots"], r["method"]) == (task, shots, method)]
                b = next((r for r in pick if r["init"] == "bundled"), None)
                r0 = next((r for r in pick if r["init"] == "random"), None)
                if b and r0:
                    lo, hi = b["train_per_class"]
                    label = (str(lo) if lo == hi else f"{lo}-{hi}") + (" (all)" if shots == "all" else "")
                    print(f"{task:>15} {label:>11} {method:>8} {b['trainable_parameters']:>10} {b['best_val_accuracy']:>8.3f} "
                          f"{r0['best_val_accuracy']:>8.3f} {b['best_val_accuracy'] - r0['best_val_accuracy']:>+7.3f} "
                          f"{b['seconds']:>5.0f} /{r0['seconds']:>4.0f}")
PY
echo "raw results: $results"
