#!/bin/sh
# PII scan speed and accuracy (issue 6): a seeded corpus of mixed Chinese/English plain-text
# lines with about 1 % PII of every type, valid values and near misses (bench/pii/gen.py, with
# the ground truth of the valid ones), scanned by
#   - `annot pii scan FILE --json` (Release build): precision and recall per type against the
#     truth, MB per CPU-second;
#   - Python `re` with the same candidate patterns and the same validators, the way Presidio's
#     pattern recognizers work (bench/pii/presidio_re.py): the same figures;
#   - ripgrep (`rg -c`, one pattern per shape, no validation): MB per CPU-second;
# and prints annot's speed ratio to each. CPU seconds are user + system of the one process;
# every one of the three runs on one thread (annot and python have one; rg -j1 on one file).
#   bench/pii.sh [--mb N] [--seed S] [--build DIR] [--keep]
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
MB=100
SEED=7
B=$SRC/build/bench-pii
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --mb) MB=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --build) B=$2; shift ;;
    --keep) KEEP=1 ;;
    *) echo "usage: bench/pii.sh [--mb N] [--seed S] [--build DIR] [--keep]" >&2; exit 1 ;;
    esac
    shift
done
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ beside bench/pii/*.py
command -v rg >/dev/null || { echo "bench/pii.sh: needs ripgrep (scripts/deps.sh --test)" >&2; exit 1; }
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target annot >/dev/null
ANNOT=$B/annot
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-pii.XXXXXX")
[ $KEEP = 1 ] && echo "files in $T" || trap 'rm -rf "$T"' EXIT
$PY "$SRC/bench/pii/gen.py" "$T/corpus.txt" "$T/truth.tsv" "$MB" "$SEED"
$PY - "$SRC/bench/pii" "$T/rg.patterns" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from common import PATTERNS, ere
open(sys.argv[2], "w", encoding="utf-8").write("".join(ere(p) + "\n" for p in PATTERNS))
PY
bytes=$(wc -c <"$T/corpus.txt")
# Warm the page cache so that no run pays for reading the disk.
cat "$T/corpus.txt" >/dev/null

# /usr/bin/time: wall, user and system seconds, peak RSS (KiB). The empty file measures
# annot's fixed cost (loading its shared libraries, compiling the Hyperscan databases).
: >"$T/empty.txt"
# annot runs three times on each file and the run with the least CPU time counts (the machine
# may be shared; the other commands take seconds to minutes and run once).
best() { # best OUT CMD...: runs CMD three times, keeps the time line with the least user+sys
    out=$1; shift
    for i in 1 2 3; do
        /usr/bin/time -f "%e %U %S %M" -o "$out.$i" "$@"
    done
    cat "$out.1" "$out.2" "$out.3" | awk '{ print ($2 + $3), $0 }' | sort -n | head -1 |
        cut -d' ' -f2- >"$out"
}
best "$T/t_empty" sh -c 'exec "$1" pii scan "$2" --json >/dev/null 2>&1' sh "$ANNOT" \
    "$T/empty.txt"
best "$T/t_annot" sh -c 'exec "$1" pii scan "$2" --json >"$3" 2>"$4"' sh "$ANNOT" \
    "$T/corpus.txt" "$T/annot.jsonl" "$T/summary"
/usr/bin/time -f "%e %U %S %M" -o "$T/t_py" $PY "$SRC/bench/pii/presidio_re.py" \
    "$T/corpus.txt" "$T/py.tsv" >"$T/py.count"
/usr/bin/time -f "%e %U %S %M" -o "$T/t_rg" rg -j1 -c -f "$T/rg.patterns" "$T/corpus.txt" \
    >"$T/rg.count" || true

cpu() { awk '{ printf "%.2f", $2 + $3 }' "$1"; }
rate() { awk -v b="$bytes" -v c="$1" 'BEGIN { printf "%.1f", b / 1e6 / c }'; }
c_a=$(cpu "$T/t_annot"); c_p=$(cpu "$T/t_py"); c_r=$(cpu "$T/t_rg"); c_e=$(cpu "$T/t_empty")
echo "corpus: $bytes bytes, $(wc -l <"$T/corpus.txt") lines, $(wc -l <"$T/truth.tsv") valid values (seed $SEED)"
echo "annot pii scan --json: wall $(cut -d' ' -f1 "$T/t_annot") s, cpu $c_a s, $(rate "$c_a") MB/s per cpu-second (one thread), peak RSS $(($(cut -d' ' -f4 "$T/t_annot") / 1024)) MB; $(cat "$T/summary")"
echo "annot fixed cost (empty file): cpu $c_e s; scan alone: $(awk -v b="$bytes" -v a="$c_a" -v e="$c_e" 'BEGIN { printf "%.1f", b / 1e6 / (a - e) }') MB/s per cpu-second"
echo "python re + validators (Presidio-style): wall $(cut -d' ' -f1 "$T/t_py") s, cpu $c_p s, $(rate "$c_p") MB/s per cpu-second, $(cat "$T/py.count") validated matches"
echo "ripgrep -c same shapes, no validation: wall $(cut -d' ' -f1 "$T/t_rg") s, cpu $c_r s, $(rate "$c_r") MB/s per cpu-second, $(cat "$T/rg.count") matching lines"
awk -v a="$c_a" -v p="$c_p" -v r="$c_r" 'BEGIN { printf "annot speed / python re: %.1fx; annot speed / ripgrep: %.2fx\n", p / a, r / a }'
$PY "$SRC/bench/pii/score.py" "$T/truth.tsv" "$T/annot.jsonl" --label annot
$PY "$SRC/bench/pii/score.py" "$T/truth.tsv" "$T/py.tsv" --label python-re
