#!/usr/bin/env bash
# Screenshots of every studio view, for the README and for reviewing the UI:
#   tools/screenshots.sh OUTDIR     (build folder: $ASTPEFT_BUILD_DIR, default build/)
# Copies the bundled demo dataset (resources/demo, plus one broken file for the import report)
# and runs astpeft-studio on the bundled backbone under xvfb-run with --screenshots: it imports
# the demo (the import summary is shot), shows the data and method views, trains a 10-epoch
# adapter run, and shoots the training view (light and dark), the runs view and the live view.
# Writes OUTDIR/{import-summary,data,method,train,train-dark,runs,live}.png.
# Needs xvfb-run (package xvfb; tools/bootstrap.sh installs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: tools/screenshots.sh OUTDIR}
build=${ASTPEFT_BUILD_DIR:-$root/build}
studio="$build/app/astpeft-studio"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
out=$(cd "$out" && pwd)

echo "== the demo dataset in $work"
cp -r "$root/resources/demo" "$work/words"
rm -f "$work/words/README.md"
printf 'RIFF-not-really-audio' > "$work/words/go/broken.wav"

echo "== astpeft-studio --screenshots $out"
# A private HOME: fresh settings, no recent projects, the feature cache in the temporary folder.
HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" OMP_WAIT_POLICY=PASSIVE JACK_NO_START_SERVER=1 \
  xvfb-run -a -s "-screen 0 1400x900x24" \
  "$studio" "$root/resources/backbone" --project "$work/project" --import "$work/words" \
  --screenshots "$out" --epochs 10 --theme light 2> "$work/studio.log" || { cat "$work/studio.log" >&2; exit 1; }
ls -l "$out"
