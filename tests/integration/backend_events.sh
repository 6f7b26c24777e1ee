# Training events to ML backends, against a real `annot serve` and the stand-in backend on
# loopback: an annotation POSTed through the API reaches the backend's /webhook as Label
# Studio's ANNOTATION_CREATED (project with its labeling config, the annotation, the task
# with its data), a PATCH as ANNOTATION_UPDATED; a backend answering 404 on /webhook (as
# label-studio-ml 1.x does) gets /train with "annotations" instead; `annot backend train`
# sends START_TRAINING; once the allow-list entry is removed the guard refuses the events.
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
    for i in range(6):
        f.write(json.dumps({"data": {"text": ("good %d" if i % 2 else "bad %d") % i}}) + "\n")
PY
$ANNOT project create p --config cfg.xml >/dev/null
$ANNOT import p tasks.jsonl >/dev/null
$ANNOT user add mia --role manager >/dev/null
$ANNOT user add ann --role annotator >/dev/null
$ANNOT member add p mia
$ANNOT member add p ann
for u in mia ann; do eval "T_$u=\$($ANNOT token create $u)"; done

peer_start port $PY "$ANNOT_SRC/tests/data/backends/fake_backend.py" port
url=$peer_url
serve_start
events() { # events N: waits until the backend has recorded N training events (in stats.json)
    i=0
    until curl -s "$url/stats" >stats.json && [ "$(json_get stats.json 'len(j["events"])')" -ge "$1" ]; do
        i=$((i + 1)); [ $i -lt 200 ] || fail "the backend got $(json_get stats.json 'len(j["events"])') events, not $1: $(cat serve.log)"
        sleep 0.05
    done
}
# event K EXPR: EXPR on the K-th recorded event e (its "path" and "body" b)
event() {
    $PY -c "import json,sys; e=json.load(open('stats.json'))['events'][int(sys.argv[1])]; b=e['body']; print($2)" "$1"
}
positive='{"result":[{"from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["positive"]}}]}'
negative='{"result":[{"from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["negative"]}}]}'

$ANNOT settings set outbound.allow 127.0.0.1/32
expect 201 mia POST /api/ml "{\"project\":1,\"url\":\"$url\",\"title\":\"fake\",\"timeout\":5}"

# Created: /webhook with Label Studio's payload, at once (the backend was added just now).
expect 201 ann POST /api/tasks/2/annotations "$positive"
a1=$(json_get body.json 'j["id"]')
events 1
[ "$(event 0 'e["path"], b["action"], b["project"]["id"], b["annotation"]["id"], b["task"]["id"]')" = \
    "/webhook ANNOTATION_CREATED 1 $a1 2" ] || fail "created event: $(cat stats.json)"
[ "$(event 0 'b["project"]["label_config"].startswith("<View"), b["task"]["data"]["text"], b["annotation"]["result"][0]["value"]["choices"]')" = \
    "True good 1 ['positive']" ] || fail "created payload: $(cat stats.json)"

# Updated.
expect 200 ann PATCH /api/annotations/$a1 "$negative"
events 2
[ "$(event 1 'e["path"], b["action"], b["annotation"]["id"], b["annotation"]["result"][0]["value"]["choices"]')" = \
    "/webhook ANNOTATION_UPDATED $a1 ['negative']" ] || fail "updated event: $(cat stats.json)"

# An older backend: 404 on /webhook, so the event goes to /train with the 1.x members.
curl -s -X POST "$url/config" -d '{"no_webhook": true}' >/dev/null
expect 201 ann POST /api/tasks/3/annotations "$negative"
a2=$(json_get body.json 'j["id"]')
events 3
[ "$(event 2 'e["path"], b["action"], b["project"]["id"], b["annotation"]["id"], b["task"]["id"]')" = \
    "/train ANNOTATION_CREATED 1 $a2 3" ] || fail "train fallback: $(cat stats.json)"
[ "$(event 2 'len(b["annotations"]), b["annotations"][0]["id"], b["annotations"][0]["annotations"][0]["id"], b["label_config"].startswith("<View")')" = \
    "1 3 $a2 True" ] || fail "train body: $(cat stats.json)"
curl -s -X POST "$url/config" -d '{"no_webhook": false}' >/dev/null

# Manual training from the CLI: START_TRAINING with the project.
$ANNOT backend train p >train.out || fail "backend train: $(cat train.out)"
grep -q "START_TRAINING sent to /webhook" train.out || fail "train output: $(cat train.out)"
events 4
[ "$(event 3 'e["path"], b["action"], b["project"]["id"], b["project"]["label_config"].startswith("<View"), "annotation" in b')" = \
    "/webhook START_TRAINING 1 True False" ] || fail "start training: $(cat stats.json)"
$ANNOT backend train --json p 1 >train.json
[ "$(json_get train.json 'j["id"], j["sent"], j["path"], j["status"]')" = "1 True /webhook 201" ] ||
    fail "train --json: $(cat train.json)"
expect_status 1 $ANNOT backend train p 9
grep -q "no ML backend 9" "$T/err" || fail "unknown backend: $(cat "$T/err")"

# The guard decides at delivery time: without the allow-list entry the event is refused.
$ANNOT settings unset outbound.allow
expect 201 ann POST /api/tasks/4/annotations "$positive"
i=0
until grep -q "ML backends: ANNOTATION_CREATED to backend 1 .*loopback" serve.log; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "no refusal logged: $(cat serve.log)"; sleep 0.05
done
curl -s "$url/stats" >stats.json
[ "$(json_get stats.json 'len(j["events"])')" = 5 ] || fail "a refused event arrived: $(cat stats.json)"
echo "backend_events: ok"
