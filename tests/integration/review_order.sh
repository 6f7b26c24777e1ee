# The review queue ordered by caption–image alignment, against a real `annot serve`: after
# `annot similarity` stores each task's cosine as a "similarity:v:w" prediction,
# GET /api/projects/1/annotations?order=score:similarity:v:w lists the annotations of the
# worst-aligned tasks first (annotations of tasks without a score last, ties by id), with
# the score, and names the version under score_versions; ?order=-id is newest first; the
# default stays submission order; an unknown order is refused naming "order".
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
# Five tasks whose vectors v and w have cosines 0.6, -0.8, 0.0, 1.0 and (no w) none.
$PY - <<'PY'
import json
pairs = [([1, 0], [0.6, 0.8]), ([1, 0], [-0.8, 0.6]), ([1, 0], [0, 1]), ([1, 0], [2, 0]), ([1, 0], None)]
with open("t.jsonl", "w") as f:
    for i, (v, w) in enumerate(pairs):
        d = {"text": "pair %d" % i, "v": v}
        if w is not None:
            d["w"] = w
        f.write(json.dumps({"data": d}) + "\n")
PY
$ANNOT project create p --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
$ANNOT import p t.jsonl >/dev/null
$ANNOT embeddings p --field v --from-data >/dev/null
$ANNOT embeddings p --field w --from-data 2>/dev/null >/dev/null || true # task 5 has no w
$ANNOT similarity --json p --a v --b w >s.json
[ "$(json_get s.json 'j["pairs"], j["model_version"]')" = "4 similarity:v:w" ] || fail "similarity: $(cat s.json)"
$ANNOT user add ann --role annotator >/dev/null
$ANNOT user add rex --role reviewer >/dev/null
$ANNOT member add p ann
$ANNOT member add p rex
for u in ann rex; do eval "T_$u=\$($ANNOT token create $u)"; done

serve_start
# One annotation per task, submitted in task order 5, 1, 2, 3, 4 (annotation ids 1..5).
for task in 5 1 2 3 4; do
    expect 201 ann POST /api/tasks/$task/annotations \
        '{"result":[{"from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Positive"]}}]}'
done
ids() { json_get body.json '" ".join("%d:%d" % (a["id"], a["task"]) for a in j["annotations"])'; }

expect 200 rex GET /api/projects/1/annotations
[ "$(ids)" = "1:5 2:1 3:2 4:3 5:4" ] || fail "default order: $(cat body.json)"
[ "$(json_get body.json 'j["order"], j["score_versions"]')" = "id ['similarity:v:w']" ] ||
    fail "versions: $(cat body.json)"

# Worst-aligned first: task 2 (-0.8), 3 (0.0), 1 (0.6), 4 (1.0), then task 5 without a score.
expect 200 rex GET "/api/projects/1/annotations?order=score:similarity:v:w"
[ "$(ids)" = "3:2 4:3 2:1 5:4 1:5" ] || fail "score order: $(cat body.json)"
[ "$(json_get body.json '[round(a["score"], 3) for a in j["annotations"][:4]], "score" in j["annotations"][4], j["total"]')" = \
    "[-0.8, 0.0, 0.6, 1.0] False 5" ] || fail "scores: $(cat body.json)"
# Paging keeps the order; the state filter applies.
expect 200 rex GET "/api/projects/1/annotations?order=score:similarity:v:w&page=2&page_size=2"
[ "$(ids)" = "2:1 5:4" ] || fail "page 2: $(cat body.json)"
expect 201 rex POST /api/annotations/3/reviews '{"accepted": true}'
expect 200 rex GET "/api/projects/1/annotations?order=score:similarity:v:w&status=unreviewed"
[ "$(ids)" = "4:3 2:1 5:4 1:5" ] || fail "unreviewed by score: $(cat body.json)"

expect 200 rex GET "/api/projects/1/annotations?order=-id"
[ "$(ids)" = "5:4 4:3 3:2 2:1 1:5" ] || fail "newest first: $(cat body.json)"
# A version nobody scored leaves submission order.
expect 200 rex GET "/api/projects/1/annotations?order=score:similarity:x:y"
[ "$(ids)" = "1:5 2:1 3:2 4:3 5:4" ] || fail "unknown version: $(cat body.json)"
expect 400 rex GET "/api/projects/1/annotations?order=score"
[ "$(json_get body.json 'j["error"]["field"]')" = order ] || fail "bad order: $(cat body.json)"
expect 400 rex GET "/api/projects/1/annotations?order=alignment"
echo "review_order: ok"
