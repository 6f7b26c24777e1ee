# annot consensus: majority and Dawid-Skene through the real binary, from CSV and from a
# project with gold annotations; JSON shape, ties, and errors with their exit statuses.
. "$(dirname "$0")/lib.sh"

# CSV: A always gives the other answer, B is wrong on items 1-2, C on items 3-4 (of 10).
# Majority is wrong on items 1-4; Dawid-Skene reads A as flipped and gets all 10 right.
$PY - <<'PY'
truth = ["yes", "no", "yes", "no", "yes", "no", "no", "yes", "yes", "no"] * 3
flip = {"yes": "no", "no": "yes"}
with open("ab.csv", "w") as f:
    f.write("A,B,C\n")
    for i, z in enumerate(truth):
        b = flip[z] if i % 10 in (0, 1) else z
        c = flip[z] if i % 10 in (2, 3) else z
        f.write("%s,%s,%s\n" % (flip[z], b, c))
with open("truth.txt", "w") as f:
    f.write(" ".join(truth))
PY
$ANNOT consensus --csv ab.csv --method majority --json >mv.json
$ANNOT consensus --csv ab.csv --method dawid-skene --json >ds.json
right() {
    json_get "$1" '" ".join(str(l["label"]) for l in j["labels"])' >labels.txt
    $PY -c 'import sys; a=open("labels.txt").read().split(); b=open("truth.txt").read().split(); print(sum(x==y for x,y in zip(a,b)))'
}
[ "$(right mv.json)" = 18 ] || fail "majority should get 18 of 30 right: $(cat mv.json)"
[ "$(right ds.json)" = 30 ] || fail "dawid-skene should get all 30 right: $(cat ds.json)"
[ "$(json_get ds.json 'j["method"], j["items"], j["classes"], j["converged"], j["labels"][0]["item"]')" = "dawid-skene 30 2 True 1" ] ||
    fail "DS JSON fields: $(head -c 600 ds.json)"
[ "$(json_get ds.json '[a["name"] for a in j["annotators"]], j["annotators"][0]["accuracy"] < 0.05, j["annotators"][0]["gold"]')" = "['A', 'B', 'C'] True None" ] ||
    fail "DS annotators: $(head -c 600 ds.json)"
json_get ds.json 'j["iterations"] >= 2 and j["log_likelihood"] < 0' | grep -q True || fail "iterations, log-likelihood"

# --max-iter with --tol 0 runs exactly that many iterations; --timing reports on stderr.
$ANNOT consensus --csv ab.csv --method dawid-skene --tol 0 --max-iter 5 --timing --json >d5.json 2>timing.txt
[ "$(json_get d5.json 'j["iterations"], j["converged"]')" = "5 False" ] || fail "max-iter: $(cat d5.json)"
grep -q "read .* s, compute .* s" timing.txt || fail "timing: $(cat timing.txt)"

# Ties: listed with no label, unless --tie-break lowest; text output shows them.
printf 'a,b,c\nx,y,\nx,x,y\n,,\n' >tie.csv
$ANNOT consensus --csv tie.csv --method majority --json >t.json
[ "$(json_get t.json '[(l["label"], l["tie"], l["confidence"]) for l in j["labels"]], j["ties"]')" = "[(None, ['x', 'y'], 0.5), ('x', [], 0.6666666666666666), (None, [], 0.0)] 1" ] ||
    fail "ties: $(cat t.json)"
$ANNOT consensus --csv tie.csv --method majority --tie-break lowest --json >t2.json
[ "$(json_get t2.json 'j["labels"][0]["label"], j["labels"][0]["tie"]')" = "x ['x', 'y']" ] || fail "tie-break: $(cat t2.json)"
$ANNOT consensus --csv tie.csv --method majority >t.txt
grep -q "tie:x,y" t.txt || fail "text tie: $(cat t.txt)"

# A project: gold on two tasks, three annotators.
cat >cfg.xml <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>
XML
$ANNOT project create rev --config cfg.xml >/dev/null
for u in boss ann1 ann2 ann3; do $ANNOT user add $u --role annotator >/dev/null; done
$PY - <<'PY'
import json
def ann(user, choice, gt=False):
    return {"completed_by": user, "ground_truth": gt, "result": [{"from_name": "sentiment",
            "to_name": "text", "type": "choices", "value": {"choices": [choice]}}]}
tasks = [
    {"data": {"text": "good"}, "annotations": [ann(1, "pos", True), ann(2, "pos"), ann(3, "pos"), ann(4, "neg")]},
    {"data": {"text": "bad"}, "annotations": [ann(1, "neg", True), ann(2, "neg"), ann(3, "pos"), ann(4, "neg")]},
    {"data": {"text": "meh"}, "annotations": [ann(2, "pos"), ann(3, "neg")]},
]
with open("tasks.json", "w") as f:
    json.dump(tasks, f)
PY
$ANNOT import rev tasks.json >/dev/null
$ANNOT consensus rev --method majority --json >p.json
[ "$(json_get p.json '[(a["name"], a["gold"]["seen"], a["gold"]["correct"]) for a in j["annotators"]], j["gold_tasks"]')" = "[('ann1', 2, 2), ('ann2', 2, 1), ('ann3', 2, 1)] 2" ] ||
    fail "gold: $(cat p.json)"
[ "$(json_get p.json '[(l["label"], l["tie"]) for l in j["labels"]]')" = "[('pos', []), ('neg', []), (None, ['pos', 'neg'])]" ] ||
    fail "project labels: $(cat p.json)"
$ANNOT consensus rev --control sentiment --method dawid-skene >p.txt
grep -q "gold 2/2 = 1.000" p.txt || fail "text gold: $(cat p.txt)"

# Errors: usage is exit 1, an unreadable file exit 2, an unknown project or control exit 1.
expect_status 1 $ANNOT consensus --csv ab.csv
expect_status 1 $ANNOT consensus --csv ab.csv --method vote
expect_status 1 $ANNOT consensus --csv ab.csv --method majority --max-iter 5
expect_status 1 $ANNOT consensus --csv ab.csv --method dawid-skene --tol -1
expect_status 1 $ANNOT consensus rev --csv ab.csv --method majority
expect_status 1 $ANNOT consensus nosuch --method majority
expect_status 1 $ANNOT consensus rev --control text --method majority
grep -q "no control named" err || fail "control hint: $(cat err)"
expect_status 2 $ANNOT consensus --csv nosuch.csv --method majority
$ANNOT consensus --help | grep -q "usage: annot consensus" || fail "consensus --help"
echo ok
