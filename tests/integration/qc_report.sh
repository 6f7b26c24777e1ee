# annot qc report: the CLI writes report.json and report.html (whole files, a self-contained
# page: inline SVG, no scripts, no external URLs, user names escaped); the API answers both
# routes to reviewers and up, the page with its own strict Content-Security-Policy.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
cat >cfg.xml <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
  <TextArea name="note" toName="text"/>
</View>
XML
$ANNOT user add boss --role manager >/dev/null
$ANNOT user add rex --role reviewer >/dev/null
$ANNOT user add ann --role annotator >/dev/null
$ANNOT user add '<b>x</b>' --role annotator >/dev/null
$ANNOT user add out --role annotator >/dev/null
for u in boss rex ann out; do eval "T_$u=\$($ANNOT token create $u)"; done
$ANNOT project create rep --config cfg.xml >/dev/null
# Users 1 boss (gold), 3 ann, 4 <b>x</b>; two days.
$PY - <<'PY'
import json
def ann(user, choice, day, gt=False):
    return {"completed_by": user, "ground_truth": gt, "lead_time": 1,
            "created_at": day + "T09:00:00.000000Z", "updated_at": day + "T09:00:00.000000Z",
            "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                        "value": {"choices": [choice]}}]}
tasks = [
    {"data": {"text": "good"}, "annotations": [ann(1, "pos", "2026-02-01", True), ann(3, "pos", "2026-02-01"), ann(4, "neg", "2026-02-01")]},
    {"data": {"text": "bad"}, "annotations": [ann(3, "neg", "2026-02-02"), ann(4, "neg", "2026-02-02")]},
    {"data": {"text": "fine"}, "annotations": [ann(3, "pos", "2026-02-02"), ann(4, "pos", "2026-02-02")]},
]
json.dump(tasks, open("tasks.json", "w"))
PY
$ANNOT import rep tasks.json >/dev/null
for u in boss rex ann; do $ANNOT member add rep $u; done
echo '{"rules":[{"id":"fast","type":"lead_time","min_seconds":5}]}' >rules.json
$ANNOT qc rules rep --set rules.json >/dev/null
$ANNOT qc rep >/dev/null

# The CLI: both files, whole; the folder is made when missing.
$ANNOT qc report rep -o rep_out >cli.txt
grep -q "report.json" cli.txt || fail "CLI output: $(cat cli.txt)"
[ -s rep_out/report.json ] && [ -s rep_out/report.html ] || fail "files missing: $(ls -la rep_out)"
ls -a rep_out | grep -q '^\.report' && fail "a temporary file was left behind: $(ls -a rep_out)"
[ "$(json_get rep_out/report.json 'j["summary"]["tasks"], j["summary"]["annotations"], j["summary"]["findings"], len(j["trends"]["days"])')" = "3 7 7 2" ] ||
    fail "summary: $(head -c 800 rep_out/report.json)"
[ "$(json_get rep_out/report.json '[(a["name"], a["gold"]["seen"], a["gold"]["correct"]) for a in j["controls"][0]["annotators"]]')" = "[('ann', 1, 1), ('<b>x</b>', 1, 0)]" ] ||
    fail "gold: $(head -c 1500 rep_out/report.json)"
json_get rep_out/report.json 'j["controls"][0]["confusion"]' | grep -q '\[\[' || fail "confusion matrix"
json_get rep_out/report.json '[(p["a_name"], p["b_name"]) for p in j["agreement"][0]["pairs"]]' | grep -q "<b>x</b>" ||
    fail "agreement pairs: $(json_get rep_out/report.json 'j["agreement"]')"
html=rep_out/report.html
grep -qi '<script' $html && fail "report.html has a script"
grep -Eq 'https?://' $html && fail "report.html names an external URL: $(grep -Eo 'https?://[^"]*' $html | head -3)"
grep -q '<svg' $html || fail "report.html has no SVG"
grep -q '&lt;b&gt;x&lt;/b&gt;' $html || fail "the annotator name is not escaped"
grep -q '<b>x</b>' $html && fail "the annotator name is markup"
# Again into the same folder: replaced, not appended.
$ANNOT qc report rep -o rep_out --control sentiment --json >cli.json
[ "$(json_get cli.json 'j["json"], j["html"], j["summary"]["tasks"]')" = "report.json report.html 3" ] || fail "--json: $(cat cli.json)"
[ "$(grep -c '<!DOCTYPE html>' $html)" = 1 ] || fail "report.html written twice into one file"
# Errors: no -o, an unknown or unfit control, a file in the way.
expect_status 1 $ANNOT qc report rep
expect_status 1 $ANNOT qc report rep -o rep_out --control nope
grep -q 'no control "nope"' "$T/err" || fail "unknown control: $(cat "$T/err")"
expect_status 1 $ANNOT qc report rep -o rep_out --control note
grep -q "not a single-choice" "$T/err" || fail "unfit control: $(cat "$T/err")"
: >afile
expect_status 1 $ANNOT qc report rep -o afile
expect_status 1 $ANNOT qc rules rep -o rep_out

# The API.
serve_start
req() { # req USER PATH: prints the status; the body goes to body, the headers to headers
    curl -s -D headers -o body -w '%{http_code}' -H "Authorization: Token $(eval echo "\$T_$1")" "$base$2"
}
for who in boss rex; do
    [ "$(req $who /api/projects/1/qc/report)" = 200 ] || fail "report as $who: $(cat body)"
    [ "$(json_get body 'j["summary"]["annotations"], j["project"]["name"]')" = "7 rep" ] || fail "report JSON: $(head -c 500 body)"
    [ "$(req $who /api/projects/1/qc/report.html)" = 200 ] || fail "report.html as $who: $(cat body)"
    grep -q '<svg' body || fail "report.html over HTTP has no SVG"
done
grep -qi '^content-type: text/html' headers || fail "content type: $(cat headers)"
csp=$(grep -i '^content-security-policy:' headers)
[ "$(echo "$csp" | wc -l)" = 1 ] || fail "one policy, the route's: $csp"
echo "$csp" | grep -q "default-src 'none'; style-src 'unsafe-inline'; img-src data:" || fail "CSP: $csp"
echo "$csp" | grep -q "sandbox" || fail "CSP sandbox: $csp"
grep -qi '^x-frame-options: sameorigin' headers || fail "the app must be able to frame it: $(cat headers)"
grep -qi '^x-content-type-options: nosniff' headers || fail "nosniff: $(cat headers)"
# The rest of the API keeps the default policy.
req rex /api/projects/1 >/dev/null
grep -qi "^content-security-policy: default-src 'self'" headers || fail "default CSP: $(cat headers)"
grep -qi '^x-frame-options: deny' headers || fail "default frame options: $(cat headers)"
[ "$(req ann /api/projects/1/qc/report)" = 403 ] || fail "annotator: $(cat body)"
[ "$(req ann /api/projects/1/qc/report.html)" = 403 ] || fail "annotator html: $(cat body)"
[ "$(req out /api/projects/1/qc/report)" = 404 ] || fail "non-member: $(cat body)"
[ "$(req rex '/api/projects/1/qc/report?control=note')" = 400 ] || fail "bad control: $(cat body)"
[ "$(json_get body 'j["error"]["field"]')" = control ] || fail "bad control field: $(cat body)"
[ "$(req rex '/api/projects/1/qc/report?control=sentiment')" = 200 ] || fail "control: $(cat body)"
echo ok
