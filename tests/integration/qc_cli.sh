# annot qc through the command line: set rules (a bad document is refused naming the file
# and the JSON path), run them over a project, list findings with filters, and a second run
# replaces the batch findings instead of adding to them.
. "$(dirname "$0")/lib.sh"
$ANNOT user add ann --role annotator >/dev/null
$ANNOT user add bob --role annotator >/dev/null
$ANNOT user add cid --role annotator >/dev/null
$ANNOT project create r --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
# Task 1: ann is quick and lacks ORG, which bob and cid have (cid cuts "Google"); bob and
# cid lack ann's PRODUCT: with two others, one of them is already half.
# Task 2: bob's only annotation is cancelled (not checked); ann says nothing about sentiment.
cat >tasks.json <<'EOF'
[{"data": {"text": "Bought a Pixel from Google"},
  "annotations": [
   {"completed_by": 1, "lead_time": 1.5, "result": [
     {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}},
     {"from_name": "ner", "to_name": "text", "type": "labels", "value": {"start": 9, "end": 14, "labels": ["PRODUCT"]}}]},
   {"completed_by": 2, "lead_time": 20, "result": [
     {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}},
     {"from_name": "ner", "to_name": "text", "type": "labels", "value": {"start": 20, "end": 26, "labels": ["ORG"]}}]},
   {"completed_by": 3, "lead_time": 30, "result": [
     {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}},
     {"from_name": "ner", "to_name": "text", "type": "labels", "value": {"start": 20, "end": 25, "labels": ["ORG"]}}]}]},
 {"data": {"text": "Fine"},
  "annotations": [
   {"completed_by": 1, "lead_time": 9, "result": []},
   {"completed_by": 2, "lead_time": 9, "was_cancelled": true, "result": []}]}]
EOF
$ANNOT import r tasks.json >/dev/null
cat >rules.json <<'EOF'
{"rules": [
 {"id": "req", "type": "required", "severity": "error"},
 {"id": "fast", "type": "lead_time", "min_seconds": 5},
 {"id": "spans", "type": "span_boundary"},
 {"id": "omit", "type": "label_omission", "source": "consensus"}]}
EOF
# No rules yet: the run checks nothing.
$ANNOT qc r --json >out.json
[ "$(json_get out.json 'j["annotations"], j["rules"]')" = "0 []" ] || fail "run without rules: $(cat out.json)"
$ANNOT qc rules r --set rules.json >/dev/null
$ANNOT qc rules r --json >out.json
[ "$(json_get out.json 'len(j["rules"]["rules"])')" = 4 ] || fail "rules not stored: $(cat out.json)"

$ANNOT qc r --json >out.json
json_get out.json 'j["tasks"], j["annotations"], j["errors"], j["warnings"]' >got.txt
[ "$(cat got.txt)" = "2 4 1 5" ] || fail "summary: $(cat out.json)"
json_get out.json '{r["rule"]: r["findings"] for r in j["rules"]}' >got.txt
[ "$(cat got.txt)" = "{'req': 1, 'fast': 1, 'spans': 1, 'omit': 3}" ] || fail "per rule: $(cat got.txt)"
$ANNOT qc findings r --json >f.jsonl
[ "$(wc -l <f.jsonl)" -eq 6 ] || fail "findings: $(cat f.jsonl)"
$ANNOT qc findings r --rule spans --json >f.jsonl
[ "$(json_get f.jsonl 'j["place"], j["annotator_name"], j["severity"]')" = "result[1].value.end cid warning" ] ||
    fail "span finding: $(cat f.jsonl)"
$ANNOT qc findings r --severity error --json >f.jsonl
[ "$(json_get f.jsonl 'j["rule"], j["task"], j["place"]')" = "req 2 result" ] || fail "error finding: $(cat f.jsonl)"
$ANNOT qc findings r --annotator ann --json >f.jsonl
[ "$(wc -l <f.jsonl)" -eq 3 ] || fail "ann's findings: $(cat f.jsonl)"
$ANNOT qc findings r --annotator ann >f.txt
grep -q "fast" f.txt || fail "text listing: $(cat f.txt)"
grep -q "omit" f.txt || fail "omission for ann: $(cat f.txt)"

# Running again replaces the batch findings.
$ANNOT qc r >/dev/null
$ANNOT qc findings r --json >f.jsonl
[ "$(wc -l <f.jsonl)" -eq 6 ] || fail "second run added findings: $(cat f.jsonl)"

# A bad document is refused with the file and the place, and the stored one stays.
echo '{"rules": [{"id": "x", "type": "expr", "message": "m", "require": {"field": "value.text", "regex": "(("}}]}' >bad.json
expect_status 1 $ANNOT qc rules r --set bad.json
grep -q "bad.json:rules\[0\].require.regex" err || fail "bad rules message: $(cat err)"
$ANNOT qc rules r --json >out.json
[ "$(json_get out.json 'len(j["rules"]["rules"])')" = 4 ] || fail "bad rules replaced the good ones"
expect_status 1 $ANNOT qc findings r --severity fatal
expect_status 1 $ANNOT qc nope
expect_status 1 $ANNOT qc frobnicate r
echo ok
