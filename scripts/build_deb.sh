#!/usr/bin/env bash
# Builds the Debian package as a release: its own build directory, dpkg-buildflags' hardening
# flags (PGPULSE_DPKG_BUILDFLAGS), no tests, then cpack. Prints the path of the .deb.
#
#   scripts/build_deb.sh                 build-deb/pgpulse_<version>_<arch>.deb
#   DEB_BUILD_DIR=dir DEB_OUT_DIR=out scripts/build_deb.sh
#   PGPULSE_PACKAGE_MAINTAINER="Name <address>" scripts/build_deb.sh   (else $DEBFULLNAME/$DEBEMAIL)
#   DEB_FROM_BUILD=build scripts/build_deb.sh   packages an existing build directory configured
#                        with -DPGPULSE_DPKG_BUILDFLAGS=ON (scripts/test.sh's: one compile less)
#
# Compiles with `nice` and at most 2 jobs (JOBS overrides); ccache when installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib/packages.sh
. scripts/lib/packages.sh
ensure_packages dpkg-dev help2man zlib1g-dev

if [ -n "${DEB_FROM_BUILD:-}" ]; then
  # The tests' build is the release build: same build type and hardening flags, and cpack
  # installs only pgpulse and its files (the tests have no install rules).
  cache="$DEB_FROM_BUILD/CMakeCache.txt"
  grep -q '^PGPULSE_DPKG_BUILDFLAGS:BOOL=ON$' "$cache" 2>/dev/null || {
    echo "build_deb.sh: $DEB_FROM_BUILD is not configured with -DPGPULSE_DPKG_BUILDFLAGS=ON" >&2
    exit 1
  }
  grep -q '^CMAKE_BUILD_TYPE:STRING=RelWithDebInfo$' "$cache" || {
    echo "build_deb.sh: $DEB_FROM_BUILD is not a RelWithDebInfo build" >&2
    exit 1
  }
  out=$(realpath -m "${DEB_OUT_DIR:-$DEB_FROM_BUILD}")
  mkdir -p "$out"
  rm -f "$out"/pgpulse_*.deb
  cmake --build "$DEB_FROM_BUILD" -j"${JOBS:-2}" >&2
  (cd "$DEB_FROM_BUILD" && cpack -G DEB -B "$out") >&2
  ls "$out"/pgpulse_*.deb
  exit 0
fi

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
