#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures how well a backbone transfers to audio it never heard: each task trained with each
# method and shot setting on BACKBONE and on a randomly initialised backbone of the same
# architecture, same recipe, seed and steps; the gain is what the pretraining is worth.
#
#   tools/transfer.sh BACKBONE [OUT_DIR] [--threads N]
#
# Tasks (TRANSFER_TASKS, default "flite-keywords wesnoth-sounds demo"):
#   flite-keywords  ten Speech Commands words spoken by flite, an engine the pretraining never
#                   used; trained on three clustergen voices, validated on the diphone voice
#                   kal16 (tools/make_transfer_tasks.py)
#   wesnoth-sounds  Battle for Wesnoth's recorded game sounds in six coarse classes, split by
#                   source (tools/make_transfer_tasks.py)
#   demo            resources/demo (ten words in held-out espeak-ng voices, and background),
#                   a quarter of each class for validation (--val-fraction 0.25)
# The first two are generated into OUT_DIR/tasks by tools/make_transfer_tasks.py when missing
# (TRANSFER_TASK_SEED, default 19).
# Methods (TRANSFER_METHODS, default "adapter lora linear"): each with its default knobs and
# learning rate (`astpeft methods`); adapter is the conformer adapter.
# Shots (TRANSFER_SHOTS, default "4 8 all"): K training clips per class (--few-shot K, seeded)
# or all of them.
# Recipe: TRANSFER_EPOCHS (12) epochs of batch TRANSFER_BATCH (8), seed TRANSFER_SEED (1),
# clips padded to the backbone's max_length; the score is the best validation accuracy of the
# run (the `finished` event of `astpeft train --json`).
# The random backbone: `astpeft init-model --seed 1` with BACKBONE's config.json (hidden size,
# layers, heads, FFN, strides, max_length; its head kind and labels too, although training
# replaces the head), checked to have the same number of backbone parameters.
#
# Output: OUT_DIR/transfer.md (a markdown table: task, clips/class, method, trainable
# parameters, bundled and random accuracy, gain, seconds) and OUT_DIR/transfer.jsonl (one line
# per run), for this configuration. Resumable and cheap to rerun: each finished run's result is
# kept in OUT_DIR/results/, keyed by task, shots, method, recipe and hashes of the task's and
# the backbone's files, and not run again; an interrupted run starts over. Delete
# OUT_DIR/tasks to remake the tasks (another TRANSFER_TASK_SEED). OUT_DIR defaults to
# BUILD_DIR/transfer.
# Env: ASTPEFT_BUILD_DIR (the build with app/astpeft; default ./build of the source tree),
# ASTPEFT_THREADS or THREADS (threads per run, default nproc; --threads overrides).
# Needs python3 with numpy, and for the generated tasks flite, sox and wesnoth-1.16-data.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage() {
  sed -n 's|^#   \(tools/transfer.sh .*\)|usage: \1|p' "$0" >&2
  exit 2
}
threads=${ASTPEFT_THREADS:-${THREADS:-$(nproc)}}
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --threads) [ $# -ge 2 ] || usage; threads=$2; shift 2 ;;
    --threads=*) threads=${1#--threads=}; shift ;;
    -h | --help) usage ;;
    -*) echo "transfer.sh: unknown option $1" >&2; usage ;;
    *) positional+=("$1"); shift ;;
  esac
done
if [ ${#positional[@]} -lt 1 ] || [ ${#positional[@]} -gt 2 ]; then usage; fi
if [ ! -d "${positional[0]}" ]; then
  echo "transfer.sh: no backbone folder ${positional[0]}" >&2
  exit 1
fi
backbone=$(cd "${positional[0]}" && pwd)
build=${ASTPEFT_BUILD_DIR:-$root/build}
out=${positional[1]:-$build/transfer}
cli="$build/app/astpeft"
py=python3
[ -x "$cli" ] || { echo "transfer.sh: $cli is not built (ASTPEFT_BUILD_DIR)" >&2; exit 1; }
[ -f "$backbone/config.json" ] || { echo "transfer.sh: $backbone has no config.json" >&2; exit 1; }
mkdir -p "$out/results" "$out/runs"
out=$(cd "$out" && pwd)

tasks=${TRANSFER_TASKS:-flite-keywords wesnoth-sounds demo}
methods=${TRANSFER_METHODS:-adapter lora linear}
shot_list=${TRANSFER_SHOTS:-4 8 all}
epochs=${TRANSFER_EPOCHS:-12}
batch=${TRANSFER_BATCH:-8}
seed=${TRANSFER_SEED:-1}
recipe="e${epochs}-b${batch}-s${seed}"
recipe_text="$epochs epochs of batch $batch, seed $seed, --max-length from config.json"

# The short hash that names a backbone's results: its weights and config.
fingerprint() {
  cat "$1/config.json" "$1/model.safetensors" | sha256sum | cut -c1-12
}
# ... and a task's: every file of it (names and contents).
data_fingerprint() {
  (cd "$1" && find . -type f ! -name '*.md' ! -name '*.txt' -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum) | sha256sum | cut -c1-8
}

# init-model's arguments for a random backbone of BACKBONE's architecture (one per line).
arch_args=$("$py" - "$backbone" <<'PY'
import json, struct, sys
d = sys.argv[1]
c = json.load(open(f"{d}/config.json"))
for key, want in (("num_mel_bins", 128), ("patch_size", 16)):
    if c.get(key, want) != want:
        sys.exit(f"transfer.sh: {key} {c[key]} in {d}/config.json; init-model makes only {want}")
args = ["--preset", "small", "--hidden", c["hidden_size"], "--layers", c["num_hidden_layers"],
        "--heads", c["num_attention_heads"], "--ffn", c["intermediate_size"],
        "--stride", f"{c.get('frequency_stride', 10)},{c.get('time_stride', 10)}",
        "--max-length", c.get("max_length", 1024), "--seed", 1]
with open(f"{d}/model.safetensors", "rb") as f:
    names = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
# The head as core/model/checkpoint.cpp tells it: classifier.dense without classifier.layernorm
# is the paper's mean-over-tokens head, with it Hugging Face's.
if "classifier.dense.weight" in names:
    labels = [c["id2label"][str(i)] for i in range(len(c["id2label"]))]
    args += ["--labels", ",".join(labels),
             "--head", "hf" if "classifier.layernorm.weight" in names else "mean-tokens"]
print("\n".join(str(a) for a in args))
PY
)
mapfile -t init_args <<<"$arch_args"
max_length=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("max_length", 1024))' \
  "$backbone/config.json")
random="$out/random-$(printf '%s\n' "${init_args[@]}" | sha256sum | cut -c1-12)"
if [ ! -f "$random/model.safetensors" ]; then
  rm -rf "$random"
  "$cli" init-model "${init_args[@]}" --out "$random" >/dev/null
fi
params() {
  "$cli" info "$1" --json | "$py" -c 'import json, sys; print(json.load(sys.stdin)["backbone_parameters"])'
}
if [ "$(params "$backbone")" != "$(params "$random")" ]; then
  echo "transfer.sh: the random backbone $random does not have $backbone's parameter count" >&2
  exit 1
fi
declare -A fp=([bundled]=$(fingerprint "$backbone") [random]=$(fingerprint "$random"))

# The generated tasks, made once.
need=()
for task in $tasks; do
  case $task in
    demo) ;;
    flite-keywords | wesnoth-sounds) [ -f "$out/tasks/$task/manifest.csv" ] || need+=("$task") ;;
    *) echo "transfer.sh: unknown task $task (flite-keywords wesnoth-sounds demo)" >&2; exit 2 ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  echo "== making the transfer tasks ${need[*]} in $out/tasks"
  start=$SECONDS
  "$py" "$root/tools/make_transfer_tasks.py" "$out/tasks" --seed "${TRANSFER_TASK_SEED:-19}" \
    --tasks "$(IFS=,; echo "${need[*]}")" | sed 's/^/   /'
  echo "   ($((SECONDS - start)) s)"
fi

echo "== transfer: $backbone (${fp[bundled]}) against random (${fp[random]}), $recipe," \
  "threads $threads"
keys=()
for task in $tasks; do
  if [ "$task" = demo ]; then
    data=(--data "$root/resources/demo" --val-fraction 0.25)
    data_fp=$(data_fingerprint "$root/resources/demo")
  else
    data=(--data "$out/tasks/$task/manifest.csv")
    data_fp=$(data_fingerprint "$out/tasks/$task")
  fi
  for shots in $shot_list; do
    few=()
    [ "$shots" = all ] || few=(--few-shot "$shots")
    for method in $methods; do
      for init in bundled random; do
        model=$backbone
        [ "$init" = random ] && model=$random
        key="$task-$data_fp-$shots-$method-$recipe-${fp[$init]}"
        keys+=("$key:$init")
        result="$out/results/$key.json"
        if [ -s "$result" ]; then
          echo "   $task $shots $method $init: done before"
          continue
        fi
        echo "   $task $shots $method $init"
        run_dir="$out/runs/$key"
        rm -rf "$run_dir"
        "$cli" --threads "$threads" train --model "$model" "${data[@]}" "${few[@]}" \
          --method "$method" --epochs "$epochs" --batch-size "$batch" --seed "$seed" \
          --max-length "$max_length" --no-test --json --cache-dir "$out/cache" \
          --out "$run_dir" >"$run_dir.events"
        # The result: the finished event with what the run was, and its clips per class.
        "$py" - "$run_dir.events" "$task" "$shots" "$method" "$init" "$model" "${fp[$init]}" \
          "$epochs" "$batch" "$seed" >"$result.tmp" <<'PY'
import json, sys
events, task, shots, method, init, model, fp, epochs, batch, seed = sys.argv[1:]
lines = [json.loads(l) for l in open(events) if l.startswith("{")]
imp = next(e for e in lines if e.get("event") == "import")
fin = next(e for e in lines if e.get("event") == "finished")
train = [s.get("train", 0) for s in imp["splits"].values()]
val = [s.get("validation", 0) for s in imp["splits"].values()]
row = {"bench": "transfer", "task": task, "shots": shots, "method": method, "init": init,
       "backbone": model, "backbone_hash": fp, "epochs": int(epochs), "batch": int(batch),
       "seed": int(seed), "classes": len(imp["classes"]),
       "train_per_class": [min(train), max(train)],
       "validation_clips": sum(val)}
row.update({k: fin[k] for k in ("best_val_accuracy", "best_epoch", "trainable_parameters",
                                "seconds", "reason")})
print(json.dumps(row))
PY
        mv "$result.tmp" "$result"
      done
    done
  done
done

"$py" - "$out" "$backbone" "$random" "$recipe_text" "$threads" "${keys[@]}" <<'PY'
import json, os, sys
out, backbone, random, recipe, threads, *keys = sys.argv[1:]
rows = []
for k in keys:
    key = k.rsplit(":", 1)[0]
    rows.append(json.load(open(os.path.join(out, "results", key + ".json"))))
with open(os.path.join(out, "transfer.jsonl"), "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
lines = [f"Transfer of `{backbone}` against a random backbone of the same architecture "
         f"(`{random}`): best validation accuracy after the same training ({recipe}; "
         f"threads {threads}).", "",
         "| task | clips/class | method | trainable | bundled | random | gain | seconds b/r |",
         "|---|---|---|---:|---:|---:|---:|---:|"]
seen = []
for r in rows:
    if (r["task"], r["shots"], r["method"]) not in seen:
        seen.append((r["task"], r["shots"], r["method"]))
for task, shots, method in seen:
    pick = [r for r in rows if (r["task"], r["shots"], r["method"]) == (task, shots, method)]
    b = next(r for r in pick if r["init"] == "bundled")
    z = next(r for r in pick if r["init"] == "random")
    lo, hi = b["train_per_class"]
    n = str(lo) if lo == hi else f"{lo}-{hi}"
    clips = n if shots != "all" else f"{n} (all)"
    lines.append(f"| {task} | {clips} | {method} | {b['trainable_parameters']:,} | "
                 f"{b['best_val_accuracy']:.3f} | {z['best_val_accuracy']:.3f} | "
                 f"{b['best_val_accuracy'] - z['best_val_accuracy']:+.3f} | "
                 f"{b['seconds']:.0f} / {z['seconds']:.0f} |")
text = "\n".join(lines) + "\n"
open(os.path.join(out, "transfer.md"), "w").write(text)
print("\n" + text)
PY
echo "results: $out/transfer.md, $out/transfer.jsonl"
