# annot agreement --csv against independent implementations: scikit-learn's
# cohen_kappa_score (unweighted, linear, quadratic) and statsmodels' fleiss_kappa with
# aggregate_raters, on random reliability data (several seeds, with and without missing
# values), to 1e-9 relative. The published worked examples of both libraries' own test
# suites are reproduced in tests/unit/test_agreement.c.
. "$(dirname "$0")/lib.sh"

$PY - "$ANNOT" <<'PY'
import csv, json, subprocess, sys
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

annot = sys.argv[1]
checked = 0

def run(path, *args):
    out = subprocess.run([annot, "agreement", "--csv", path, "--json", *args],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("annot failed on %s %s: %s" % (path, args, out.stderr))
    return json.loads(out.stdout)

def close(got, want, what):
    global checked
    if not abs(got - want) <= 1e-9 * abs(want) + 1e-12:
        sys.exit("%s: annot %.17g, reference %.17g" % (what, got, want))
    checked += 1

def write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])

# Cohen's kappa, two coders. Values are numbers, so annot orders categories by value, as
# sklearn does with labels=sorted(...). With missing values both compare the units the two
# coded; the labels are every value in the table, so weights use the same ranks.
for seed in range(1, 9):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 200))
    k = int(rng.integers(2, 7))
    a = rng.integers(1, k + 1, n)
    # Correlated second coder: agree with probability 0.6, else random.
    b = np.where(rng.random(n) < 0.6, a, rng.integers(1, k + 1, n))
    for missing in (False, True):
        rows = [[int(x), int(y)] for x, y in zip(a, b)]
        if missing:
            for r in rows:
                if rng.random() < 0.15:
                    r[int(rng.integers(0, 2))] = None
        path = "cohen_%d_%d.csv" % (seed, missing)
        write(path, ["a", "b"], rows)
        both = [(x, y) for x, y in rows if x is not None and y is not None]
        labels = sorted({v for r in rows for v in r if v is not None})
        ya = [x for x, _ in both]
        yb = [y for _, y in both]
        for w in ("none", "linear", "quadratic"):
            got = run(path, "--metric", "cohen", "--weights", w)
            want = cohen_kappa_score(ya, yb, labels=labels, weights=None if w == "none" else w)
            close(got["value"], want, "cohen %s seed %d missing %s" % (w, seed, missing))
            if got["pairs"][0]["units"] != len(both):
                sys.exit("cohen units: %s vs %d" % (got["pairs"][0]["units"], len(both)))

# Fleiss' kappa: equal ratings per unit (no missing values), 3..7 coders, text categories.
for seed in range(1, 9):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(10, 150))
    m = int(rng.integers(3, 8))
    k = int(rng.integers(2, 6))
    truth = rng.integers(0, k, n)
    data = np.where(rng.random((n, m)) < 0.55, truth[:, None], rng.integers(0, k, (n, m)))
    names = ["cat%d" % v for v in range(k)]
    path = "fleiss_%d.csv" % seed
    write(path, ["r%d" % i for i in range(m)], [[names[v] for v in row] for row in data])
    table, _ = aggregate_raters(data)
    got = run(path, "--metric", "fleiss")
    close(got["value"], fleiss_kappa(table, method="fleiss"), "fleiss seed %d" % seed)

print("checked", checked)
PY
echo ok
