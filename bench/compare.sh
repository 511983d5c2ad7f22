#!/usr/bin/env bash
# Side-by-side training throughput: rethink vs PyTorch on the identical model and step (batch
# 32, 64x64, SGD momentum 0.9, wd 1e-4), per backbone family (model.family: plain, the
# reference of DESIGN.md, and mbconv, EfficientNet-style), at 1 and 2 threads, in one run;
# then both in mixed precision (rethink --backend dnnl-bf16, PyTorch CPU autocast to bfloat16).
#   bench/compare.sh [--repeats R] [--steps K] [--threads "1 2"] [--family "plain mbconv"]
#                    [--neck topdown|fpn]
# (defaults: the best of 3 runs of 100 timed steps each, threads 1 and 2, both families,
# the top-down neck; --neck fpn times every row with the FPN neck, model.neck = fpn)
# Installs python3-torch if missing (Debian package; the product itself never needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=3 steps=100 threads="1 2" families="plain mbconv" neck=topdown
while (($#)); do
  case "$1" in
    --repeats) repeats=$2 ;;
    --steps) steps=$2 ;;
    --threads) threads=$2 ;;
    --family) families=$2 ;;
    --neck) neck=$2 ;;
    *) echo "compare.sh: unknown option $1 (--repeats, --steps, --threads, --family, --neck)" >&2; exit 2 ;;
  esac
  shift 2
done
scripts/install-deps.sh --torch
[[ -d build ]] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
echo "neck: $neck"

best() { # command... -> best img_per_s of $repeats runs (JSON last line)
  local b=0 v
  for ((i = 0; i < repeats; i++)); do
    v=$("$@" --neck "$neck" --steps "$steps" --json | tail -n1 | sed -E 's/.*"img_per_s": ([0-9.]+).*/\1/')
    b=$(awk -v a="$b" -v c="$v" 'BEGIN { print (c > a) ? c : a }')
  done
  echo "$b"
}

printf "%-8s %-8s %14s %14s %22s %8s %8s\n" family threads "rethink img/s" "pytorch img/s" "pytorch NHWC img/s" ratio "vs NHWC"
for f in $families; do
  for t in $threads; do
    r=$(best ./build/rethink bench train --family "$f" --threads "$t")
    p=$(best /usr/bin/python3 bench/torch_train.py --family "$f" --threads "$t")
    q=$(best /usr/bin/python3 bench/torch_train.py --family "$f" --threads "$t" --channels-last)
    printf "%-8s %-8s %14.0f %14.0f %22.0f %7.2fx %7.2fx\n" "$f" "$t" "$r" "$p" "$q" \
      "$(awk -v a="$r" -v b="$p" 'BEGIN { print a / b }')" "$(awk -v a="$r" -v b="$q" 'BEGIN { print a / b }')"
  done
done
echo
if ! why=$(./build/rethink bench train --steps 1 --warmup 0 --batch 4 --backend dnnl-bf16 2>&1 >/dev/null); then
  echo "bf16: left out, rethink cannot train in bf16 here: ${why#rethink bench train: }"
  exit 0
fi
printf "%-8s %-8s %19s %19s %24s %8s\n" family threads "rethink bf16 img/s" "pytorch bf16 img/s" "pytorch NHWC bf16 img/s" ratio
for f in $families; do
  for t in $threads; do
    r=$(best ./build/rethink bench train --family "$f" --threads "$t" --backend dnnl-bf16)
    p=$(best /usr/bin/python3 bench/torch_train.py --family "$f" --threads "$t" --bf16)
    q=$(best /usr/bin/python3 bench/torch_train.py --family "$f" --threads "$t" --bf16 --channels-last)
    printf "%-8s %-8s %19.0f %19.0f %24.0f %7.2fx\n" "$f" "$t" "$r" "$p" "$q" \
      "$(awk -v a="$r" -v b="$p" -v c="$q" 'BEGIN { print a / (b > c ? b : c) }')"
  done
done
