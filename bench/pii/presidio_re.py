"""The Presidio way: Python `re` with the scanner's candidate patterns, each match passed to
the type's validator (as a PatternRecognizer's validate_result), over the whole file.
    presidio_re.py FILE OUT.tsv
Writes the validated matches (line, start, end, type; code points of the line) and prints
their count. No context words or overlap resolution (Presidio does those after)."""
import bisect
import sys

from common import VALID, compiled

text = open(sys.argv[1], encoding="utf-8").read()
nl = [i for i, c in enumerate(text) if c == "\n"]
n = 0
with open(sys.argv[2], "w") as out:
    for typ, kind, rx in compiled():
        ok = VALID[kind]
        for m in rx.finditer(text):
            if not ok(m.group(0)):
                continue
            s, e = m.span()
            li = bisect.bisect_left(nl, s)  # lines before this one
            base = nl[li - 1] + 1 if li else 0
            out.write("%d\t%d\t%d\t%s\n" % (li + 1, s - base, e - base, typ))
            n += 1
print(n)
