"""Dawid-Skene EM in vectorised numpy: the baseline for bench/qc.sh and an independent check of
src/qc/consensus.c (same start, M-step smoothing, E-step in log space, stopping rule).

    ds_numpy.py MATRIX.npy [--max-iter N] [--tol T] [--smoothing S]   items x annotators, -1 missing
    ds_numpy.py --patients                                     Dawid & Skene (1979), Table 1

Prints the timings of reading and computing on stderr and a JSON summary on stdout."""
import json
import sys
import time

import numpy as np


def dawid_skene(item, ann, cls, n_items, n_ann, k, smoothing=0.01, max_iter=100, tol=1e-6):
    key = ann.astype(np.int64) * k + cls
    cnt = np.bincount(item * k + cls, minlength=n_items * k).reshape(n_items, k)
    n = cnt.sum(1)
    t = np.where(n[:, None] > 0, cnt / np.maximum(n, 1)[:, None], 1.0 / k)
    ll_prev = None
    converged = False
    it = 0
    with np.errstate(divide="ignore"):
        for it in range(1, max_iter + 1):
            # M-step: acc[a, l, j] = expected count of a saying l on items of class j.
            prior = (t.sum(0) + smoothing) / (n_items + k * smoothing)
            acc = np.empty((n_ann * k, k))
            for j in range(k):
                acc[:, j] = np.bincount(key, weights=t[item, j], minlength=n_ann * k)
            acc = acc.reshape(n_ann, k, k)
            tot = acc.sum(1, keepdims=True) + k * smoothing
            conf = np.where(tot > 0, (acc + smoothing) / np.where(tot > 0, tot, 1), 1.0 / k)
            logc = np.log(conf).reshape(n_ann * k, k)
            # E-step in log space.
            lp = np.empty((n_items, k))
            for j in range(k):
                lp[:, j] = np.bincount(item, weights=logc[key, j], minlength=n_items)
            lp += np.log(prior)[None, :]
            mx = lp.max(1)
            e = np.exp(lp - mx[:, None])
            sm = e.sum(1)
            t = e / sm[:, None]
            ll = mx + np.log(sm)
            if ll_prev is not None and np.max(np.abs(ll - ll_prev)) < tol:
                converged = True
                break
            ll_prev = ll
    conf_jl = conf.transpose(0, 2, 1)  # [a, true j, said l]
    acc_a = (prior[None, :] * np.diagonal(conf_jl, axis1=1, axis2=2)).sum(1)
    return dict(posterior=t, prior=prior, confusion=conf_jl, accuracy=acc_a, iterations=it,
                converged=converged, log_likelihood=float(ll.sum()))


PATIENTS = [
    "1111111", "3334334", "1122122", "2223121", "2223222", "2223322", "1222111", "3333433",
    "2222223", "2322223", "4444444", "2223343", "1111111", "2223212", "1211111", "1112111",
    "1111111", "1111111", "2222221", "2221322", "2222222", "2222221", "2223222", "2212222",
    "1111111", "1111111", "2322222", "1111111", "1111111", "1121121", "1111111", "3333233",
    "1111111", "2222222", "2223232", "4334343", "2212232", "2323233", "3333432", "1111111",
    "1111111", "1212111", "2322222", "1211111", "2222222",
]


def main():
    args = sys.argv[1:]
    opts = {"max_iter": 100, "tol": 1e-6, "smoothing": 0.01}
    for name in ("max_iter", "tol", "smoothing"):
        flag = "--" + name.replace("_", "-")
        if flag in args:
            i = args.index(flag)
            opts[name] = (int if name == "max_iter" else float)(args[i + 1])
            del args[i:i + 2]
    if args == ["--patients"]:
        rows = [(p, 0 if j < 3 else j - 2, int(c) - 1)
                for p, s in enumerate(PATIENTS) for j, c in enumerate(s)]
        item, ann, cls = (np.array(x, dtype=np.int64) for x in zip(*rows))
        r = dawid_skene(item, ann, cls, 45, 5, 4, **opts)
        print(json.dumps({"prior": r["prior"].tolist(), "posterior": r["posterior"].tolist(),
                          "accuracy": r["accuracy"].tolist(), "iterations": r["iterations"],
                          "log_likelihood": r["log_likelihood"]}))
        return
    t0 = time.perf_counter()
    m = np.load(args[0])  # units x coders int8/int16 matrix, -1 missing
    t1 = time.perf_counter()
    n_items, n_ann = m.shape
    item, ann = np.nonzero(m >= 0)
    cls = m[item, ann].astype(np.int64)
    k = int(cls.max()) + 1
    r = dawid_skene(item, ann, cls, n_items, n_ann, k, **opts)
    t2 = time.perf_counter()
    print("read %.3f s compute %.3f s" % (t1 - t0, t2 - t1), file=sys.stderr)
    print(json.dumps({"items": n_items, "labels": int(len(cls)), "iterations": r["iterations"],
                      "log_likelihood": r["log_likelihood"],
                      "accuracy": r["accuracy"].tolist()}))


if __name__ == "__main__":
    main()
