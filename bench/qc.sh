#!/bin/sh
# QC benchmarks: Krippendorff's alpha and Dawid-Skene on a million items, each against the
# same computation in vectorised numpy on the same data (Debian's /usr/bin/python3).
#   bench/qc.sh [--units N] [--items N] [--keep]
# Builds a Release tree in build/bench-qc (the annot binary and bench/qc/alpha_time.c against
# the library), generates the data in a temporary folder, prints one line per measurement.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
UNITS=1000000
ITEMS=1000000
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --units) UNITS=$2; shift ;;
    --items) ITEMS=$2; shift ;;
    --keep) KEEP=1 ;;
    *) echo "usage: bench/qc.sh [--units N] [--items N] [--keep]" >&2; exit 1 ;;
    esac
    shift
done
PY=/usr/bin/python3
B=$SRC/build/bench-qc
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target annot annotlib >/dev/null
LIBS=$(pkg-config --libs sqlite3 jansson libxml-2.0 libsodium libmicrohttpd libcurl libpcre2-8)
cc -std=c11 -O2 -D_GNU_SOURCE -I"$SRC/src" -o "$B/alpha_time" "$SRC/bench/qc/alpha_time.c" \
    "$B/libannotlib.a" $LIBS -lpthread -lm
ANNOT=$B/annot
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-qc.XXXXXX")
[ $KEEP = 1 ] || trap 'rm -rf "$T"' EXIT
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

$PY "$SRC/bench/qc/gen.py" alpha "$T/alpha" "$UNITS"
# Best of three for each side.
best() { sort -g | head -1; }
for i in 1 2 3; do "$B/alpha_time" "$T/alpha.csv"; done >"$T/a.txt"
read_s=$(awk '{print $2}' "$T/a.txt" | best)
comp_s=$(awk '{print $4}' "$T/a.txt" | best)
alpha=$(awk 'NR==1{print $6}' "$T/a.txt")
for i in 1 2 3; do $PY "$SRC/bench/qc/alpha_numpy.py" "$T/alpha.npy" 2>>"$T/an.txt" >"$T/an_value.txt"; done
np_comp=$(awk '{print $5}' "$T/an.txt" | best)
np_alpha=$(cat "$T/an_value.txt")
echo "alpha nominal, $UNITS units x 5 coders, 10% missing: annot read $read_s s + compute $comp_s s" \
    "(alpha $alpha); numpy compute $np_comp s (alpha $np_alpha; from .npy, no parsing):" \
    "numpy/annot compute $(echo "$np_comp $comp_s" | awk '{printf "%.1f", $1/$2}')x"

# Dawid-Skene, 50 iterations, at three sizes for the memory line.
$PY "$SRC/bench/qc/gen.py" ds "$T/ds" "$ITEMS"
for n in 4 2 1; do
    part=$((ITEMS / n))
    head -n $((part + 1)) "$T/ds.csv" >"$T/ds_$n.csv"
    /usr/bin/time -f "%M" -o "$T/rss_$n" "$ANNOT" consensus --csv "$T/ds_$n.csv" --method dawid-skene \
        --tol 0 --max-iter 50 --timing >/dev/null 2>"$T/ds_time_$n"
    echo "dawid-skene $part items x 3 labels x 10 classes, 50 iterations: $(sed 's/^consensus: //' "$T/ds_time_$n"), peak RSS $(($(cat "$T/rss_$n") / 1024)) MB"
done
ds_comp=$(sed 's/.*compute \([0-9.]*\) s.*/\1/' "$T/ds_time_1")
$PY "$SRC/bench/qc/ds_numpy.py" "$T/ds.npy" --tol 0 --max-iter 50 2>"$T/dn.txt" >"$T/dn.json"
np_ds=$(awk '{print $5}' "$T/dn.txt")
echo "dawid-skene numpy, same data and iterations: compute $np_ds s:" \
    "numpy/annot $(echo "$np_ds $ds_comp" | awk '{printf "%.1f", $1/$2}')x"
"$ANNOT" consensus --csv "$T/ds.csv" --method dawid-skene --tol 0 --max-iter 50 --json |
    $PY -c 'import json,sys; a=json.load(sys.stdin); b=json.load(open(sys.argv[1]));
d=max(abs(x["accuracy"]-y) for x,y in zip(a["annotators"],b["accuracy"]));
print("check: log-likelihood annot %.6f numpy %.6f; max accuracy difference %.2e" % (a["log_likelihood"], b["log_likelihood"], d))' "$T/dn.json"
