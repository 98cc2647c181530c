#!/usr/bin/env bash
# Installs what pgpulse needs on Debian 12 (build tools, libraries, PostgreSQL 15, Prometheus'
# promtool for the tests) and builds it into build/. Safe to run again: apt-get runs only when a
# package is missing.
#
#   scripts/setup.sh            release build in build/
#   scripts/setup.sh --deps-only   only the packages (the Dockerfile's cached layer)
#   BUILD_DIR=build-asan CMAKE_ARGS="-DPGPULSE_SANITIZE=address" scripts/setup.sh
#   SETUP_TEST_TOOLS=0 scripts/setup.sh   without PostgreSQL and Prometheus (the image build)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl
  libpq-dev prometheus-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev
  libboost-dev libboost-system-dev catch2 libssl-dev libcrypt-dev openssl zlib1g-dev help2man
)
[ "${SETUP_TEST_TOOLS:-1}" = 0 ] || PACKAGES+=(postgresql-15 prometheus)
read -r -a extra_packages <<<"${EXTRA_PACKAGES:-}"
PACKAGES+=("${extra_packages[@]}")

# shellcheck source=scripts/lib/packages.sh
. scripts/lib/packages.sh
ensure_packages "${PACKAGES[@]}"
[ "${1:-}" = --deps-only ] && exit 0

BUILD_DIR=${BUILD_DIR:-build}
echo "==> building in $BUILD_DIR"
read -r -a cmake_args <<<"${CMAKE_ARGS:-}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "${cmake_args[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "==> built $BUILD_DIR/pgpulse"
