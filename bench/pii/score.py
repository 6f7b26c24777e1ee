"""Precision and recall per type of findings against the generator's ground truth.
    score.py TRUTH.tsv FOUND [--label NAME]
FOUND: `annot pii scan --json` lines ({"line","start","end","type"}) or TSV line, start, end,
type (presidio_re.py). A PASSPORT finding 44 code points long is the machine-readable zone
(PASSPORT_MRZ). A finding counts when line, start, end and type all equal a truth row."""
import json
import sys

CHECKSUM = ["ID_CARD", "USCC", "BANK_CARD", "PASSPORT_MRZ"]


def load(path):
    rows = set()
    for ln in open(path, encoding="utf-8"):
        ln = ln.strip()
        if not ln:
            continue
        if ln[0] == "{":
            j = json.loads(ln)
            row = (j["line"], j["start"], j["end"], j["type"])
        else:
            a, b, c, t = ln.split("\t")
            row = (int(a), int(b), int(c), t)
        if row[3] == "PASSPORT" and row[2] - row[1] == 44:
            row = row[:3] + ("PASSPORT_MRZ",)
        rows.add(row)
    return rows


truth, found = load(sys.argv[1]), load(sys.argv[2])
label = sys.argv[4] if len(sys.argv) > 4 else "annot"
types = sorted({r[3] for r in truth | found}, key=lambda t: (t not in CHECKSUM, t))
worst = 1.0
for t in types:
    tr = {r for r in truth if r[3] == t}
    fo = {r for r in found if r[3] == t}
    tp = len(tr & fo)
    p = tp / len(fo) if fo else 1.0
    r = tp / len(tr) if tr else 1.0
    if t in CHECKSUM:
        worst = min(worst, p, r)
    print("%s %-13s truth %7d found %7d  precision %.4f  recall %.4f%s" %
          (label, t, len(tr), len(fo), p, r, "  (checksum)" if t in CHECKSUM else ""))
print("%s checksum types: min(precision, recall) = %.4f (target >= 0.99: %s)" %
      (label, worst, "met" if worst >= 0.99 else "NOT met"))
