#!/usr/bin/env bash
# Installs the Debian 12 packages that Forge's build, tests and examples need. Idempotent: when
# everything is installed it changes nothing (and does not touch apt at all).
#
#   bash scripts/setup.sh         # build + test + demo dependencies
#   bash scripts/setup.sh --dev   # also python3-torch and numpy (~1 GB with dependencies), used
#                                 # only to regenerate the PyTorch goldens in tests/golden/data/
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
)
dev_packages=(python3-torch python3-numpy)

for arg in "$@"; do
  case "$arg" in
    --dev) packages+=("${dev_packages[@]}") ;;
    -h | --help)
      sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
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
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages are installed"
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
echo "setup: done"
