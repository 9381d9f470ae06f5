#!/usr/bin/env bash
# Builds a libFuzzer target for a format reader with Debian's clang (the reader's sources
# instrumented with ASan/UBSan and coverage, the rest linked from the GCC-built libforge.a) and
# fuzzes it for SECONDS (default 30), starting from the committed seed corpus
# tools/fuzz/corpus/TARGET. New interesting inputs go to BUILD_DIR/fuzz/corpus-TARGET (the
# committed corpus stays small; copy crashers or useful seeds there by hand).
#   bash tools/fuzz/run_fuzz.sh gguf|safetensors [SECONDS] [BUILD_DIR (default build)]
# Exit status: 0 when no input broke the contract, non-zero with the crashing input saved as
# BUILD_DIR/fuzz/crash-* otherwise. ctest runs it for a few seconds (tests/CMakeLists.txt).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${1:?usage: run_fuzz.sh gguf|safetensors [SECONDS] [BUILD_DIR]}"
seconds="${2:-30}"
build="$(cd "${3:-$root/build}" && pwd)"
case "$target" in
  # src/formats/ stays out of libforge.a's unity batches (CMakeLists.txt, FORGE_UNITY_DIRS).
  gguf) sources=(src/formats/gguf.cpp) ;;
  safetensors) sources=(src/formats/safetensors.cpp src/formats/safetensors_sharded.cpp) ;;
  *) echo "unknown fuzz target '$target' (gguf or safetensors)" >&2; exit 2 ;;
esac
command -v clang++ >/dev/null || { echo "clang++ not found: apt-get install clang (scripts/setup.sh)" >&2; exit 1; }
test -f "$build/libforge.a" || { echo "$build/libforge.a is missing: build first (bash scripts/build.sh)" >&2; exit 1; }
out="$build/fuzz"
mkdir -p "$out/corpus-$target" "$out/obj-$target"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fopenmp=libgomp
       -I"$root/src" -mavx2 -mfma -mf16c)
objs=()
for src in "${sources[@]}" "tools/fuzz/${target}_fuzz.cpp"; do
  obj="$out/obj-$target/$(basename "$src" .cpp).o"
  # Recompile only when the source or a header it may include changed.
  if [[ ! -f "$obj" || -n "$(find "$root/$src" "$root/src/formats" "$root/tools/fuzz" -newer "$obj" -print -quit)" ]]; then
    clang++ "${flags[@]}" -c "$root/$src" -o "$obj"
  fi
  objs+=("$obj")
done
clang++ "${flags[@]}" "${objs[@]}" "$build/libforge.a" -lfmt -ldnnl -lz -lgomp -o "$out/${target}_fuzz"
dict=()
[[ -f "$root/tools/fuzz/$target.dict" ]] && dict=(-dict="$root/tools/fuzz/$target.dict")
cd "$out"
"$out/${target}_fuzz" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
  "${dict[@]}" "$out/corpus-$target" "$root/tools/fuzz/corpus/$target"
