# Helpers for bench/textcls_spam.sh (Debian's /usr/bin/python3; scikit-learn for the
# baseline column only).
#
#   prepare PACKAGE_DIR OUT_DIR       the corpus as tasks: OUT_DIR/corpus.json
#   tasks OUT_DIR SPEC DRAW FILE      one project's tasks (test part unlabelled + training
#                                     examples annotated) as ls-jsonl; SPEC is N, "all" or
#                                     "5pc" (5 per class)
#   score OUT_DIR EXPORT.jsonl        accuracy of the stored predictions on the test part
#   sklearn OUT_DIR SPEC DRAW         accuracy of scikit-learn's LogisticRegressionCV on the
#                                     same hashed n-grams and the same split
#   report OUT_DIR RESULTS.tsv SVG    the table (markdown, stdout) and the chart
#
# A message becomes its Subject and its body text: the text/plain parts (transfer encodings
# and charsets decoded by the email package), or the text/html parts with tags removed when
# there is no plain part; NUL characters are dropped. Messages whose text repeats one seen before are dropped (the corpus
# holds a few copies across its groups), so no test text is also a training text. The test
# part is a fixed stratified fifth of the messages (seed 1); draw D of size N takes the first
# N messages of the remaining pool shuffled with seed D (nested: the 500 of draw D contain
# its 200).
import email, email.policy, glob, html, json, os, random, re, statistics, sys

GROUPS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam",
          "spam-2": "spam"}
TAG = re.compile(r"<[^>]*>")
STYLE = re.compile(r"<(style|script)[^>]*>.*?</\1\s*>", re.S | re.I)


def part_text(part):
    try:
        return part.get_content()
    except Exception:  # unknown charset, broken encoding: the raw payload, bytes as latin-1
        raw = part.get_payload(decode=True) or b""
        return raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)


def message_text(raw):
    msg = email.message_from_string(raw, policy=email.policy.default)
    subject = str(msg.get("subject", "") or "")
    plain, htm = [], []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            plain.append(part_text(part))
        elif ctype == "text/html":
            htm.append(part_text(part))
    if plain:
        body = "\n".join(plain)
    else:
        body = html.unescape(TAG.sub(" ", STYLE.sub(" ", "\n".join(htm))))
    # JSON text cannot carry NUL (Jansson refuses \u0000): a few bodies have some.
    return (subject + "\n\n" + body).replace("\0", "")


def prepare(pkg, out):
    seen, msgs = set(), []
    for group, label in GROUPS.items():
        for f in sorted(glob.glob(os.path.join(pkg, "data", group, "*.json"))):
            m = json.load(open(f, encoding="utf-8"))
            text = message_text(m["text"])
            key = " ".join(text.split())
            if key in seen:
                continue
            seen.add(key)
            msgs.append({"id": "%s/%s" % (group, m["id"]), "label": label, "text": text})
    r = random.Random(1)
    test, pool = [], []
    for label in ("spam", "ham"):
        ms = [m for m in msgs if m["label"] == label]
        r.shuffle(ms)
        h = len(ms) // 5
        test += ms[:h]
        pool += ms[h:]
    json.dump({"test": test, "pool": sorted(pool, key=lambda m: m["id"])},
              open(os.path.join(out, "corpus.json"), "w"))
    n = lambda ms, l: sum(m["label"] == l for m in ms)
    print("messages %d after dropping %d repeated; test %d (spam %d), pool %d (spam %d)" % (
        len(msgs), sum(len(glob.glob(os.path.join(pkg, "data", g, "*.json"))) for g in GROUPS)
        - len(msgs), len(test), n(test, "spam"), len(pool), n(pool, "spam")))


def load(out):
    return json.load(open(os.path.join(out, "corpus.json"), encoding="utf-8"))


def training(c, spec, draw):
    pool = list(c["pool"])
    random.Random(draw).shuffle(pool)
    if spec == "all":
        return pool
    if spec == "5pc":
        return [m for m in pool if m["label"] == "spam"][:5] + \
               [m for m in pool if m["label"] == "ham"][:5]
    return pool[:int(spec)]


def tasks(out, spec, draw, path):
    c = load(out)
    with open(path, "w", encoding="utf-8") as f:
        for m in c["test"]:
            f.write(json.dumps({"data": {"text": m["text"], "msg": m["id"]}}) + "\n")
        for m in training(c, spec, int(draw)):
            f.write(json.dumps({"data": {"text": m["text"], "msg": m["id"]}, "annotations": [
                {"completed_by": 1, "result": [{"from_name": "label", "to_name": "text",
                 "type": "choices", "value": {"choices": [m["label"]]}}]}]}) + "\n")


def score(out, export):
    truth = {m["id"]: m["label"] for m in load(out)["test"]}
    right = total = 0
    for line in open(export, encoding="utf-8"):
        t = json.loads(line)
        if t["data"]["msg"] not in truth:
            continue
        total += 1
        preds = t.get("predictions") or []
        if preds and preds[-1]["result"]:
            right += preds[-1]["result"][0]["value"]["choices"][0] == truth[t["data"]["msg"]]
    if total != len(truth):
        sys.exit("score: %d test tasks in the export, expected %d" % (total, len(truth)))
    print("%.4f" % (right / total))


def sklearn(out, spec, draw):
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.preprocessing import normalize
    c = load(out)
    tr = training(c, spec, int(draw))
    w = HashingVectorizer(n_features=2**18, ngram_range=(1, 2), norm=None, alternate_sign=True)
    ch = HashingVectorizer(n_features=2**18, analyzer="char", ngram_range=(1, 3), norm=None,
                           alternate_sign=True)
    feat = lambda xs: normalize(w.transform(xs) + ch.transform(xs))
    # C chosen by 3-fold cross-validation on the training examples alone: sklearn's default
    # C = 1 underfits unit-length hashed vectors badly (0.70 at 100 examples, 0.93 at all).
    model = LogisticRegressionCV(Cs=[0.1, 1, 10, 100, 1000], cv=3, max_iter=1000).fit(
        feat([m["text"] for m in tr]), [m["label"] for m in tr])
    p = model.predict(feat([m["text"] for m in c["test"]]))
    print("%.4f" % (sum(a == m["label"] for a, m in zip(p, c["test"])) / len(c["test"])))


def report(out, results, svg):
    rows = {}
    for line in open(results):
        model, spec, draw, n, acc, sk = line.split()
        rows.setdefault((model, spec), []).append((int(n), float(acc), float(sk)))
    c = load(out)
    print("| model | training examples | draws | accuracy (mean) | min – max | "
          "scikit-learn LogisticRegressionCV (mean) |")
    print("|---|---|---|---|---|---|")
    curve, few = [], None
    for (model, spec), rs in sorted(rows.items(), key=lambda kv: (kv[0][0] != "fewshot",
                                                                   kv[1][0][0])):
        accs = [a for _, a, _ in rs]
        sks = [s for _, _, s in rs]
        n = rs[0][0]
        label = "%d (5 per class)" % n if spec == "5pc" else "%d%s" % (n, " (all)" if spec == "all" else "")
        print("| %s | %s | %d | %.3f | %.3f – %.3f | %.3f |" % (
            model, label, len(rs), statistics.mean(accs), min(accs), max(accs),
            statistics.mean(sks)))
        point = (n, statistics.mean(accs), min(accs), max(accs), statistics.mean(sks))
        if model == "fewshot":
            few = point
        else:
            curve.append(point)
    major = max(sum(m["label"] == l for m in c["test"]) for l in ("spam", "ham")) / len(c["test"])
    print()
    print("Always answering the larger class (ham) scores %.3f." % major)
    write_svg(svg, curve, few, len(c["test"]), major)


def write_svg(path, curve, few, n_test, major):
    import math
    W, H, L, R, T, B = 640, 360, 60, 20, 30, 50
    xs = [p[0] for p in curve] + ([few[0]] if few else [])
    x0, x1 = math.log10(min(xs) / 1.3), math.log10(max(xs) * 1.3)
    y0, y1 = 0.5, 1.0
    X = lambda n: L + (math.log10(n) - x0) / (x1 - x0) * (W - L - R)
    Y = lambda a: T + (y1 - max(a, y0)) / (y1 - y0) * (H - T - B)
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="sans-serif" font-size="12">' % (W, H, W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="18" font-size="14">SpamAssassin public corpus: accuracy on %d held-out '
         'messages</text>' % (L, n_test)]
    for a in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        o.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (L, W - R, Y(a), Y(a)))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%.1f</text>' % (L - 6, Y(a) + 4, a))
    for n in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if math.log10(n) < x0 or math.log10(n) > x1:
            continue
        o.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>' % (X(n), X(n), T, H - B))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (X(n), H - B + 16, n))
    o.append('<text x="%.1f" y="%d" text-anchor="middle">training examples (log scale)</text>'
             % ((L + W - R) / 2, H - 12))
    o.append('<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">'
             'accuracy</text>' % ((T + H - B) / 2, (T + H - B) / 2))
    o.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#2ca02c" stroke-dasharray="2,3"/>'
             '<text x="%d" y="%.1f" fill="#2ca02c">always ham %.3f</text>'
             % (L, W - R, Y(major), Y(major), L + 4, Y(major) - 4, major))
    pts = " ".join("%.1f,%.1f" % (X(n), Y(a)) for n, a, _, _, _ in curve)
    o.append('<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="2"/>' % pts)
    for n, a, lo, hi, _ in curve:
        o.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#1f77b4"/>' % (X(n), X(n), Y(lo), Y(hi)))
        o.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="#1f77b4"><title>textcls %d: %.3f</title>'
                 '</circle>' % (X(n), Y(a), n, a))
    pts = " ".join("%.1f,%.1f" % (X(n), Y(s)) for n, _, _, _, s in curve)
    o.append('<polyline points="%s" fill="none" stroke="#999" stroke-width="1.5" '
             'stroke-dasharray="5,4"/>' % pts)
    if few:
        n, a, lo, hi, _ = few
        o.append('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#d62728"/>' % (X(n), X(n), Y(lo), Y(hi)))
        o.append('<rect x="%.1f" y="%.1f" width="8" height="8" fill="#d62728"><title>fewshot %d: '
                 '%.3f</title></rect>' % (X(n) - 4, Y(a) - 4, n, a))
    ly = H - B - 60
    o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#1f77b4" stroke-width="2"/>'
             '<text x="%d" y="%d">textcls (mean; bar: min–max of draws)</text>' % (W - 290, W - 265, ly, ly, W - 258, ly + 4))
    o.append('<rect x="%d" y="%d" width="8" height="8" fill="#d62728"/><text x="%d" y="%d">'
             'fewshot, 5 per class</text>' % (W - 282, ly + 14, W - 258, ly + 22))
    o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#999" stroke-width="1.5" '
             'stroke-dasharray="5,4"/><text x="%d" y="%d">scikit-learn LogisticRegressionCV</text>'
             % (W - 290, W - 265, ly + 36, ly + 36, W - 258, ly + 40))
    o.append("</svg>")
    open(path, "w").write("\n".join(o) + "\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"prepare": prepare, "tasks": tasks, "score": score, "sklearn": sklearn,
     "report": report}[cmd](*args)
