# Label Studio ML backends through the real binary: a protocol-speaking stand-in backend
# (tests/data/backends/fake_backend.py, Python's http.server) pre-annotates a project via
# `annot backend add` + `annot predict --backend`, in requests of --batch tasks with at most
# --concurrency in flight, retrying 503s, giving up on slow calls after --timeout, refusing
# answers with a wrong count, naming a task the backend could not predict, accepting both
# answer shapes; predictions carry the backend's model_version. Then the other direction:
# `annot backend serve --model textcls` answers curl and annot's own client (round trip).
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
    for i in range(23):
        text = ("a good day %d" if i % 2 else "a bad day %d") % i
        f.write(json.dumps({"data": {"text": text}}) + "\n")
PY
$ANNOT project create p --config cfg.xml >/dev/null
$ANNOT import p tasks.jsonl >/dev/null

peer_start port $PY "$ANNOT_SRC/tests/data/backends/fake_backend.py" port
url=$peer_url
knob() { curl -s -X POST "$url/config" -d "$1" >/dev/null; }
stats() { curl -s "$url/stats" >stats.json; json_get stats.json "$1"; }

# add checks /health and /setup first: a dead URL is not stored.
expect_status 2 $ANNOT backend add p http://127.0.0.1:1 --timeout 1 --retries 0
grep -q "127.0.0.1" err || fail "dead URL: $(cat err)"
$ANNOT backend add p "$url" --batch 5 --concurrency 2 --retries 3 --timeout 5 --json >add.json
[ "$(json_get add.json 'j["id"], j["model_version"], j["model_class"]')" = "1 fake-1 FakeModel" ] ||
    fail "add: $(cat add.json)"
$ANNOT backend list p | grep -q "fake-1.*batch 5, concurrency 2" || fail "list: $($ANNOT backend list p)"
expect_status 1 $ANNOT backend add p "$url" --batch 0
expect_status 1 $ANNOT backend add p "$url" --concurrency 65

# Batching and the concurrency limit (each call sleeps, so two workers overlap).
knob '{"delay": 0.1}'
$ANNOT predict p --backend 1 --json >pred.json
[ "$(json_get pred.json 'j["model_version"], j["predicted"], j["failed"]')" = "fake-1 23 0" ] ||
    fail "predict: $(cat pred.json)"
[ "$(stats 'sorted(j["batches"]), j["max_inflight"], j["setup"]')" = "[3, 5, 5, 5, 5] 2 2" ] ||
    fail "batches / in flight: $(cat stats.json)"
$ANNOT export p --format ls-json -o out.json
$PY - <<'PY' || fail "exported predictions"
import json
tasks = json.load(open("out.json"))
assert len(tasks) == 23
for t in tasks:
    (p,) = t["predictions"]
    assert p["model_version"] == "fake-1", p
    want = "positive" if "good" in t["data"]["text"] else "negative"
    assert p["result"][0]["value"]["choices"] == [want], (t, p)
    assert abs(p["score"] - 0.8) < 1e-9
PY
# A rerun with the same model version predicts nothing.
$ANNOT predict p --backend 1 --json >pred.json
[ "$(json_get pred.json 'j["predicted"], j["skipped_existing"]')" = "0 23" ] || fail "rerun: $(cat pred.json)"

# Retries: the first two calls are refused with 503, the third attempt gets through.
knob '{"version": "fake-2", "fail_first": 2, "delay": 0.01, "reset": 1}'
$ANNOT predict p --backend 1 --json >pred.json
[ "$(json_get pred.json 'j["model_version"], j["predicted"], j["failed"]')" = "fake-2 23 0" ] ||
    fail "retries: $(cat pred.json)"
[ "$(stats 'j["failed"], j["predict_calls"]')" = "2 7" ] || fail "retry calls: $(cat stats.json)"
$ANNOT backend list p | grep -q "fake-2" || fail "the new version was not recorded"
# Without retries the refused batch fails, named per task with the backend's answer.
$ANNOT backend add p "$url/" --retries 0 --timeout 0.5 --batch 10 --concurrency 1 >/dev/null
knob '{"version": "fake-3", "fail_first": 1, "reset": 1}'
$ANNOT predict p --backend 2 --json >pred.json
[ "$(json_get pred.json 'j["predicted"], j["failed"]')" = "13 10" ] || fail "no retries: $(cat pred.json)"
json_get pred.json 'j["failures"][0]["message"]' | grep -q "answered 503" || fail "503 reason: $(cat pred.json)"
# Running again predicts the failed ones only.
$ANNOT predict p --backend 2 --json >pred.json
[ "$(json_get pred.json 'j["predicted"], j["skipped_existing"]')" = "10 13" ] || fail "resume: $(cat pred.json)"

# Timeout: a call slower than the backend's timeout fails its batch, and is not retried.
knob '{"version": "fake-4", "delay": 2, "reset": 1}'
$ANNOT predict p --backend 2 --json >pred.json
[ "$(json_get pred.json 'j["predicted"], j["failed"]')" = "0 23" ] || fail "timeout: $(cat pred.json)"
json_get pred.json 'j["failures"][0]["message"]' | grep -q "did not answer within 500 ms" ||
    fail "timeout reason: $(cat pred.json)"
[ "$(stats 'j["predict_calls"]')" = 3 ] || fail "a timed-out call was retried: $(cat stats.json)"

# The older answer shape (a bare list); a count mismatch fails the whole request; an item
# with "error" fails its task alone.
knob '{"version": "fake-5", "delay": 0.01, "shape": "list", "short": true}'
$ANNOT predict p --backend 2 --json >pred.json
[ "$(json_get pred.json 'j["predicted"], j["failed"]')" = "0 23" ] || fail "short: $(cat pred.json)"
json_get pred.json 'j["failures"][0]["message"]' | grep -q "answered 9 predictions for 10 tasks" ||
    fail "count mismatch: $(cat pred.json)"
knob '{"short": false, "error_for": "day 7"}'
$ANNOT predict p --backend 2 --json >pred.json
[ "$(json_get pred.json 'j["predicted"], j["failed"], j["failures"][0]["task"]')" = "22 1 8" ] ||
    fail "per-task error: $(cat pred.json)"
json_get pred.json 'j["failures"][0]["message"]' | grep -q "cannot read this one" || fail "error text"

# A URL given directly (not stored), with the newer shape.
knob '{"version": "fake-6", "shape": "results", "error_for": null}'
$ANNOT predict p --backend "$url" --workers 1 --json >pred.json
[ "$(json_get pred.json 'j["model_version"], j["predicted"]')" = "fake-6 23" ] || fail "by URL: $(cat pred.json)"
expect_status 1 $ANNOT predict p --backend 99
expect_status 1 $ANNOT predict p --backend "$url" --model textcls
$ANNOT backend remove 2 >/dev/null
expect_status 1 $ANNOT backend remove 2
[ "$($ANNOT backend list p | wc -l)" = 1 ] || fail "remove"

# ---- annot backend serve: a built-in model over the protocol ----------------------------
$PY - <<'PY'
import json, random
r = random.Random(5)
with open("train.jsonl", "w") as f:
    for i in range(80):
        lab = r.choice(["positive", "negative"])
        w = r.choice(["great", "lovely", "superb"] if lab == "positive" else ["awful", "dull", "poor"])
        rec = {"data": {"text": "the film was %s #%d" % (w, i)}}
        if i < 60:
            rec["annotations"] = [{"completed_by": 1, "result": [{"from_name": "sentiment",
                "to_name": "text", "type": "choices", "value": {"choices": [lab]}}]}]
        f.write(json.dumps(rec) + "\n")
PY
$ANNOT project create q --config cfg.xml >/dev/null
$ANNOT import q train.jsonl >/dev/null
expect_status 1 $ANNOT backend serve --model textcls --port 0 # trained: needs --project
expect_status 1 $ANNOT backend serve --model nosuch --port 0
$ANNOT train q --model textcls --control sentiment --seed 1 >/dev/null
annot_serving backend serve --model textcls --project q --port 0
surl=$base
curl -s "$surl/health" >h.json
[ "$(json_get h.json 'j["status"], j["model_class"], j["model_version"]')" = "UP annot:textcls textcls-1" ] ||
    fail "health: $(cat h.json)"
$PY - "$surl" <<'PY' || fail "setup/predict over the protocol"
import json, sys, urllib.request
base = sys.argv[1]
cfg = open("cfg.xml").read()
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
assert post("/setup", {"project": "7.1700000000", "schema": cfg})["model_version"] == "textcls-1"
ans = post("/predict", {"tasks": [{"id": 1, "data": {"text": "the film was great"}},
                                  {"id": 2, "data": {"text": "the film was awful"}},
                                  {"id": 3, "data": {"other": "x"}}],
                        "label_config": cfg, "project": "7.1700000000",
                        "params": {"login": None, "password": None, "context": None}})
res = ans["results"]
assert len(res) == 3 and ans["model_version"] == "textcls-1", ans
assert res[0]["result"][0]["value"]["choices"] == ["positive"], res[0]
assert res[1]["result"][0]["value"]["choices"] == ["negative"], res[1]
assert 0.5 < res[0]["score"] <= 1 and res[0]["model_version"] == "textcls-1"
assert res[2]["result"] == [] and "data.text" in res[2]["error"], res[2]
assert post("/webhook", {"action": "ANNOTATION_CREATED", "annotation": {}})["status"]
assert "annot train" in post("/train", {"annotations": []})["message"]
# A config without a control the model answers is refused with a reason.
try:
    post("/predict", {"tasks": [], "label_config": "<View><Text name=\"t\" value=\"$t\"/></View>"})
    raise SystemExit("no error")
except urllib.error.HTTPError as e:
    assert e.code == 400 and "sentiment" in e.read().decode()
PY
# annot <-> annot: the served model pre-annotates project p through annot's own client.
$ANNOT predict p --backend "$surl" --json >pred.json
[ "$(json_get pred.json 'j["model_version"], j["predicted"], j["failed"]')" = "textcls-1 23 0" ] ||
    fail "round trip: $(cat pred.json)"
$ANNOT export p --format ls-json -o out.json
json_get out.json 'sum(1 for t in j for p in t["predictions"] if p["model_version"] == "textcls-1" and 0 <= p["score"] <= 1)' |
    grep -qx 23 || fail "round-trip predictions"
echo "backend_cli: ok"
