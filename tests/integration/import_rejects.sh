# Bad records are reported with file, line and reason; good ones go in; --strict keeps a
# whole file out when any record is bad.
. "$(dirname "$0")/lib.sh"
$ANNOT project create r --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
cat >mixed.jsonl <<'JSONL'
{"data": {"text": "good one"}}
{"data": {"text": "broken" 
{"data": {"text": "bad label"}, "annotations": [{"result": [{"id": "a", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Furious"]}}]}]}
{"data": {"text": "bad span"}, "annotations": [{"result": [{"id": "a", "from_name": "ner", "to_name": "text", "type": "labels", "value": {"start": 4, "end": 99, "labels": ["PER"]}}]}]}
{"data": {"body": "no text field"}}
{"data": {"text": "good two"}}
JSONL
expect_status 1 $ANNOT import r mixed.jsonl --rejects rej.jsonl --json
[ "$(json_get out 'j["added"]')" = 2 ] || fail "good records should go in: $(cat out)"
[ "$(json_get out 'j["rejected"]')" = 4 ] || fail "bad records: $(cat out)"
[ "$(wc -l <rej.jsonl)" -eq 4 ] || fail "rejects file should list 4 records"
$PY - rej.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
where = [r["where"] for r in rows]
assert where[0].startswith("mixed.jsonl:2"), where
assert where[1].startswith("mixed.jsonl:3") and "choices" in where[1], where
assert "Furious" in rows[1]["reason"], rows[1]
assert where[2].startswith("mixed.jsonl:4") and "end" in where[2], where
assert where[3].startswith("mixed.jsonl:5") and "text" in (where[3] + rows[3]["reason"]), rows[3]
PY

# Strict: nothing of the file goes in, and the rejects say why.
$ANNOT project create s --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
expect_status 1 $ANNOT import s mixed.jsonl --strict --rejects strict.jsonl --json
[ "$(json_get out 'j["added"]')" = 0 ] || fail "strict import added records"
$ANNOT stats s --json >s.json
[ "$(json_get s.json 'j["tasks"]')" = 0 ] || fail "strict import left tasks behind"
grep -q "strict" strict.jsonl || fail "strict rejects should say the file was skipped"

# A good file imports under --strict.
head -n 1 mixed.jsonl >good.jsonl
$ANNOT import s good.jsonl --strict >/dev/null
$ANNOT stats s --json >s.json
[ "$(json_get s.json 'j["tasks"]')" = 1 ] || fail "strict import of a good file"

# An unknown format name and a missing file are clear errors.
expect_status 1 $ANNOT import r mixed.jsonl --format nope
grep -q "nope" err || fail "unknown format message"
expect_status 1 $ANNOT import r does-not-exist.json
grep -q "does-not-exist.json" err || fail "missing file message: $(cat err)"
echo ok
