#!/usr/bin/env bash
# Builds the libFuzzer GGUF target with Debian's clang (the parser instrumented with ASan/UBSan
# and coverage, linked against the Release libforge.a) and fuzzes for SECONDS (default 30)
# starting from tools/fuzz/corpus/gguf. New interesting inputs go to build/fuzz/corpus (the
# committed corpus stays small; copy crashers or useful seeds there by hand).
#   bash tools/fuzz/run_gguf_fuzz.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-30}"
out="$root/build/fuzz"
mkdir -p "$out/corpus"
test -f "$root/build/libforge.a" || { echo "build first: bash scripts/build.sh" >&2; exit 1; }
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fopenmp=libgomp
       -I"$root/src" -mavx2 -mfma -mf16c)
clang++ "${flags[@]}" -c "$root/src/formats/gguf.cpp" -o "$out/gguf.o"
clang++ "${flags[@]}" -c "$root/tools/fuzz/gguf_fuzz.cpp" -o "$out/gguf_fuzz.o"
clang++ "${flags[@]}" "$out/gguf_fuzz.o" "$out/gguf.o" "$root/build/libforge.a" -lfmt -ldnnl -lz -lgomp \
  -o "$out/gguf_fuzz"
"$out/gguf_fuzz" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 "$out/corpus" \
  "$root/tools/fuzz/corpus/gguf"
