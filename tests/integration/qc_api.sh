# QC over the REST API: members read the rules, managers replace them (a bad document is a
# 400 naming the place), a manager runs the batch, reviewers list every finding with
# filters and keyset paging, annotators only their own; non-members see nothing.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
$ANNOT user add root --role admin >/dev/null
$ANNOT user add mia --role manager >/dev/null
$ANNOT user add rex --role reviewer >/dev/null
$ANNOT user add ann --role annotator >/dev/null
$ANNOT user add bea --role annotator >/dev/null
$ANNOT user add out --role annotator >/dev/null
for u in root mia rex ann bea out; do eval "T_$u=\$($ANNOT token create $u)"; done
$ANNOT project create r --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
# ann (user 4) and bea (user 5) each annotate two tasks, all quickly.
cat >tasks.json <<'EOF'
[{"data": {"text": "one"}, "annotations": [
   {"completed_by": 4, "lead_time": 1, "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}]},
   {"completed_by": 5, "lead_time": 1, "result": []}]},
 {"data": {"text": "two"}, "annotations": [
   {"completed_by": 4, "lead_time": 1, "result": []},
   {"completed_by": 5, "lead_time": 1, "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Negative"]}}]}]}]
EOF
$ANNOT import r tasks.json >/dev/null
for u in mia rex ann bea; do $ANNOT member add r $u; done

serve_start

# No rules yet: an empty document.
expect 200 ann GET /api/projects/1/qc/rules
[ "$(json_get body.json 'j["rules"], j["updated_at"]')" = "[] None" ] || fail "empty rules: $(cat body.json)"
expect 404 out GET /api/projects/1/qc/rules

rules='{"rules":[{"id":"req","type":"required","severity":"error"},{"id":"fast","type":"lead_time","min_seconds":5}]}'
expect 403 rex PUT /api/projects/1/qc/rules "$rules"
expect 403 ann PUT /api/projects/1/qc/rules "$rules"
expect 400 mia PUT /api/projects/1/qc/rules '{"rules":[{"id":"a","type":"box_bounds","min_width":-1}]}'
[ "$(json_get body.json 'j["error"]["field"]')" = "rules[0].min_width" ] || fail "bad place: $(cat body.json)"
expect 400 mia PUT /api/projects/1/qc/rules '{"rules":[{"id":"a","type":"taxonomy","controls":["ner","x"]}]}'
[ "$(json_get body.json 'j["error"]["field"]')" = "rules[0].controls[1]" ] || fail "bad control: $(cat body.json)"
expect 200 mia PUT /api/projects/1/qc/rules "$rules"
[ "$(json_get body.json 'len(j["rules"])')" = 2 ] || fail "put answer: $(cat body.json)"
# What GET answers can be PUT back as it is.
expect 200 rex GET /api/projects/1/qc/rules
cp body.json doc.json
expect 200 mia PUT /api/projects/1/qc/rules "$(cat doc.json)"

expect 403 rex POST /api/projects/1/qc/run
expect 403 ann POST /api/projects/1/qc/run
expect 200 mia POST /api/projects/1/qc/run
[ "$(json_get body.json 'j["tasks"], j["annotations"], j["errors"], j["warnings"]')" = "2 4 2 4" ] ||
    fail "run summary: $(cat body.json)"

# Reviewers see all six findings; filters; paging by keyset.
expect 200 rex GET /api/projects/1/qc/findings
[ "$(json_get body.json 'len(j["findings"]), j["next"]')" = "6 None" ] || fail "all findings: $(cat body.json)"
expect 200 rex GET "/api/projects/1/qc/findings?rule=req"
[ "$(json_get body.json 'sorted((f["task"], f["annotator"]) for f in j["findings"])')" = "[(1, 5), (2, 4)]" ] ||
    fail "rule filter: $(cat body.json)"
expect 200 rex GET "/api/projects/1/qc/findings?annotator=bea&severity=warning"
[ "$(json_get body.json 'len(j["findings"])')" = 2 ] || fail "annotator filter: $(cat body.json)"
expect 200 rex GET "/api/projects/1/qc/findings?task=2"
[ "$(json_get body.json 'len(j["findings"])')" = 3 ] || fail "task filter: $(cat body.json)"
expect 200 rex GET "/api/projects/1/qc/findings?page_size=4"
[ "$(json_get body.json 'len(j["findings"])')" = 4 ] || fail "page 1: $(cat body.json)"
next=$(json_get body.json 'j["next"]')
expect 200 rex GET "/api/projects/1/qc/findings?page_size=4&after=$next"
[ "$(json_get body.json 'len(j["findings"]), j["next"]')" = "2 None" ] || fail "page 2: $(cat body.json)"
expect 400 rex GET "/api/projects/1/qc/findings?page_size=0"
expect 400 rex GET "/api/projects/1/qc/findings?severity=fatal"

# Annotators: only their own, whatever they ask for.
expect 200 ann GET /api/projects/1/qc/findings
[ "$(json_get body.json 'sorted(set(f["annotator"] for f in j["findings"])), len(j["findings"])')" = "[4] 3" ] ||
    fail "annotator sees others: $(cat body.json)"
expect 200 ann GET "/api/projects/1/qc/findings?annotator=bea"
[ "$(json_get body.json 'sorted(set(f["annotator"] for f in j["findings"]))')" = "[4]" ] ||
    fail "annotator filter escaped: $(cat body.json)"
expect 404 out GET /api/projects/1/qc/findings

# A second run replaces the batch findings.
expect 200 root POST /api/projects/1/qc/run
expect 200 rex GET /api/projects/1/qc/findings
[ "$(json_get body.json 'len(j["findings"])')" = 6 ] || fail "second run: $(cat body.json)"

# On submit: a blocking rule refuses with 422 naming the rule and the place; a warning rule
# lets the annotation in and stores a finding with it; a change replaces that finding.
expect 201 mia POST /api/projects/1/import '[{"data": {"text": "three"}}]'
choice='{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}}'
expect 422 ann POST /api/tasks/3/annotations '{"result": [], "lead_time": 10}'
json_get body.json 'j["error"]["message"]' | grep -q 'rule "req"' || fail "422 names no rule: $(cat body.json)"
[ "$(json_get body.json 'j["error"]["field"] is not None')" = True ] || fail "422 names no place: $(cat body.json)"
expect 201 ann POST /api/tasks/3/annotations "{\"result\": [$choice], \"lead_time\": 1}"
aid=$(json_get body.json 'j["id"]')
expect 200 rex GET "/api/projects/1/qc/findings?task=3"
[ "$(json_get body.json '[(f["rule"], f["annotation"], f["origin"]) for f in j["findings"]]')" = "[('fast', $aid, 'submit')]" ] ||
    fail "submit finding: $(cat body.json)"
expect 200 ann PATCH /api/annotations/$aid '{"lead_time": 30}'
expect 200 rex GET "/api/projects/1/qc/findings?task=3"
[ "$(json_get body.json 'len(j["findings"])')" = 0 ] || fail "changed annotation keeps its finding: $(cat body.json)"
expect 422 ann PATCH /api/annotations/$aid '{"result": []}'
echo ok
