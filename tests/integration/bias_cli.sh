# annot bias: a planted bias is found and blamed on the annotator who has it; data without
# one is not flagged; the overall test matches scipy's chi2_contingency.
. "$(dirname "$0")/lib.sh"
for u in alice bob carol; do $ANNOT user add $u --role annotator >/dev/null; done
# users 1..3. Project "biased": bob labels texts about women Negative 85 % of the time and
# about men 15 %; alice and carol label at random (50 %) whoever the text is about.
gen() { # gen BIASED SEED
$PY - "$1" "$2" <<'EOF'
import json, random, sys
biased, rng = sys.argv[1] == "1", random.Random(int(sys.argv[2]))
ch = lambda c: [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [c]}}]
tasks = []
for i in range(400):
    female = i % 2 == 0
    text = ("She" if female else "He") + " wrote review %d about the hotel" % i
    anns = []
    for uid in (1, 2, 3):
        p_neg = (0.85 if female else 0.15) if (biased and uid == 2) else 0.5
        anns.append({"completed_by": uid, "result": ch("Negative" if rng.random() < p_neg else "Positive")})
    tasks.append({"data": {"text": text}, "meta": {"gender": "female" if female else "male"}, "annotations": anns})
print(json.dumps(tasks))
EOF
}
gen 1 7 >biased.json
gen 0 7 >fair.json
for p in biased fair; do
    $ANNOT project create $p --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
    $ANNOT import $p $p.json >/dev/null
done

$ANNOT bias biased --attribute meta.gender --json >b.json || fail "bias failed: $(cat b.json)"
json_get b.json '[(a["name"], a["flagged"]) for a in j["annotators"]]' |
    grep -qx "\[('alice', False), ('bob', True), ('carol', False)\]" || fail "flags: $(cat b.json)"
json_get b.json 'j["tasks"], j["tasks_grouped"], j["test"]["dof"], j["max_parity"] > 0.1' |
    grep -qx "400 400 1 True" || fail "summary: $(cat b.json)"
# The overall test against scipy on the same table.
$PY - b.json <<'EOF' || fail "chi-square differs from scipy"
import json, sys
from scipy.stats import chi2_contingency
j = json.load(open(sys.argv[1]))
labels = [k for k in sorted(j["groups"][0]["counts"]) if any(g["counts"][k] for g in j["groups"])]
table = [[g["counts"][k] for k in labels] for g in j["groups"]]  # scipy refuses empty columns
stat, p, dof, _ = chi2_contingency(table, correction=False)
t = j["test"]
assert abs(t["statistic"] - stat) <= 1e-9 * stat, (t, stat)
assert abs(t["p"] - p) <= 1e-9 * max(p, 1e-300), (t, p)
assert t["dof"] == dof
EOF
# Groups from the text by the built-in lexicon give the same groups here.
$ANNOT bias biased --lexicon gender --json >l.json || fail "lexicon bias failed"
json_get l.json '[a["name"] for a in j["annotators"] if a["flagged"]], j["tasks_grouped"]' |
    grep -qx "\['bob'\] 400" || fail "lexicon: $(cat l.json)"

$ANNOT bias fair --attribute meta.gender --json >f.json || fail "fair bias failed"
json_get f.json '[a["name"] for a in j["annotators"] if a["flagged"]]' | grep -qx "\[\]" ||
    fail "unbiased data flagged: $(cat f.json)"

# The QC report carries the same check as a section of its own.
$ANNOT qc report biased -o rep --bias-attribute meta.gender >/dev/null || fail "qc report with bias"
json_get rep/report.json '[a["name"] for a in j["bias"]["annotators"] if a["flagged"]], j["bias"]["test"]["dof"]' |
    grep -qx "\['bob'\] 1" || fail "report bias: $(json_get rep/report.json 'j.get("bias")')"
grep -q '<section id="bias"><h2>Bias check</h2>' rep/report.html || fail "no bias section in report.html"
grep -q "yes: depends on the group more than peers" rep/report.html || fail "flag not in report.html"
# a lexicon the API could be given is only a built-in name, never a file the server reads
$ANNOT qc report biased -o rep2 --bias-lexicon gender >/dev/null || fail "qc report with lexicon"
json_get rep2/report.json 'j["bias"]["tasks_grouped"]' | grep -qx 400 || fail "report lexicon"

# Text output names the flagged annotator; bad usage is a clear error.
$ANNOT bias biased --attribute meta.gender | grep -q "bob .*FLAGGED" || fail "text output"
expect_status 1 $ANNOT bias biased
grep -q "either --attribute" "$T/err" || fail "usage error: $(cat "$T/err")"
expect_status 1 $ANNOT bias biased --attribute gender
grep -q "data.FIELD or meta.FIELD" "$T/err" || fail "attribute error: $(cat "$T/err")"
echo ok
