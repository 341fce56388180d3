#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) into BUILD_DIR (default
# build-fuzz, or $ASTPEFT_FUZZ_BUILD) and runs each for SECONDS, one after another, from its
# committed seeds (tests/fuzz/corpus/TARGET, read only) plus what earlier runs found
# (BUILD_DIR/corpus/TARGET), with the target's dictionary (tests/fuzz/dict/TARGET.dict) when
# it has one. Prints per target the executions, exec/s and coverage (cov: edges,
# ft: features) reached. A crash, leak, sanitizer report, timeout (-timeout) or an allocation
# over the limits below stops that target; the script then goes on with the others, names each
# crasher file (reproduce: BUILD_DIR/fuzz_TARGET FILE) and exits 1.
#
#   tools/fuzz.sh SECONDS [TARGET...]     (targets: safetensors audio csv_layouts
#                                          adapter_config hub_response; default all)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:?usage: tools/fuzz.sh SECONDS [TARGET...]}
shift
build=${ASTPEFT_FUZZ_BUILD:-$root/build-fuzz}
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(safetensors audio csv_layouts adapter_config hub_response)
fi

# Inputs larger than real headers and manifests need (a safetensors header with a few tensors,
# a short clip, a manifest of some rows) only slow the search down.
declare -A max_len=([safetensors]=4096 [audio]=16384 [csv_layouts]=4096 [adapter_config]=8192
  [hub_response]=2048)

cxx=${CXX:-$(command -v clang++-14 || command -v clang++ || true)}
if [ -z "$cxx" ]; then
  echo "fuzz.sh: needs clang (apt-get install clang-14)" >&2
  exit 2
fi
CXX=$cxx cmake -S "$root/tests/fuzz" -B "$build" -G Ninja > /dev/null
cmake --build "$build" -j "${ASTPEFT_JOBS:-$(nproc)}" --target \
  "${targets[@]/#/fuzz_}"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Leaks inside third-party libraries, each with its reason.
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0
# The readers' scratch files (fuzz_support.h), in memory when /dev/shm is there.
ASTPEFT_FUZZ_SCRATCH=$(mktemp -d /dev/shm/astpeft-fuzz.XXXXXX 2> /dev/null || mktemp -d)
export ASTPEFT_FUZZ_SCRATCH
trap 'rm -rf "$ASTPEFT_FUZZ_SCRATCH"' EXIT
failed=0
for t in "${targets[@]}"; do
  len=${max_len[$t]:?unknown target $t}
  work=$build/corpus/$t
  crashes=$build/crashes
  log=$build/logs/$t.log
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  started=$build/logs/$t.started # crashers newer than this are this run's
  touch "$started"
  echo "fuzz_$t: ${seconds}s, -max_len=$len; log $log"
  dict=()
  if [ -f "$root/tests/fuzz/dict/$t.dict" ]; then
    dict=(-dict="$root/tests/fuzz/dict/$t.dict")
  fi
  rc=0
  # The RSS and single-allocation limits: an input of a few KB that makes a reader allocate
  # gigabytes is a finding too.
  "$build/fuzz_$t" -max_total_time="$seconds" -max_len="$len" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 -artifact_prefix="$crashes/$t-" \
    "${dict[@]}" "$work" "$root/tests/fuzz/corpus/$t" > "$log" 2>&1 || rc=$?
  stats=$(grep -aE '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "  ${runs:-?} runs, ${speed:-?} exec/s, ${stats:-no coverage line}"
  if [ "$rc" -ne 0 ]; then
    failed=1
    grep -aE '^==[0-9]+==ERROR|runtime error|^SUMMARY' "$log" | head -3 | sed 's/^/  /' || true
    find "$crashes" -name "$t-*" -newer "$started" | while read -r f; do
      echo "  crasher: $f (reproduce: $build/fuzz_$t $f)"
    done
    echo "  fuzz_$t FAILED (exit $rc)"
  fi
done
exit "$failed"
