#!/bin/sh
# Caption-image alignment speed: `annot similarity` over N tasks with two 512-dimensional
# float16 embeddings each (as LAION ships CLIP vectors), from the store. Prints pairs/s for
# the scoring pass (read both embeddings, cosine) and for the whole command (plus storing the
# scores as predictions), beside the memory-bandwidth bound of this machine for the same
# bytes (numpy summing a 1 GiB array: the rate at which the vectors could at best be read).
# Usage: bench/similarity.sh [--pairs N] [--dim D] [--keep]
set -eu
N=200000
D=512
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --pairs) N=$2; shift 2 ;;
    --dim) D=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: bench/similarity.sh [--pairs N] [--dim D] [--keep]" >&2; exit 2 ;;
    esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
make -C "$SRC" --no-print-directory build >/dev/null
A=${ANNOT:-$SRC/build/release/annot}
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-sim.XXXXXX")
[ "$KEEP" = 1 ] || trap 'rm -rf "$T"' EXIT
cd "$T"
$PY - "$N" "$D" <<'EOF'
import sys, numpy as np
n, d = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(1)
img = rng.standard_normal((n, d), dtype=np.float32)
np.save("img.npy", img.astype(np.float16))
np.save("txt.npy", (img + rng.standard_normal((n, d), dtype=np.float32)).astype(np.float16))
with open("t.jsonl", "w") as f:
    for i in range(n):
        f.write('{"data": {"image": "img/%d.jpg", "caption": "caption %d"}}\n' % (i, i))
EOF
$A --db w.db project create p --config "$SRC/demo/configs/captions.xml" >/dev/null
$A --db w.db import p t.jsonl >/dev/null
$A --db w.db embeddings p --field img --npy img.npy --jsonl t.jsonl >/dev/null
$A --db w.db embeddings p --field txt --npy txt.npy --jsonl t.jsonl >/dev/null
# a first pass warms the OS page cache, as a workspace in use would be
$A --db w.db similarity p --a img --b txt --model-version warm --json >/dev/null
start=$($PY -c "import time; print(time.monotonic())")
$A --db w.db similarity p --a img --b txt --json >s.json
end=$($PY -c "import time; print(time.monotonic())")
bw=$($PY -c "
import numpy as np, time
a = np.ones(1 << 28, dtype=np.float32)  # 1 GiB
a.sum(); t = time.perf_counter(); a.sum(); a.sum(); print(2 * a.nbytes / (time.perf_counter() - t))")
$PY - s.json "$start" "$end" "$bw" "$D" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
start, end, bw, d = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
n = j["pairs"]
bound = bw / (2 * d * 2)
print("machine: load %s" % open("/proc/loadavg").read().split()[0])
print("similarity %d pairs x %d dims (float16): scoring %.3f s = %.0f pairs/s from the store; "
      "whole command %.3f s = %.0f pairs/s (with %d predictions stored)" %
      (n, d, j["compute_seconds"], n / j["compute_seconds"], end - start, n / (end - start), j["added"]))
print("memory bandwidth %.1f GB/s: bound %.0f pairs/s for %d bytes a pair; scoring reaches %.1f %% of it" %
      (bw / 1e9, bound, 2 * d * 2, 100 * n / j["compute_seconds"] / bound))
EOF
