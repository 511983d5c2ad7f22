#!/usr/bin/env bash
# Installs every Debian 12 package rethink needs to build, test and run. Idempotent: packages
# already present are skipped, so a second run does nothing (and needs no network).
#   scripts/install-deps.sh          build + run + test dependencies
#   scripts/install-deps.sh --torch  also python3-torch and python3-pil (fixture generation,
#                                    PyTorch benchmark, examples/torch: an external trainer)
#   scripts/install-deps.sh --screenshot  also chromium (scripts/screenshot.sh: a report's
#                                    index.html as a PNG, to look at what a reader sees)
set -euo pipefail

pkgs=(
  build-essential pkg-config meson ninja-build
  libopenblas-openmp-dev   # OpenBLAS built on OpenMP: the same runtime as oneDNN's
  libdnnl-dev              # oneDNN (convolutions)
  libsqlite3-dev sqlite3
  libturbojpeg0-dev zlib1g-dev
  libpng-dev               # PNG input (src/data/image.c; JPEG and PNG told apart by content)
  nettle-dev               # SHA-256 for dataset cards and data-subset hashes
  check                    # unit tests
  gnuplot-nox
  libcjson-dev libinih-dev libgsl-dev
  dataset-fashion-mnist    # the real raw material of the default datasets
  openmpi-bin libopenmpi-dev  # MPI ranks for rethink sweep under mpirun (optional at build)
  clang libclang-rt-14-dev libomp-14-dev  # libFuzzer harnesses (scripts/fuzz.sh, -Dfuzz=true)
  slurm-wlm munge          # tests/slurm_test.sh: a one-node Slurm cluster (skipped without)
)
for opt in "$@"; do
  case "$opt" in
    --torch) pkgs+=(python3-torch python3-pil) ;;
    --screenshot) pkgs+=(chromium) ;;
    *) echo "install-deps: unknown option $opt (--torch, --screenshot)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
