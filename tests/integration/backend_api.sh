# ML backends and prediction jobs over the API, against a real `annot serve` and the
# stand-in backend on loopback: /api/ml refuses a loopback URL (400 naming url) until the CLI
# allows it; a job started by a manager pre-annotates the project in the background with
# progress to poll, its predictions carry the backend's model_version; a job for a model
# that was never trained fails with the reason; bad job bodies are refused.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
cat >cfg.xml <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="positive"/><Choice value="negative"/></Choices>
</View>
XML
$PY - <<'PY'
import json
with open("tasks.jsonl", "w") as f:
    for i in range(40):
        f.write(json.dumps({"data": {"text": ("good %d" if i % 2 else "bad %d") % i}}) + "\n")
PY
$ANNOT project create p --config cfg.xml >/dev/null
$ANNOT import p tasks.jsonl >/dev/null
$ANNOT user add mia --role manager >/dev/null
$ANNOT user add rex --role reviewer >/dev/null
$ANNOT member add p mia
$ANNOT member add p rex
for u in mia rex; do eval "T_$u=\$($ANNOT token create $u)"; done

peer_start port $PY "$ANNOT_SRC/tests/data/backends/fake_backend.py" port
url=$peer_url
serve_start
curl -s -X POST "$url/config" -d '{"delay": 0.05}' >/dev/null

# The outbound guard: loopback is refused until the allow-list names it.
expect 400 mia POST /api/ml "{\"project\":1,\"url\":\"$url\",\"batch_size\":4}"
[ "$(json_get body.json 'j["error"]["field"]')" = url ] || fail "no url named: $(cat body.json)"
grep -q "loopback" body.json || fail "no reason: $(cat body.json)"
expect 403 rex POST /api/ml "{\"project\":1,\"url\":\"$url\"}"
$ANNOT settings set outbound.allow 127.0.0.1/32
expect 201 mia POST /api/ml "{\"project\":1,\"url\":\"$url\",\"title\":\"fake\",\"batch_size\":4,\"concurrency\":2,\"timeout\":5}"
[ "$(json_get body.json 'j["id"], j["readable_state"], j["model_class"], j["batch_size"]')" = "1 Connected FakeModel 4" ] ||
    fail "create: $(cat body.json)"
expect 400 mia PATCH /api/ml/1 '{"url":"http://169.254.169.254/"}'
expect 400 mia PATCH /api/ml/1 '{"concurrency":0}'
expect 200 mia PATCH /api/ml/1 '{"retries":1}'
expect 200 mia GET "/api/ml?project=1"
[ "$(json_get body.json 'len(j), j[0]["retries"], j[0]["url"]')" = "1 1 $url" ] || fail "list: $(cat body.json)"
expect 200 mia GET /api/projects/1/predictions/models
json_get body.json '[m["name"] for m in j["models"]][:2], j["backends"][0]["id"]' |
    grep -qx "\['textcls', 'fewshot'\] 1" || fail "models: $(cat body.json)"

# Bad job bodies.
expect 400 mia POST /api/projects/1/predictions/jobs '{}'
expect 400 mia POST /api/projects/1/predictions/jobs '{"model":"nosuch"}'
expect 400 mia POST /api/projects/1/predictions/jobs '{"model":"textcls","backend":1}'
expect 400 mia POST /api/projects/1/predictions/jobs '{"backend":99}'
expect 403 rex POST /api/projects/1/predictions/jobs '{"backend":1}'

# A backend job: progress to poll, then done with every task predicted.
expect 202 mia POST /api/projects/1/predictions/jobs '{"backend":1,"only_unlabeled":true}'
jid=$(json_get body.json 'j["id"]')
[ "$(json_get body.json 'j["status"], j["backend"]')" = "running 1" ] || fail "job: $(cat body.json)"
seen=""
i=0
while :; do
    expect 200 mia GET /api/projects/1/predictions/jobs/$jid
    st=$(json_get body.json 'j["status"]')
    json_get body.json 'j["progress"]["done"] <= j["progress"]["total"] or j["progress"]["total"] == 0' |
        grep -q True || fail "progress: $(cat body.json)"
    [ "$st" = running ] || break
    seen="$seen $(json_get body.json 'j["progress"]["done"]')"
    i=$((i + 1)); [ $i -lt 400 ] || fail "job did not finish: $(cat body.json)"; sleep 0.05
done
[ "$(json_get body.json 'j["status"], j["model_version"], j["predicted"], j["failed"], j["progress"]["done"], j["progress"]["total"]')" = \
    "done fake-1 40 0 40 40" ] || fail "finished job: $(cat body.json)"
json_get body.json 'j["finished_at"] is not None and j["error"] is None' | grep -q True || fail "times: $(cat body.json)"
curl -s "$url/stats" >stats.json
json_get stats.json 'max(j["batches"]) <= 4 and j["max_inflight"] <= 2 and sum(j["batches"]) == 40' |
    grep -q True || fail "batches: $(cat stats.json)"
$ANNOT export p --format ls-json -o out.json
json_get out.json 'sum(1 for t in j for p in t["predictions"] if p["model_version"] == "fake-1")' |
    grep -qx 40 || fail "stored predictions"
expect 404 mia GET /api/projects/1/predictions/jobs/999

# A job for a model that was never trained fails, saying why.
expect 202 mia POST /api/projects/1/predictions/jobs '{"model":"textcls"}'
jid=$(json_get body.json 'j["id"]')
i=0
until [ "$(req mia GET /api/projects/1/predictions/jobs/$jid; json_get body.json 'j["status"]')" = "200failed" ]; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "untrained job: $(cat body.json)"; sleep 0.05
done
grep -q "annot train" body.json || fail "reason: $(cat body.json)"

# Removing the allow-list entry refuses the backend at the next job.
$ANNOT settings unset outbound.allow
expect 202 mia POST /api/projects/1/predictions/jobs '{"backend":1}'
jid=$(json_get body.json 'j["id"]')
i=0
until [ "$(req mia GET /api/projects/1/predictions/jobs/$jid; json_get body.json 'j["status"]')" = "200failed" ]; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "refused job: $(cat body.json)"; sleep 0.05
done
grep -q "loopback" body.json || fail "refusal reason: $(cat body.json)"
expect 204 mia DELETE /api/ml/1
expect 404 mia GET /api/ml/1
echo "backend_api: ok"
