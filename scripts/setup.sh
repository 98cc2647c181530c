#!/usr/bin/env bash
# Installs what pgpulse needs on Debian 12 (build tools, libraries, PostgreSQL 15, Prometheus'
# promtool for the tests) and builds it into build/. Safe to run again: apt-get runs only when a
# package is missing.
#
#   scripts/setup.sh            release build in build/
#   BUILD_DIR=build-asan CMAKE_ARGS="-DPGPULSE_SANITIZE=address" scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates curl
  libpq-dev prometheus-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev
  libboost-dev libboost-system-dev catch2 libssl-dev libcrypt-dev openssl
  postgresql-15 prometheus
)
read -r -a extra_packages <<<"${EXTRA_PACKAGES:-}"
PACKAGES+=("${extra_packages[@]}")

# shellcheck source=scripts/lib/packages.sh
. scripts/lib/packages.sh
ensure_packages "${PACKAGES[@]}"

BUILD_DIR=${BUILD_DIR:-build}
echo "==> building in $BUILD_DIR"
read -r -a cmake_args <<<"${CMAKE_ARGS:-}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "${cmake_args[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "==> built $BUILD_DIR/pgpulse"
