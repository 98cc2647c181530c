#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into build-fuzz/ and runs
# each for a bounded time, starting from the seed corpus committed in tests/fuzz/corpus/<target>.
# A crash, a failed property, a leak or a slow input fails the run and leaves the input in
# build-fuzz/artifacts/ (reproduce: build-fuzz/tests/fuzz/fuzz_<target> <file>).
#
#   scripts/test_fuzz.sh                       every target for FUZZ_SECONDS (45) each
#   FUZZ_SECONDS=600 scripts/test_fuzz.sh dsn  one target, longer
#   FUZZ_BUILD_ONLY=1 scripts/test_fuzz.sh      only build them (scripts/test.sh, in the background)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-45}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=("$@")
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(config dsn exposition web_config basic_auth)

# What the fuzz build needs: clang with its runtime (libFuzzer, sanitizers) and the libraries
# of the code under test (the same as scripts/setup.sh installs).
PACKAGES=(
  clang libclang-rt-14-dev cmake pkg-config
  libpq-dev prometheus-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev
  libboost-dev libboost-system-dev catch2 libssl-dev libcrypt-dev
)
# shellcheck source=scripts/lib/packages.sh
. scripts/lib/packages.sh
ensure_packages "${PACKAGES[@]}"

started=$SECONDS
echo "==> building the fuzz targets in $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++ -DPGPULSE_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${TARGETS[@]/#/fuzz_}"
echo "==> built in $((SECONDS - started))s"
[ -z "${FUZZ_BUILD_ONLY:-}" ] || exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$BUILD_DIR/artifacts"
failed=()
for target in "${TARGETS[@]}"; do
  seeds="tests/fuzz/corpus/$target"
  corpus="$BUILD_DIR/corpus/$target"  # grows run after run; the seeds stay as committed
  mkdir -p "$corpus"
  echo "==> fuzz_$target for ${FUZZ_SECONDS}s"
  if "$BUILD_DIR/tests/fuzz/fuzz_$target" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
      -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$BUILD_DIR/artifacts/$target-" "$corpus" "$seeds" \
      >"$BUILD_DIR/fuzz_$target.log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$BUILD_DIR/fuzz_$target.log" |
      tr '\n' ' '
    echo "corpus $(find "$corpus" -type f | wc -l) inputs"
  else
    echo "!! fuzz_$target failed; the end of its log:"
    tail -40 "$BUILD_DIR/fuzz_$target.log"
    ls "$BUILD_DIR"/artifacts/"$target"-* 2>/dev/null || true
    failed+=("$target")
  fi
done
echo "==> fuzzing took $((SECONDS - started))s"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]}" >&2
  exit 1
fi
echo "==> all fuzz targets passed"
