#!/usr/bin/env bash
# Side-by-side training throughput: rethink vs PyTorch on the identical reference model and
# step (batch 32, 64x64, SGD momentum 0.9, wd 1e-4), at 1 and 2 threads, in one run; then
# both in mixed precision (rethink --backend dnnl-bf16, PyTorch CPU autocast to bfloat16).
#   bench/compare.sh [--repeats R]      (default 3; the best of R runs is reported for each)
# Installs python3-torch if missing (Debian package; the product itself never needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=3
[[ "${1:-}" == "--repeats" ]] && repeats=$2
scripts/install-deps.sh --torch
[[ -d build ]] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

best() { # command... -> best img_per_s of $repeats runs (JSON last line)
  local b=0 v
  for ((i = 0; i < repeats; i++)); do
    v=$("$@" --json | tail -n1 | sed -E 's/.*"img_per_s": ([0-9.]+).*/\1/')
    b=$(awk -v a="$b" -v c="$v" 'BEGIN { print (c > a) ? c : a }')
  done
  echo "$b"
}

printf "%-8s %14s %14s %22s %8s %8s\n" threads "rethink img/s" "pytorch img/s" "pytorch NHWC img/s" ratio "vs NHWC"
for t in 1 2; do
  r=$(best ./build/rethink bench train --threads "$t")
  p=$(best /usr/bin/python3 bench/torch_train.py --threads "$t")
  q=$(best /usr/bin/python3 bench/torch_train.py --threads "$t" --channels-last)
  printf "%-8s %14.0f %14.0f %22.0f %7.2fx %7.2fx\n" "$t" "$r" "$p" "$q" \
    "$(awk -v a="$r" -v b="$p" 'BEGIN { print a / b }')" "$(awk -v a="$r" -v b="$q" 'BEGIN { print a / b }')"
done
echo
if ! why=$(./build/rethink bench train --steps 1 --warmup 0 --batch 4 --backend dnnl-bf16 2>&1 >/dev/null); then
  echo "bf16: left out, rethink cannot train in bf16 here: ${why#rethink bench train: }"
  exit 0
fi
printf "%-8s %19s %19s %24s %8s\n" threads "rethink bf16 img/s" "pytorch bf16 img/s" "pytorch NHWC bf16 img/s" ratio
for t in 1 2; do
  r=$(best ./build/rethink bench train --threads "$t" --backend dnnl-bf16)
  p=$(best /usr/bin/python3 bench/torch_train.py --threads "$t" --bf16)
  q=$(best /usr/bin/python3 bench/torch_train.py --threads "$t" --bf16 --channels-last)
  printf "%-8s %19.0f %19.0f %24.0f %7.2fx\n" "$t" "$r" "$p" "$q" \
    "$(awk -v a="$r" -v b="$p" -v c="$q" 'BEGIN { print a / (b > c ? b : c) }')"
done
