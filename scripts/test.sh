#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite twice: the Release build, then a build with
# AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --test

jobs=${FORGE_JOBS:-$(nproc)}
summaries=()
failed=0

# run_suite PRESET: builds and runs ctest for one preset, remembering ctest's summary line.
run_suite() {
  local preset=$1 log
  log=$(mktemp)
  bash scripts/build.sh "$preset"
  echo "test: ctest --preset $preset -j $jobs"
  if ! ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log"; then failed=1; fi  # pipefail: ctest's status
  summaries+=("$preset: $(grep -E '[0-9]+% tests passed' "$log" | tail -n 1)")
  rm -f "$log"
}

run_suite default
# gtest_discover_tests runs each test binary at build time, so the sanitizer options must be set
# for the build as well as for ctest (the asan preset sets them for both).
run_suite asan

echo
echo "== test summary"
for line in "${summaries[@]}"; do echo "$line"; done
exit $failed
