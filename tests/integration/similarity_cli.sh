# Caption-image alignment: embeddings from .npy matrices matched to tasks by content (order
# and duplicates do not matter), or from the task data; cosine scores stored as predictions
# and equal to numpy's; reruns add nothing; mismatched inputs are clear errors.
. "$(dirname "$0")/lib.sh"
$PY - <<'EOF'
import json, numpy as np
rng = np.random.default_rng(7)
n, d = 300, 64
img = rng.standard_normal((n, d)).astype(np.float32)
txt = img * 0.7 + rng.standard_normal((n, d)).astype(np.float32) * 0.7
txt[::10] = rng.standard_normal((n // 10, d))   # every 10th caption unrelated to its image
np.save("img.npy", img)
np.save("txt.npy", txt.astype(np.float16))
t16 = txt.astype(np.float16).astype(np.float64)
cos = (img * t16).sum(1) / np.linalg.norm(img, axis=1) / np.linalg.norm(t16, axis=1)
json.dump([float(c) for c in cos], open("cos.json", "w"))
with open("t.jsonl", "w") as f:
    for i in range(n):
        f.write(json.dumps({"data": {"image": "img/%d.jpg" % i, "caption": "caption %d" % i}}) + "\n")
# imported in another order, and with a duplicate: matching is by content
lines = open("t.jsonl").read().splitlines()
open("shuffled.jsonl", "w").write("\n".join(lines[::-1] + lines[:1]) + "\n")
# a task data field holding its own vector
with open("inline.jsonl", "w") as f:
    for i in range(5):
        f.write(json.dumps({"data": {"text": "t%d" % i, "v": [float(x) for x in img[i]], "w": [float(x) for x in img[i] * -2]}}) + "\n")
EOF
$ANNOT project create pairs --config "$ANNOT_SRC/demo/configs/captions.xml" >/dev/null
$ANNOT import pairs shuffled.jsonl >/dev/null
$ANNOT embeddings --json pairs --field img --npy img.npy --jsonl t.jsonl --dtype f32 >e1.json
[ "$(json_get e1.json 'j["stored"], j["unmatched"]')" = "300 0" ] || fail "img: $(cat e1.json)"
$ANNOT embeddings --json pairs --field txt --npy txt.npy --jsonl t.jsonl >e2.json
[ "$(json_get e2.json 'j["stored"]')" = 300 ] || fail "txt: $(cat e2.json)"
$ANNOT similarity --json pairs --a img --b txt --threshold 0.3 >s.json
[ "$(json_get s.json 'j["pairs"], j["added"], j["model_version"]')" = "300 300 similarity:img:txt" ] ||
    fail "similarity: $(cut -c1-300 s.json)"
# the low-alignment list has the pairs numpy scores below the threshold (the unrelated ones)
want=$($PY -c "import json; print(sum(c < 0.3 for c in json.load(open('cos.json'))))")
[ "$want" -ge 25 ] || fail "the generated data has only $want unrelated pairs"
json_get s.json 'len(j["below_threshold"])' | grep -qx "$want" || fail "below threshold: $(cut -c1-400 s.json)"
# scores in the export equal numpy's (float16 captions: 1e-5)
$ANNOT export pairs --format ls-json -o out.json >/dev/null
$PY - <<'EOF' || fail "scores differ from numpy"
import json
cos = json.load(open("cos.json"))
tasks = json.load(open("out.json"))
by_image = {t["data"]["image"]: t for t in tasks}
for i, c in enumerate(cos):
    p = [p for p in by_image["img/%d.jpg" % i]["predictions"] if p["model_version"] == "similarity:img:txt"]
    assert len(p) == 1 and p[0]["result"] == [], p
    assert abs(p[0]["score"] - c) < 1e-5, (i, p[0]["score"], c)
EOF
# a rerun adds nothing
$ANNOT similarity --json pairs --a img --b txt >s2.json
[ "$(json_get s2.json 'j["added"], j["kept"]')" = "0 300" ] || fail "rerun: $(cut -c1-300 s2.json)"
# vectors in the task data
$ANNOT project create inline --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
$ANNOT import inline inline.jsonl >/dev/null
$ANNOT embeddings inline --field v --from-data >/dev/null
$ANNOT embeddings inline --field w --from-data >/dev/null
$ANNOT similarity --json inline --a v --b w >s3.json
json_get s3.json 'j["pairs"]' | grep -qx 5 || fail "inline: $(cat s3.json)"
$ANNOT export inline --format ls-json -o in.json >/dev/null
json_get in.json 'sorted(round(p["score"], 4) for t in j for p in t["predictions"])' | grep -qx "\[-1.0, -1.0, -1.0, -1.0, -1.0\]" ||
    fail "opposite vectors: $(cat in.json | cut -c1-300)"
# a matrix with fewer rows than the JSONL has records
$PY -c "import numpy as np; np.save('short.npy', np.zeros((10, 64), dtype=np.float32))"
expect_status 1 $ANNOT embeddings pairs --field x --npy short.npy --jsonl t.jsonl
grep -q "correspond one to one" "$T/err" || fail "row mismatch: $(cat "$T/err")"
expect_status 1 $ANNOT embeddings pairs --field x --jsonl t.jsonl
echo ok
