#!/usr/bin/env bash
# Builds the llama.cpp reference runtime for the side-by-side benchmarks of issue 6 (decode, prompt
# processing, peak memory) and issue 7 (4-slot server). Benchmarks only: not part of setup.sh/test.sh,
# and Forge never uses it at run time.
#
# Source: the PINNED llama-cpp-python sdist from PyPI (the issue names "llama-cpp-python builds it from
# source"); we only unpack its vendored llama.cpp and build the native tools with CMake:
#   llama-bench, llama-server, llama-cli, llama-simple
# into build-ref/llama.cpp/bin (gitignored through /build*/). Idempotent: does nothing when built.
#
# Usage: scripts/build_llamacpp.sh [-j N]      (default -j2: the dev machine has 2 shared cores)
# Env:   FORGE_REF_DIR  (default <repo>/build-ref)
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.16   # vendors llama.cpp with tools/llama-bench and tools/server; reads Q4_1
JOBS=2
while [[ $# -gt 0 ]]; do
    case "$1" in
        -j) JOBS="$2"; shift 2 ;;
        -j*) JOBS="${1#-j}"; shift ;;
        *) echo "usage: $0 [-j N]" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REF="${FORGE_REF_DIR:-$ROOT/build-ref}"
SRC="$REF/llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION"
OUT="$REF/llama.cpp"
BIN="$OUT/bin"
TARGETS=(llama-bench llama-server llama-cli llama-simple)

have_all() {
    for t in "${TARGETS[@]}"; do [[ -x "$BIN/$t" ]] || return 1; done
    [[ -f "$OUT/.version" && "$(cat "$OUT/.version")" == "$LLAMA_CPP_PYTHON_VERSION" ]]
}

if have_all; then
    echo "llama.cpp (llama-cpp-python $LLAMA_CPP_PYTHON_VERSION) already built in $BIN"
    exit 0
fi

mkdir -p "$REF"
if [[ ! -f "$SRC/vendor/llama.cpp/CMakeLists.txt" ]]; then
    dl="$REF/download"
    mkdir -p "$dl"
    sdist="$dl/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
    if [[ ! -f "$sdist" ]]; then
        echo "downloading llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (sdist) ..."
        python3 -m pip download --no-deps --no-binary :all: --no-build-isolation \
            "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$dl" >/dev/null 2>&1 ||
        python3 -m pip download --no-deps --no-binary :all: \
            "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$dl"
    fi
    rm -rf "$SRC.tmp"
    mkdir -p "$SRC.tmp"
    tar xzf "$sdist" -C "$SRC.tmp" --strip-components=1
    rm -rf "$SRC"
    mv "$SRC.tmp" "$SRC"
fi

echo "building llama.cpp from $SRC/vendor/llama.cpp with -j$JOBS ..."
cmake -S "$SRC/vendor/llama.cpp" -B "$OUT/cmake" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_EXAMPLES=ON \
    -DLLAMA_BUILD_TESTS=OFF \
    -DBUILD_SHARED_LIBS=OFF >/dev/null
ninja -C "$OUT/cmake" -j "$JOBS" "${TARGETS[@]}"
# llama.cpp puts executables in <build>/bin; static builds, so copies are self-contained.
mkdir -p "$BIN"
for t in "${TARGETS[@]}"; do cp -f "$OUT/cmake/bin/$t" "$BIN/$t"; done
echo "$LLAMA_CPP_PYTHON_VERSION" > "$OUT/.version"
have_all || { echo "error: build finished but binaries are missing in $BIN" >&2; exit 1; }
echo "llama.cpp binaries: $BIN (${TARGETS[*]})"
