# The REST API against a real `annot serve` on a loopback port: authentication, the role x
# endpoint matrix (401, 403, 404), validation errors (422 naming the field), the next-task
# queue with overlap and locks, imports, and Label Studio's response shapes.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
cfg="$ANNOT_SRC/demo/configs/reviews.xml"
$ANNOT user add root --role admin >/dev/null
$ANNOT user add mia --role manager >/dev/null
$ANNOT user add rex --role reviewer >/dev/null
$ANNOT user add ann --role annotator >/dev/null
$ANNOT user add bea --role annotator >/dev/null
$ANNOT user add out --role annotator >/dev/null # member of nothing
for u in root mia rex ann bea out; do
    eval "T_$u=\$($ANNOT token create $u)"
done
echo "correct horse battery" | $ANNOT user passwd ann
$ANNOT project create r --config "$cfg" >/dev/null
$ANNOT import r "$ANNOT_SRC/demo/tasks/reviews.json" >/dev/null
for u in mia rex ann bea; do $ANNOT member add r $u; done

serve_start

# req USER METHOD PATH [BODY]: prints the status; the body goes to body.json.
req() {
    tok=$(eval echo "\${T_$1:-}")
    if [ "$1" = none ]; then auth=""; else auth="Authorization: Token $tok"; fi
    curl -s -o body.json -w '%{http_code}' -X "$2" -H "$auth" -H 'Content-Type: application/json' \
        ${4:+--data-binary "$4"} "$base$3"
}
expect() { # expect STATUS USER METHOD PATH [BODY]
    want=$1; shift
    got=$(req "$@")
    [ "$got" = "$want" ] || fail "$* -> $got, expected $want: $(cat body.json)"
}

# Health is public; everything under /api needs a credential.
expect 200 none GET /health
expect 401 none GET /api/projects
curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Token ant_bogus' "$base/api/projects" | grep -qx 401 || fail "bogus token"

# Visibility: members see the project; a non-member sees nothing (404, not 403).
for u in root mia rex ann; do expect 200 $u GET /api/projects/1; done
expect 404 out GET /api/projects/1
req out GET /api/projects >/dev/null; json_get body.json 'j["count"]' | grep -qx 0 || fail "non-member lists a project"
req ann GET /api/projects >/dev/null; json_get body.json 'j["results"][0]["title"]' | grep -qx r || fail "member list"
expect 404 out GET /api/tasks/1
expect 404 out GET "/api/tasks?project=1"

# Creating projects: managers and admins.
newp='{"title":"n","label_config":"<View><Text name=\"t\" value=\"$text\"/><Choices name=\"c\" toName=\"t\"><Choice value=\"A\"/></Choices></View>"}'
expect 403 ann POST /api/projects "$newp"
expect 403 rex POST /api/projects "$newp"
expect 201 mia POST /api/projects "$newp"
json_get body.json 'j["task_number"]' | grep -qx 0 || fail "project shape"
expect 400 mia POST /api/projects '{"title":"bad","label_config":"<View><Bogus/></View>"}'
grep -q Bogus body.json || fail "config error names the tag"
expect 400 mia POST /api/projects '{nope'
expect 400 mia POST /api/projects/validate '{"label_config":"<View>"}'
expect 200 mia POST /api/projects/validate "$newp"

# Tasks: a page without payloads, one task in Label Studio's shape.
expect 200 ann GET "/api/tasks?project=1&page=1&page_size=2"
json_get body.json 'len(j["tasks"]), j["total"]' | grep -qx "2 5" || fail "task page: $(cat body.json)"
json_get body.json '"data" in j["tasks"][0]' | grep -qx False || fail "listing carries payloads"
expect 200 ann GET "/api/tasks?project=1&after=4"
json_get body.json '[t["id"] for t in j["tasks"]]' | grep -qx "\[5\]" || fail "keyset page"
expect 400 ann GET "/api/tasks?project=1&page_size=0"
expect 200 mia GET /api/tasks/1
json_get body.json 'j["data"]["text"][:6], j["project"], len(j["annotations"])' | grep -qx "Bought 1 1" || fail "task shape: $(cat body.json)"
# Blind annotation: an annotator sees the task but not others' annotations of it.
expect 200 ann GET /api/tasks/1
json_get body.json 'j["data"]["text"][:6], len(j["annotations"])' | grep -qx "Bought 0" || fail "annotator sees others' annotations: $(cat body.json)"
expect 200 ann GET /api/tasks/1/annotations
json_get body.json 'len(j)' | grep -qx 0 || fail "annotator lists others' annotations: $(cat body.json)"

# Annotations are validated against the config: 422 naming the field.
bad='{"result":[{"id":"a","from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Furious"]}}]}'
expect 422 ann POST /api/tasks/4/annotations "$bad"
json_get body.json 'j["error"]["field"]' | grep -qx 'result\[0\].value.choices\[0\]' || fail "422 field: $(cat body.json)"
span='{"result":[{"id":"a","from_name":"ner","to_name":"text","type":"labels","value":{"start":0,"end":3,"text":"Nop","labels":["PER"]}}]}'
expect 422 ann POST /api/tasks/4/annotations "$span"
good='{"result":[{"id":"a","from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Neutral"]}}],"lead_time":4.5}'
expect 404 out POST /api/tasks/4/annotations "$good"
expect 201 ann POST /api/tasks/4/annotations "$good"
aid=$(json_get body.json 'j["id"]')
json_get body.json 'j["completed_by"], j["lead_time"]' | grep -qx "4 4.5" || fail "annotation shape: $(cat body.json)"
# Only its author or a manager changes it.
expect 403 bea PATCH /api/annotations/$aid '{"lead_time":1}'
expect 200 ann PATCH /api/annotations/$aid '{"lead_time":7}'
json_get body.json 'j["lead_time"], j["result"][0]["value"]["choices"]' | grep -qx "7.0 \['Neutral'\]" || fail "patch keeps result"
expect 422 ann PATCH /api/annotations/$aid "$bad"
expect 200 rex GET /api/annotations/$aid
expect 200 ann GET /api/tasks/4/annotations
json_get body.json 'len(j)' | grep -qx 1 || fail "task annotations"
$ANNOT stats r --json >s.json
json_get s.json 'j["labels"]["sentiment"]["Neutral"]' | grep -qx 1 || fail "stats see the API's annotation"

# Dashboard counts: labels from the label index, per annotator; names only for those who
# review or run the project.
expect 200 rex GET /api/projects/1/stats
json_get body.json 'j["labels"]["sentiment"]["Neutral"], j["tasks"]' | grep -qx "1 5" || fail "stats: $(cat body.json)"
json_get body.json '[a["username"] for a in j["annotators"] if a["id"] == 4][0], [a["submitted"] for a in j["annotators"] if a["id"] == 4][0]' | grep -qx "ann 1" || fail "stats per annotator: $(cat body.json)"
expect 200 ann GET /api/projects/1/stats
json_get body.json 'any("username" in a for a in j["annotators"])' | grep -qx False || fail "annotators must not see names"
expect 404 out GET /api/projects/1/stats

# Predictions: managers (and admins) only, validated like annotations.
pred='{"task":5,"model_version":"m1","score":0.5,"result":[{"id":"p","from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Negative"]}}]}'
expect 403 ann POST /api/predictions "$pred"
expect 201 mia POST /api/predictions "$pred"
expect 422 mia POST /api/predictions '{"task":5,"result":[{"from_name":"nope","to_name":"text","type":"choices","value":{}}]}'

# Next task: overlap 1 by default; never the same task twice to one annotator; a task handed
# to one annotator is locked for the other.
expect 200 ann GET /api/projects/1/next
t1=$(json_get body.json 'j["id"]')
expect 200 bea GET /api/projects/1/next
t2=$(json_get body.json 'j["id"]')
[ "$t1" != "$t2" ] || fail "two annotators got the same locked task $t1"
expect 200 ann GET /api/projects/1/next
[ "$(json_get body.json 'j["id"]')" = "$t1" ] || fail "an annotator's own lock should give the same task back"
expect 201 ann POST /api/tasks/$t1/annotations "$good"
# Task $t1 is done for ann and $t2 is reserved for bea: nothing is left for ann.
expect 404 ann GET /api/projects/1/next
json_get body.json 'j["error"]["code"]' | grep -qx no_more_tasks || fail "no_more_tasks"
# Overlap 1 (the default): a task annotated once is not handed to anyone else.
expect 201 bea POST /api/tasks/$t2/annotations "$good"
expect 404 bea GET /api/projects/1/next

# Deleting: managers only.
expect 403 ann DELETE /api/tasks/3
expect 204 mia DELETE /api/tasks/3
expect 404 mia GET /api/tasks/3
expect 204 ann DELETE /api/annotations/$aid

# Import through the API: a JSON list of tasks; bad records listed with their place.
expect 403 ann POST /api/projects/1/import '[{"text":"x"}]'
expect 201 mia POST /api/projects/1/import '[{"text":"via api"},{"data":{"text":"bad"},"annotations":[{"result":[{"id":"z","from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Nope"]}}]}]}]'
json_get body.json 'j["task_count"], j["rejected_count"]' | grep -qx "1 1" || fail "API import: $(cat body.json)"
json_get body.json 'j["rejects"][0]["reason"]' | grep -q Nope || fail "API import rejects"

# Sessions: login sets an HttpOnly cookie; writes need the CSRF token; bad passwords are
# rate-limited.
code=$(curl -s -c jar -o login.json -w '%{http_code}' -X POST -d '{"username":"ann","password":"correct horse battery"}' "$base/api/auth/login")
[ "$code" = 200 ] || fail "login: $code $(cat login.json)"
grep -q "HttpOnly_" jar || fail "session cookie is not HttpOnly"
csrf=$(json_get login.json 'j["csrf"]')
curl -s -b jar -o /dev/null -w '%{http_code}' "$base/api/current-user/whoami" | grep -qx 200 || fail "cookie auth"
curl -s -b jar -o /dev/null -w '%{http_code}' -X POST -d "$good" "$base/api/tasks/5/annotations" | grep -qx 403 || fail "write without CSRF token"
curl -s -b jar -o /dev/null -w '%{http_code}' -X POST -H "X-CSRF-Token: $csrf" -d "$good" "$base/api/tasks/5/annotations" | grep -qx 201 || fail "write with CSRF token"
for k in 1 2 3 4 5; do
    curl -s -o /dev/null -X POST -d '{"username":"bea","password":"wrong-password"}' "$base/api/auth/login"
done
curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"username":"bea","password":"wrong-password"}' "$base/api/auth/login" | grep -qx 429 || fail "login rate limit"

# Errors are JSON with the right status; unknown paths and methods; oversized bodies.
expect 404 ann GET /api/nothing-here
expect 405 ann PUT /api/projects/1
head -c 2000000 /dev/zero | tr '\0' 'a' >big.txt
code=$(curl -s -o body.json -w '%{http_code}' -H "Authorization: Token $T_ann" --data-binary @big.txt "$base/api/tasks/5/annotations")
[ "$code" = 413 ] || fail "oversized body: $code"
curl -s "$base/metrics" | grep -q 'annot_http_requests_total' || fail "metrics"
echo ok
