# The baseline for bench/predict.sh: the same kind of model in scikit-learn (hashed word 1-2
# and char 1-3 grams, 2^18 features, logistic regression) trained on the same annotations,
# then predict_proba on every task's text. Only featurising and predicting are timed (no
# database, no JSON): what the Python pipeline pays for the model itself.
import sys, time
import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

base = sys.argv[1]
rows = [l.rstrip("\n").split("\t", 1) for l in open(base + ".train.tsv", encoding="utf-8")]
texts = [l.rstrip("\n") for l in open(base + ".all.txt", encoding="utf-8")]
w = HashingVectorizer(n_features=2**18, ngram_range=(1, 2), norm=None, alternate_sign=True)
c = HashingVectorizer(n_features=2**18, analyzer="char", ngram_range=(1, 3), norm=None,
                      alternate_sign=True)
feat = lambda xs: normalize(w.transform(xs) + c.transform(xs))
model = LogisticRegression(max_iter=200).fit(feat([t for _, t in rows]), [l for l, _ in rows])
t0 = time.time()
p = model.predict_proba(feat(texts))
secs = time.time() - t0
print("%.3f %d" % (secs, len(texts)))
