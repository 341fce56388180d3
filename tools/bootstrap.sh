#!/usr/bin/env bash
# One-command set-up on a fresh Debian 12 machine: installs the Debian packages the project
# needs (with sudo when not root), builds Release into $ASTPEFT_BUILD_DIR (default build/), then
#   demo   opens the studio on the demo project with the bundled backbone (astpeft-studio
#          --demo) when a display is available (DISPLAY or WAYLAND_DISPLAY), else trains the
#          demo headless (astpeft train --demo); without a bundled backbone yet
#          (resources/backbone), the CLI tour on a random backbone (tools/demo.sh)
#   test   runs the whole test suite through ctest
#   bench  runs the benchmarks (bench/run.sh; also installs python3-torch and torchaudio)
#   build  only builds
#   gpu LIBTORCH_DIR
#          builds everything (the studio too) against a CUDA libtorch 2.x into build-cuda/
#          ($ASTPEFT_BUILD_DIR), prints the libtorch, CUDA and cuDNN it found and the GPUs, and
#          runs `astpeft selfcheck --device cuda` (two training steps on the GPU, a forward
#          compared with the CPU). LIBTORCH_DIR: an unpacked pytorch.org libtorch (cxx11 ABI,
#          CUDA), or a pip wheel's torch.utils.cmake_prefix_path; default $LIBTORCH, else the
#          cmake prefix of python3's torch. Needs the CUDA toolkit it was built for (nvcc).
#   cpu-torch2 LIBTORCH_DIR
#          the same build against a CPU libtorch 2.x (PyPI's torch wheel) into build-torch2/,
#          without the studio, and runs its tests (what .ci/run does with torch 2.13)
set -euo pipefail
mode=${1:-demo}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$mode" in
  gpu) build=${ASTPEFT_BUILD_DIR:-$root/build-cuda} ;;
  cpu-torch2) build=${ASTPEFT_BUILD_DIR:-$root/build-torch2} ;;
  *) build=${ASTPEFT_BUILD_DIR:-$root/build} ;;
esac

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  libtorch-dev libopenblas0-pthread     # without the pthread OpenBLAS, matmul is ~35x slower
  libgloo-dev                           # data-parallel training: c10d's Gloo process group
  qt6-base-dev qt6-svg-dev libqcustomplot-dev portaudio19-dev libsndfile1-dev libsamplerate0-dev
  nlohmann-json3-dev libjemalloc-dev     # jemalloc: see bench/README.md, Training
  libcurl4-openssl-dev libssl-dev        # astpeft download: HTTPS, sha256 checks
  sox libsox-fmt-all espeak-ng           # tests and the demo synthesise their audio
  xvfb xauth                             # tools/screenshots.sh runs the studio under xvfb-run
)
case "$mode" in
  bench) packages+=(python3-torch python3-torchaudio python3-numpy) ;;
  demo|test|build|gpu|cpu-torch2) ;;
  *) echo "usage: tools/bootstrap.sh [demo|test|bench|build|gpu LIBTORCH_DIR|cpu-torch2 LIBTORCH_DIR]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

configure=(-DCMAKE_BUILD_TYPE=Release)
case "$mode" in
  gpu|cpu-torch2)
    libtorch=${2:-${LIBTORCH:-}}
    if [ -z "$libtorch" ]; then
      libtorch=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) || {
        echo "bootstrap.sh $mode: give LIBTORCH_DIR (an unpacked libtorch, or a pip wheel's" \
          "torch.utils.cmake_prefix_path)" >&2
        exit 2
      }
    fi
    config=$(find "$libtorch" -name TorchConfig.cmake -print -quit 2>/dev/null || true)
    if [ -z "$config" ]; then
      echo "bootstrap.sh $mode: no TorchConfig.cmake under $libtorch" >&2
      exit 2
    fi
    # The pre-C++11-ABI archives cannot link with Debian's C++ libraries (Qt, libsndfile...).
    if grep -rqs -- "_GLIBCXX_USE_CXX11_ABI=0" "$(dirname "$config")"; then
      echo "bootstrap.sh $mode: $libtorch uses the pre-C++11 ABI; download the cxx11 ABI" \
        "libtorch archive" >&2
      exit 2
    fi
    configure+=(-DCMAKE_PREFIX_PATH="$libtorch")
    if [ "$mode" = gpu ]; then
      nvcc=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
      [ -n "$nvcc" ] && configure+=(-DCMAKE_CUDA_COMPILER="$nvcc")
    else
      configure+=(-DASTPEFT_BUILD_STUDIO=OFF)
    fi
    ;;
esac

echo "== building Release in $build"
cmake -S "$root" -B "$build" -G Ninja "${configure[@]}"
cmake --build "$build" -j "$(nproc)"

# Spinning OpenMP workers fight OpenBLAS's pthreads over the cores; see bench/README.md.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
case "$mode" in
  demo)
    if [ ! -f "$root/resources/backbone/config.json" ]; then
      echo "== no bundled backbone in resources/backbone yet: the CLI tour on a random one"
      exec "$root/tools/demo.sh" "$build"
    elif [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
      echo "== astpeft-studio --demo (the demo project: press Ctrl+Enter to train)"
      exec "$build/app/astpeft-studio" --demo
    else
      run="$build/demo-runs/$(date +%Y%m%d-%H%M%S)"
      echo "== no display: astpeft train --demo --out $run"
      "$build/app/astpeft" train --demo --out "$run"
      echo "== try it: $build/app/astpeft predict $root/resources/backbone --adapter $run" \
        "$root/resources/demo/yes/en_f3_s135_p35.flac"
    fi
    ;;
  test)
    # In parallel: one test more than cores, since the live-audio tests mostly wait on a
    # real-time microphone. Tiers: ctest -L unit|cli|gui|quality (tests/CMakeLists.txt).
    ctest --test-dir "$build" --output-on-failure -j "$(($(nproc) + 1))"
    ;;
  cpu-torch2)
    # ASTPEFT_CTEST_EXCLUDE: a ctest -E regular expression of tests to leave out.
    ctest --test-dir "$build" --output-on-failure -j "$(nproc)" \
      ${ASTPEFT_CTEST_EXCLUDE:+-E "$ASTPEFT_CTEST_EXCLUDE"}
    ;;
  gpu)
    echo "== astpeft selfcheck --device cuda"
    "$build/app/astpeft" selfcheck --device "${ASTPEFT_DEVICE:-cuda}"
    ;;
  bench) "$root/bench/run.sh" "$build" ;;
  build) ;;
esac
