#!/usr/bin/env bash
# Configures and builds Forge with a CMake preset (see CMakePresets.json):
#   bash scripts/build.sh          # Release into build/  (warnings are errors)
#   bash scripts/build.sh asan     # address + undefined-behaviour sanitizers into build-asan/
# Extra arguments after the preset go to the configure step, e.g. -DFORGE_NATIVE=OFF. Warnings are
# errors in the default preset; the asan preset keeps them as warnings (sanitizers cause false ones).
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:-default}
shift || true
jobs=${FORGE_JOBS:-$(nproc)}
echo "build: cmake --preset $preset $*"
cmake --preset "$preset" "$@"
echo "build: cmake --build --preset $preset -j $jobs"
cmake --build --preset "$preset" -j "$jobs"
