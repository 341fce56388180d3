#!/usr/bin/env bash
# The project's lint, as .ci/run runs it: clang-format (.clang-format) on every C++ source, and
# clang-tidy (.clang-tidy: naming, braces) on every source in BUILD_DIR's compile database that
# does not include torch (those precompile <torch/torch.h>; parsing torch's headers costs about
# 20 s a file, so the torch-using part of core is formatted but not tidied). --fix applies
# clang-tidy's fixes and reformats.
#
#   tools/lint.sh BUILD_DIR [--fix]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: tools/lint.sh BUILD_DIR [--fix]}
fix=${2:-}
cd "$root"

mapfile -t sources < <(git ls-files '*.cpp' '*.h' | grep -v '^tests/fixtures/')
if [ "$fix" = --fix ]; then
  clang-format -i "${sources[@]}"
else
  clang-format --dry-run -Werror "${sources[@]}"
fi

# Torch-free translation units of this checkout: not the build's generated moc files, not those
# that precompile torch, nor those that include torch or a core/internal header.
mapfile -t units < <(python3 - "$build/compile_commands.json" "$root" <<'PY'
import json, os, re, sys
db, root = sys.argv[1], sys.argv[2] + "/"
internal = root + "core/internal/"
torch = {os.path.relpath(os.path.join(d, f), internal)
         for d, _, files in os.walk(internal) for f in files}
include = re.compile(r'#include [<"]([^>"]+)[>"]')
for entry in json.load(open(db)):
    f = entry["file"]
    if not f.startswith(root) or "/build" in f[len(root) - 1:] or "cmake_pch" in entry["command"]:
        continue
    names = include.findall(open(f, encoding="utf-8").read())
    if any(n in torch or n.split("/")[0] in ("torch", "ATen", "c10") for n in names):
        continue
    print(f)
PY
)
echo "clang-tidy: ${#units[@]} torch-free sources"
args=(-p "$build" -quiet -j "$(nproc)")
[ "$fix" = --fix ] && args+=(-fix -format)
run-clang-tidy "${args[@]}" "${units[@]}" > "$build/clang-tidy.log" 2>&1 || {
  grep -E "error:|warning:" "$build/clang-tidy.log" | sort -u | head -50
  echo "tools/lint.sh: clang-tidy found problems (all of them in $build/clang-tidy.log)" >&2
  exit 1
}
echo "lint: clean"
