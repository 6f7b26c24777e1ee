#!/bin/sh
# Pre-annotation benchmark: `annot predict` with textcls on N short text tasks (default
# 100,000), with 1 and 2 workers, against scikit-learn featurising and predicting the same
# texts with the same kind of model (Debian's /usr/bin/python3).
#   bench/predict.sh [--tasks N] [--keep]
# Builds a Release tree in build/bench-predict, generates the data in a temporary folder,
# prints one line per measurement (wall seconds, tasks/s, peak RSS of the annot process).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
N=100000
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --tasks) N=$2; shift ;;
    --keep) KEEP=1 ;;
    *) echo "usage: bench/predict.sh [--tasks N] [--keep]" >&2; exit 1 ;;
    esac
    shift
done
PY=/usr/bin/python3
B=$SRC/build/bench-predict
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target annot >/dev/null
ANNOT=$B/annot
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-predict.XXXXXX")
[ $KEEP = 1 ] || trap 'rm -rf "$T"' EXIT
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# run OUT CMD...: prints "seconds peak_rss_mb" of CMD (its stdout into OUT).
run() {
    $PY -c '
import resource, subprocess, sys, time
t = time.time()
subprocess.run(sys.argv[2:], check=True, stdout=open(sys.argv[1], "w"))
print("%.3f %.1f" % (time.time() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))
' "$@"
}
cat >"$T/cfg.xml" <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="positive"/><Choice value="negative"/></Choices>
</View>
XML
$PY "$SRC/bench/predict/gen.py" "$N" 1000 "$T/tasks"
export ANNOT_DB="$T/ws.db"
$ANNOT project create p --config "$T/cfg.xml" >/dev/null
$ANNOT import p "$T/tasks.jsonl" >/dev/null
$ANNOT train p --model textcls --control sentiment --json >"$T/train.json"
acc=$($PY -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["metrics"]["held_out_after"]["accuracy"])' "$T/train.json")
echo "textcls trained on 1000 annotations: held-out accuracy $acc"

for w in 1 2; do
    # A fresh model version each time, so every task is predicted again.
    $ANNOT train p --model textcls --control sentiment >/dev/null
    set -- $(cd "$T" && run "$T/run.out" "$ANNOT" predict p --model textcls --workers $w --json)
    n=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["predicted"])' "$T/run.out")
    echo "annot predict --workers $w: $n tasks in $1 s, $(echo "$n $1" | awk '{printf "%.0f", $1/$2}') tasks/s, peak RSS $2 MB"
    last=$1
done
set -- $($PY "$SRC/bench/predict/sklearn_baseline.py" "$T/tasks")
echo "scikit-learn HashingVectorizer + LogisticRegression.predict_proba (no storage): $2 texts in $1 s," \
    "$(echo "$2 $1" | awk '{printf "%.0f", $1/$2}') texts/s; annot --workers 2 end to end takes" \
    "$(echo "$last $1" | awk '{printf "%.2f", $1/$2}')x its time"
