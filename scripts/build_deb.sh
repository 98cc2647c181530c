#!/usr/bin/env bash
# Builds the Debian package as a release: its own build directory, dpkg-buildflags' hardening
# flags (PGPULSE_DPKG_BUILDFLAGS), no tests, then cpack. Prints the path of the .deb.
#
#   scripts/build_deb.sh                 build-deb/pgpulse_<version>_<arch>.deb
#   DEB_BUILD_DIR=dir DEB_OUT_DIR=out scripts/build_deb.sh
#   PGPULSE_PACKAGE_MAINTAINER="Name <address>" scripts/build_deb.sh   (else $DEBFULLNAME/$DEBEMAIL)
#
# Compiles with `nice` and at most 2 jobs (JOBS overrides); ccache when installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib/packages.sh
. scripts/lib/packages.sh
ensure_packages dpkg-dev help2man zlib1g-dev

dir=${DEB_BUILD_DIR:-build-deb}
out=${DEB_OUT_DIR:-$dir}
args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGPULSE_BUILD_TESTS=OFF -DPGPULSE_DPKG_BUILDFLAGS=ON)
command -v ccache >/dev/null 2>&1 && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
[ -n "${PGPULSE_PACKAGE_MAINTAINER:-}" ] &&
  args+=("-DPGPULSE_PACKAGE_MAINTAINER=$PGPULSE_PACKAGE_MAINTAINER")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cmake -S . -B "$dir" "${args[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
nice cmake --build "$dir" -j"${JOBS:-2}" >&2
out=$(realpath -m "$out")
mkdir -p "$out"
rm -f "$out"/pgpulse_*.deb
(cd "$dir" && cpack -G DEB -B "$out") >&2
ls "$out"/pgpulse_*.deb
