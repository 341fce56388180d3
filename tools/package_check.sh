#!/usr/bin/env bash
# Builds the Debian package in BUILD_DIR (cpack -G DEB), checks its contents, installs it on
# this machine (apt-get, with sudo when not root) and tries the installed programs with a
# temporary HOME, away from the checkout:
#   astpeft --version
#   astpeft train --demo --epochs 1 --out TMP/run          (the bundled demo and backbone)
#   QT_QPA_PLATFORM=offscreen astpeft-studio --demo --quit-after 3000
# Any failure stops the script with "package_check: FAILED: ..." and a non-zero status. The
# package is removed again at the end unless it was installed before (or ASTPEFT_KEEP_PACKAGE=1).
#
# The package must hold the bundled backbone (resources/backbone) and the demo data; both demo
# runs use the installed copies.
# Usage: tools/package_check.sh BUILD_DIR   (a configured and built build folder)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: tools/package_check.sh BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
fail() { echo "package_check: FAILED: $*" >&2; exit 1; }
step() { echo "== package_check: $*"; }

step "building the packaged targets in $build"
# cpack packages what is built; make sure that is current.
cmake --build "$build" --target astpeft astpeft-studio manpages || fail "build"

step "cpack -G DEB in $build"
rm -f "$build"/astpeft_*.deb
(cd "$build" && cpack -G DEB) || fail "cpack -G DEB"
debs=("$build"/astpeft_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one astpeft_*.deb in $build"
deb=${debs[0]}

step "contents of $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb -I "$deb"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/astpeft ./usr/bin/astpeft-studio \
  ./usr/share/applications/astpeft-studio.desktop \
  ./usr/share/icons/hicolor/scalable/apps/astpeft-studio.svg \
  ./usr/share/metainfo/org.astpeft.Studio.metainfo.xml \
  ./usr/share/man/man1/astpeft.1.gz ./usr/share/man/man1/astpeft-studio.1.gz \
  ./usr/share/doc/astpeft/copyright ./usr/share/astpeft/demo/README.md; do
  grep -qxF "$path" <<<"$contents" || fail "the package lacks $path"
done
clips=$(grep -c '^\./usr/share/astpeft/demo/.*\.flac$' <<<"$contents" || true)
[ "$clips" -eq 352 ] || fail "the package holds $clips demo clips, not 352"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libtorch libqt6widgets6 libsndfile1 libopenblas0-pthread libqt6svg6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
grep -qxF ./usr/share/astpeft/backbone/config.json <<<"$contents" \
  && grep -qxF ./usr/share/astpeft/backbone/model.safetensors <<<"$contents" \
  || fail "the package has no bundled backbone (resources/backbone when cpack ran)"

was_installed=0
dpkg-query -W -f='${Status}' astpeft 2>/dev/null | grep -q "install ok installed" && was_installed=1
step "apt-get install $deb"
# No recommends: they may need the network; the dependencies come from the distribution.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "$deb" \
  || fail "apt-get install $deb"

tmp=$(mktemp -d)
cleanup() {
  cd /
  rm -rf "$tmp"
  if [ "$was_installed" = 0 ] && [ "${ASTPEFT_KEEP_PACKAGE:-0}" != 1 ]; then
    step "apt-get remove astpeft"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get remove -y -qq astpeft >/dev/null \
      || echo "package_check: could not remove the package astpeft" >&2
  fi
}
trap cleanup EXIT
# A fresh user, away from the checkout, so that only installed files can be found.
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CACHE_HOME="$tmp/home/.cache"
export XDG_CONFIG_HOME="$tmp/home/.config"
unset ASTPEFT_RESOURCE_DIR
mkdir -p "$HOME"
cd "$tmp"
astpeft=/usr/bin/astpeft
studio=/usr/bin/astpeft-studio

step "astpeft --version"
version=$("$astpeft" --version) || fail "astpeft --version"
echo "$version"
grep -q "^astpeft $(dpkg-deb -f "$deb" Version)" <<<"$version" || fail "version is not the package's"
if command -v man >/dev/null; then
  man -l /usr/share/man/man1/astpeft.1.gz >/dev/null 2>&1 || fail "man -l astpeft.1.gz"
fi

step "astpeft train --demo --epochs 1"
"$astpeft" train --demo --epochs 1 --out "$tmp/run" || fail "astpeft train --demo"
[ -f "$tmp/run/adapter_model.safetensors" ] || fail "no adapter in $tmp/run"
demo=/usr/share/astpeft/demo
grep -qF "\"$demo\"" "$tmp/run/options.json" \
  || fail "the run did not use the installed demo data $demo: $(cat "$tmp/run/options.json")"
grep -q '/usr/share/astpeft/backbone' "$tmp/run/options.json" \
  || fail "the run did not use the installed backbone"

step "astpeft-studio --demo --quit-after 3000 (offscreen)"
QT_QPA_PLATFORM=offscreen "$studio" --demo --quit-after 3000 2>"$tmp/studio.err" \
  || { tail -20 "$tmp/studio.err" >&2; fail "astpeft-studio --demo"; }
project="$XDG_DATA_HOME/astpeft/demo-project/project.json"
[ -f "$project" ] || fail "no demo project in $project"
grep -q '"_background_"' "$project" || fail "the demo project lacks the demo classes"

step "OK: $(basename "$deb")"
