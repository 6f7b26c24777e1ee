"""Generates the QC benchmark data (bench/qc.sh): reliability CSV for annot and the same
matrix as .npy for the numpy baselines.

    gen.py alpha OUT UNITS     5 coders, 5 categories, 10 % of cells missing
    gen.py ds OUT ITEMS        10 annotators, 10 classes, 3 labels per item by 3 of them

Annotators are right with a probability of their own (0.55..0.9), otherwise say a random
class. Seeded: the same arguments give the same files."""
import sys

import numpy as np


def write(out, m):
    np.save(out + ".npy", m)
    n_units, n_coders = m.shape
    with open(out + ".csv", "w") as f:
        f.write(",".join("c%d" % c for c in range(n_coders)) + "\n")
        step = 100000
        for s in range(0, n_units, step):
            block = m[s:s + step].astype(str)
            block[m[s:s + step] < 0] = ""
            f.write("\n".join(",".join(r) for r in block) + "\n")


def main():
    kind, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(20261127)
    if kind == "alpha":
        coders, k = 5, 5
        truth = rng.integers(0, k, n)
        right = rng.random((n, coders)) < 0.8
        m = np.where(right, truth[:, None], rng.integers(0, k, (n, coders)))
        m[rng.random((n, coders)) < 0.1] = -1
    else:
        ann, k = 10, 10
        truth = rng.integers(0, k, n)
        acc = np.linspace(0.55, 0.9, ann)
        m = np.full((n, ann), -1)
        who = np.argsort(rng.random((n, ann)), axis=1)[:, :3]
        rows = np.repeat(np.arange(n), 3)
        cols = who.ravel()
        ok = rng.random(rows.size) < acc[cols]
        m[rows, cols] = np.where(ok, truth[rows], rng.integers(0, k, rows.size))
    write(out, m.astype(np.int8))


if __name__ == "__main__":
    main()
