# annot pii scan and annot redact through the command line: exact JSONL findings for a file
# of text and JSON lines, bounded memory on a 200 MB stream, and a redacted project copy whose
# annotation spans still select the same (redacted) words.
. "$(dirname "$0")/lib.sh"

# ---- a mixed file: text lines and JSON lines, Chinese, English, emoji -------------------
$PY - >mixed.txt <<'PY'
import json
def idnum(body):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11]
idn = idnum("11010519491231002")
print("客户张三，身份证号 " + idn + "，手机 13812345678。")
print("No PII here, only an order: 订单号 2024010112345678901234")
print(json.dumps({"data": {"text": "😀 email me: li.si@example.com", "turns": [
    {"text": "plate 京A12345"}, {"text": "server ip 192.168.10.20"}]}}, ensure_ascii=False))
print("call +44 20 7946 0958 or 010-62345678")
PY
$ANNOT pii scan mixed.txt --json >found.jsonl 2>summary.txt
cat >want.jsonl <<'JSONL'
{"line":1,"start":10,"end":28,"type":"ID_CARD","score":1.0}
{"line":1,"start":32,"end":43,"type":"PHONE","score":1.0}
{"line":3,"field":"data.text","start":12,"end":29,"type":"EMAIL","score":1.0}
{"line":3,"field":"data.turns[0].text","start":6,"end":13,"type":"PLATE","score":1.0}
{"line":3,"field":"data.turns[1].text","start":10,"end":23,"type":"IPV4","score":0.95}
{"line":4,"start":5,"end":21,"type":"PHONE","score":0.85}
{"line":4,"start":25,"end":37,"type":"PHONE","score":0.5}
JSONL
diff want.jsonl found.jsonl || fail "pii scan --json findings differ"
grep -q "pii: 7 findings: ID_CARD 1, PHONE 3, EMAIL 1, IPV4 1, PLATE 1" summary.txt ||
    fail "summary: $(cat summary.txt)"
# Offsets are code points of the line or field: they select the values.
$PY - mixed.txt found.jsonl <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
for f in map(json.loads, open(sys.argv[2])):
    s = lines[f["line"] - 1]
    if "field" in f:
        j = json.loads(s)
        for part in f["field"].replace("]", "").replace("[", ".").split("."):
            j = j[int(part)] if part.isdigit() else j[part]
        s = j
    v = s[f["start"]:f["end"]]
    assert v and v[0].isalnum() or v[0] in "+(", (f, v)
PY
# stdin reads the same, and the readable listing masks values.
$ANNOT pii scan - <mixed.txt >listing.txt 2>/dev/null
grep -q "110\*\*\*\*\*\*\*\*\*\*\*002X" listing.txt || fail "listing: $(cat listing.txt)"
grep -q "13812345678" listing.txt && fail "the listing shows a phone number in clear"
# A custom pattern and a deny list.
printf 'EMP-004211 met 王五\n' >custom.txt
printf '王五\n' >deny.txt
$ANNOT pii scan custom.txt --json --pattern 'EMPLOYEE=EMP-\d{6}' --deny deny.txt >c.jsonl 2>/dev/null
grep -q '"start":0,"end":10,"type":"CUSTOM","name":"EMPLOYEE"' c.jsonl || fail "custom: $(cat c.jsonl)"
grep -q '"start":15,"end":17,"type":"CUSTOM","name":"DENY"' c.jsonl || fail "deny: $(cat c.jsonl)"
expect_status 1 $ANNOT pii scan custom.txt --pattern 'BAD=(x'

# ---- redact a file -----------------------------------------------------------------------
$ANNOT redact mixed.txt --policy all=replace,PHONE=mask -o red.txt 2>/dev/null
grep -q "身份证号 \[ID_CARD\]，手机 138\*\*\*\*5678。" red.txt || fail "redacted: $(cat red.txt)"
$ANNOT pii scan red.txt --json --min-score 0.6 >left.jsonl 2>/dev/null
[ ! -s left.jsonl ] || fail "PII left after redaction: $(cat left.jsonl)"
# Pseudonyms: one value, one token, across runs.
printf 'a 13812345678\nb 13812345678\nc 13912345678\n' >ps.txt
$ANNOT redact ps.txt --policy all=pseudonym -o ps1.txt 2>/dev/null
$ANNOT redact ps.txt --policy all=pseudonym -o ps2.txt 2>/dev/null
cmp ps1.txt ps2.txt || fail "pseudonyms changed between runs"
[ "$(cut -d' ' -f2 ps1.txt | sort -u | wc -l)" -eq 2 ] || fail "pseudonyms: $(cat ps1.txt)"
$ANNOT settings list 2>/dev/null | grep -qx "pii.secret=(secret, not shown)" || fail "no workspace secret stored, or it is shown"
expect_status 1 $ANNOT settings get pii.secret
grep -q "never printed" "$T/err" || fail "settings get printed the secret: $(cat "$T/out")"

# ---- 200 MB through in bounded memory --------------------------------------------------
$PY - big.txt <<'PY'
import sys
block = ("客户手机 13812345678，邮箱 someone@example.com，车牌京A12345，" * 3 + "\n" +
         '{"data":{"text":"server ip 10.1.2.3 and card 4111111111111111"}}\n' +
         "Plain English text without any personal information at all, only words.\n") * 200
with open(sys.argv[1], "w", encoding="utf-8") as f:
    size = 0
    while size < 200 * 1000 * 1000:
        f.write(block)
        size += len(block.encode())
PY
if grep -q __asan_init "$ANNOT"; then
    # AddressSanitizer keeps freed memory in quarantine and adds ~60 MiB of its own: turn the
    # quarantine off and bound the growth over a 1 MB scan instead of the total.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
    head -c 1000000 big.txt >small.txt
    /usr/bin/time -f %M -o rss0.txt $ANNOT pii scan small.txt --json >/dev/null 2>&1
    base=$(tail -1 rss0.txt)
else
    base=0
fi
/usr/bin/time -f %M -o rss.txt $ANNOT pii scan big.txt --json >/dev/null 2>big.err
rss=$(tail -1 rss.txt)
if [ "$base" -gt 0 ]; then limit=$((base + 8192)); else limit=65536; fi
[ "$rss" -lt "$limit" ] ||
    fail "scanning 200 MB used $rss KiB of memory (1 MB: $base KiB; bound: 64 MiB)"
grep -q "pii: " big.err || fail "no summary: $(cat big.err)"
rm -f big.txt

# ---- redact a project: spans keep selecting the same words ------------------------------
cat >ner.xml <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Labels name="label" toName="text"><Label value="PER"/><Label value="LOC"/><Label value="PII"/></Labels>
  <TextArea name="note" toName="text"/>
</View>
XML
$PY - >tasks.json <<'PY'
import json
text = "张三的手机是13812345678，住在北京😀，邮箱 zs@example.com 结束"
def span(id, s, e, label):
    return {"id": id, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]}}
p = text.index("138"); m = text.index("zs@")
res = [span("a", 0, 2, "PER"), span("b", p, p + 11, "PII"), span("c", p + 3, p + 7, "PII"),
       span("d", text.index("北京"), text.index("北京") + 2, "LOC"),
       span("e", text.index("结束"), text.index("结束") + 2, "LOC"),
       {"id": "n", "from_name": "note", "to_name": "text", "type": "textarea",
        "value": {"text": ["回电 13912345678"]}}]
pred = [span("p1", text.index("北京"), text.index("北京") + 2, "LOC")]
print(json.dumps([{"data": {"text": text}, "annotations": [{"result": res}],
                   "predictions": [{"model_version": "m1", "result": pred}]},
                  {"data": {"text": "nothing personal"}, "annotations": [{"result": []}]}],
                 ensure_ascii=False))
PY
$ANNOT project create src --config ner.xml >/dev/null
$ANNOT import src tasks.json >/dev/null
# A project whose policy refuses PII cannot be exported until it is redacted.
$ANNOT project create guarded --config ner.xml --settings '{"pii_policy": "refuse"}' >/dev/null
$ANNOT import guarded tasks.json >/dev/null
expect_status 1 $ANNOT export guarded --format ls-json -o guarded.json
grep -q "task" "$T/err" || fail "refusal names no task: $(cat "$T/err")"
[ ! -e guarded.json ] || fail "a refused export left a file"
$ANNOT redact --project src --to src-redacted --policy all=replace,EMAIL=pseudonym --json >rep.json
[ "$(sqlite3 "$ANNOT_DB" "SELECT count(*) FROM ledger WHERE kind = 'redaction'")" = 1 ] ||
    fail "no redaction entry in the ledger"
$ANNOT ledger verify >/dev/null || fail "the ledger does not verify after a redaction"
[ "$(json_get rep.json 'j["tasks"], j["annotations"], j["predictions"]')" = "2 2 1" ] ||
    fail "redact report: $(cat rep.json)"
$ANNOT pii scan --project src-redacted --json --min-score 0.5 >proj_left.jsonl 2>/dev/null
[ ! -s proj_left.jsonl ] || fail "PII left in the copy: $(cat proj_left.jsonl)"
$ANNOT pii scan --project src --json >proj.jsonl 2>/dev/null
grep -q '"field":"annotations\[0\].result\[5\].value.text\[0\]"' proj.jsonl ||
    fail "text answers not scanned: $(cat proj.jsonl)"
$ANNOT export src-redacted --format ls-json -o red.json
$PY - red.json <<'PY'
import json, sys, re
tasks = json.load(open(sys.argv[1]))
t = [t for t in tasks if "结束" in t["data"]["text"]][0]
text = t["data"]["text"]
assert text.startswith("张三的手机是[PHONE]，住在北京😀，邮箱 EMAIL_"), text
got = {r["id"]: text[r["value"]["start"]:r["value"]["end"]]
       for r in t["annotations"][0]["result"] if r["type"] == "labels"}
for r in t["annotations"][0]["result"]:
    if r["type"] == "labels":
        assert r["value"]["text"] == got[r["id"]], r
assert got["a"] == "张三" and got["d"] == "北京" and got["e"] == "结束", got
assert got["b"] == "[PHONE]" and got["c"] == "[PHONE]", got
note = [r for r in t["annotations"][0]["result"] if r["type"] == "textarea"][0]
assert note["value"]["text"] == ["回电 [PHONE]"], note
p = t["predictions"][0]["result"][0]["value"]
assert text[p["start"]:p["end"]] == "北京", p
PY
# The source project is untouched and a second copy with the same name is refused.
$ANNOT export src --format ls-json -o src.json
grep -q 13812345678 src.json || fail "the source project changed"
expect_status 1 $ANNOT redact --project src --to src-redacted
