#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer over core: configures BUILD_DIR (default
# build-sanitize) with GCC and -DASTPEFT_SANITIZE=ON (no studio, no benchmarks; jemalloc left
# out), builds the CLI and the unit-tier tests (`ctest -L unit`) and runs them. Any report
# fails the run: UBSan stops at the first finding (-fno-sanitize-recover), ASan and
# LeakSanitizer always do. The suppressions in tools/sanitize/ cover third-party code only;
# each says why.
#
#   tools/sanitize.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-sanitize}
jobs=${ASTPEFT_JOBS:-$(nproc)}

# -O1 -g1: line numbers in the reports; quicker to build than -O3, and the time the tests
# spend is mostly in libtorch's (uninstrumented) kernels anyway.
CC=gcc CXX=g++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1 -DNDEBUG" -DASTPEFT_SANITIZE=ON -DASTPEFT_BUILD_STUDIO=OFF \
  -DASTPEFT_BUILD_BENCH=OFF > /dev/null
mapfile -t tests < <(ctest --test-dir "$build" -N -L unit | sed -n 's/^ *Test *#[0-9]*: //p')
if [ "${#tests[@]}" -eq 0 ]; then
  echo "sanitize.sh: no unit-tier tests in $build" >&2
  exit 1
fi
cmake --build "$build" -j "$jobs" --target astpeft "${tests[@]}"

supp=$root/tools/sanitize
# allocator_may_return_null: an allocation too large to serve fails as it would without ASan
# (std::bad_alloc, or c10's out-of-memory error), which core and the tests handle (tst_runtime
# asks for 4 PiB on purpose); by default ASan would abort the process instead.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
ctest --test-dir "$build" -L unit -j "$((jobs + 1))" --output-on-failure
