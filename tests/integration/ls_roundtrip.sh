# Label Studio JSON and JSONL: export -> import into a new workspace -> export is
# byte-identical; spans with CJK text, emoji and combining marks keep their offsets.
. "$(dirname "$0")/lib.sh"
cfg="$ANNOT_SRC/demo/configs/reviews.xml"
$ANNOT project create r --config "$cfg" >/dev/null
$ANNOT import r "$ANNOT_SRC/demo/tasks/reviews.json" >/dev/null

# A task with a combining mark and an emoji before the span: offsets count code points.
$PY - <<'PY' >extra.jsonl
import json
text = "e\u0301t\u00e9 😀 在上海的华为门店"
s = text.index("上海"); 
print(json.dumps({"data": {"text": text}, "annotations": [{"result": [
  {"id": "x", "from_name": "ner", "to_name": "text", "type": "labels",
   "value": {"start": s, "end": s + 2, "text": "上海", "labels": ["LOC"]}},
  {"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices",
   "value": {"choices": ["Neutral"]}}]}]}, ensure_ascii=False))
PY
$ANNOT import r extra.jsonl >/dev/null

for fmt in ls-json ls-jsonl; do
    $ANNOT export r --format $fmt -o a.$fmt
    rm -f b.db
    $ANNOT --db b.db project create r --config "$cfg" >/dev/null
    $ANNOT --db b.db import r a.$fmt --format $fmt >/dev/null
    $ANNOT --db b.db export r --format $fmt -o b.$fmt
    cmp a.$fmt b.$fmt || fail "$fmt round trip differs"
done

# The exported span still selects the same words.
$PY - a.ls-json <<'PY'
import json, sys
tasks = json.load(open(sys.argv[1]))
assert len(tasks) == 6, len(tasks)
for t in tasks:
    for a in t["annotations"]:
        for r in a["result"]:
            v = r.get("value", {})
            if "start" in v and "text" in v:
                assert t["data"]["text"][v["start"]:v["end"]] == v["text"], (t["data"]["text"], v)
PY

# Stats count labels from annotations.
$ANNOT stats r --json >s.json
[ "$(json_get s.json 'j["tasks"]')" = 6 ] || fail "task count"
[ "$(json_get s.json 'j["labels"]["ner"]["LOC"]')" = 3 ] || fail "LOC count: $(cat s.json)"
[ "$(json_get s.json 'j["labels"]["sentiment"]["Positive"]')" = 2 ] || fail "Positive count"

# Re-importing the same file adds nothing.
$ANNOT import r a.ls-json --json >re.json
[ "$(json_get re.json 'j["added"]')" = 0 ] || fail "re-import added tasks"
[ "$(json_get re.json 'j["duplicates"]')" = 6 ] || fail "re-import duplicates"
echo ok
