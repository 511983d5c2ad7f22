#!/usr/bin/env bash
# Side-by-side COCO evaluation on the same synthetic data (rethink bench eval --write):
#   - rethink, in memory: rk_coco_eval alone, best of 5;
#   - rethink, end to end: `rethink eval` on the JSON files (parse both files + evaluate), wall;
#   - the numpy reference (tests/coco_reference.py: pycocotools' algorithm and data layout in
#     Python/numpy), its evaluate() alone, one run;
# and the largest difference between the 12 stats of the three.
#   bench/eval_compare.sh [--images N] [--dets-per-image K] [--categories C] [--seed S]
# Defaults are the issue's: 5,000 images x 100 detections, 10 categories.
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 -c 'import numpy' 2>/dev/null || {
  echo "bench/eval_compare.sh: the reference needs numpy (apt-get install python3-numpy)" >&2
  exit 1
}
[[ -d build ]] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
./build/rethink bench eval "$@" --repeats 5 --write "$dir" --json | tail -n1 >"$dir/mem.json"
t0=$(date +%s.%N)
./build/rethink eval --gt "$dir/gt.json" --dt "$dir/dt.json" --json | tail -n1 >"$dir/cli.json"
t1=$(date +%s.%N)
/usr/bin/python3 tests/coco_reference.py "$dir/gt.json" "$dir/dt.json" --json | tail -n1 >"$dir/ref.json"

/usr/bin/python3 - "$dir" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" <<'EOF'
import json, os, sys
d, cli_s = sys.argv[1], float(sys.argv[2])
mem, cli, ref = (json.load(open(os.path.join(d, f))) for f in ("mem.json", "cli.json", "ref.json"))
names = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
diff = max(max(abs(mem[k] - ref[k]), abs(cli[k] - ref[k])) for k in names)
exact = all(mem[k] == ref[k] == cli[k] for k in names)
mb = (os.path.getsize(os.path.join(d, "gt.json")) + os.path.getsize(os.path.join(d, "dt.json"))) / 1e6
print(f"data: {mem['images']} images, {mem['detections']} detections, {mem['annotations']} GT, "
      f"{mem['categories']} categories ({mb:.0f} MB of JSON)")
print(f"{'rethink rk_coco_eval (best of 5)':40s} {mem['seconds']:8.3f} s")
print(f"{'rethink eval CLI (load JSON + eval)':40s} {cli_s:8.3f} s")
print(f"{'numpy reference evaluate()':40s} {ref['seconds']:8.3f} s   "
      f"({ref['seconds'] / mem['seconds']:.0f}x rk_coco_eval)")
print(f"AP {mem['AP']:.4f}  AP50 {mem['AP50']:.4f}  AR100 {mem['AR100']:.4f}; "
      f"max |difference| over the 12 stats: {diff:.3g}" + (" (bit-identical)" if exact else ""))
EOF
