"""Krippendorff's alpha (nominal) in vectorised numpy: the coincidence matrix from per-unit
category counts via bincount. alpha_numpy.py MATRIX.npy (units x coders, -1 missing); prints
the value on stdout and read/compute seconds on stderr."""
import sys
import time

import numpy as np

t0 = time.perf_counter()
m = np.load(sys.argv[1]).astype(np.int64)
t1 = time.perf_counter()
units, _ = m.shape
k = int(m.max()) + 1
u, c = np.nonzero(m >= 0)
counts = np.bincount(u * k + m[u, c], minlength=units * k).reshape(units, k).astype(float)
mu = counts.sum(1)
keep = mu >= 2
counts, mu = counts[keep], mu[keep]
w = 1.0 / (mu - 1)
o = (counts * w[:, None]).T @ counts - np.diag((counts * w[:, None]).sum(0))
nc = o.sum(1)
n = nc.sum()
d_o = (n - np.trace(o)) / n
d_e = (n * n - (nc * nc).sum()) / (n * (n - 1))
alpha = 1 - d_o / d_e
t2 = time.perf_counter()
print("read %.3f s compute %.3f s" % (t1 - t0, t2 - t1), file=sys.stderr)
print("%.12f" % alpha)
