# annot agreement PROJECT: a workspace built through the CLI (project create, import of Label
# Studio JSON with annotations by three completed_by users, one cancelled and one superseded
# annotation), checked against values computed by hand below.
. "$(dirname "$0")/lib.sh"

cat >config.xml <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="pos"/><Choice value="neg"/><Choice value="neu"/>
  </Choices>
  <Choices name="tags" toName="text" choice="multiple">
    <Choice value="a"/><Choice value="b"/>
  </Choices>
  <Rating name="quality" toName="text" maxRating="5"/>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="LOC"/></Labels>
  <TextArea name="summary" toName="text"/>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="car"/></RectangleLabels>
  <KeyPointLabels name="kp" toName="image"><Label value="nose"/></KeyPointLabels>
</View>
XML

$PY - <<'PY'
import json
def ch(name, *v): return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": list(v)}}
def rating(v): return {"from_name": "quality", "to_name": "text", "type": "rating", "value": {"rating": v}}
def span(s, e, t): return {"from_name": "ner", "to_name": "text", "type": "labels",
                           "value": {"start": s, "end": e, "text": t, "labels": ["LOC"]}}
def text(t): return {"from_name": "summary", "to_name": "text", "type": "textarea", "value": {"text": [t]}}
def box(x, y): return {"from_name": "box", "to_name": "image", "type": "rectanglelabels",
                       "original_width": 100, "original_height": 100,
                       "value": {"x": x, "y": y, "width": 10, "height": 10, "rotation": 0,
                                 "rectanglelabels": ["car"]}}
def kp(x, y): return {"from_name": "kp", "to_name": "image", "type": "keypointlabels",
                      "original_width": 100, "original_height": 100,
                      "value": {"x": x, "y": y, "width": 1, "keypointlabels": ["nose"]}}
def ann(user, result, **kw):
    a = {"completed_by": user, "result": result}
    a.update(kw)
    return a
text1 = "我爱北京天安门"
tasks = [
    {"data": {"text": text1, "image": "http://example.com/1.jpg"}, "annotations": [
        ann(1, [ch("sentiment", "pos"), ch("tags", "a"), rating(4), span(2, 4, "北京"),
                text("kitten"), box(0, 0), kp(10, 10)]),
        ann(2, [ch("sentiment", "pos"), ch("tags", "a", "b"), rating(5), span(2, 4, "北京"),
                text("sitting"), box(5, 0), kp(11, 10)]),
        ann(3, [ch("sentiment", "pos"), span(2, 5, "北京天"), box(0, 0)]),
        ann(4, [ch("sentiment", "neg")], was_cancelled=True),
    ]},
    {"data": {"text": "two", "image": "http://example.com/2.jpg"}, "annotations": [
        ann(1, [ch("sentiment", "neg"), ch("tags", "b"), rating(2), box(20, 20)]),
        ann(2, [ch("sentiment", "neg"), ch("tags", "b"), rating(2)]),
        ann(3, [ch("sentiment", "pos")]),
    ]},
    {"data": {"text": "three", "image": "http://example.com/3.jpg"}, "annotations": [
        ann(1, [ch("sentiment", "neu")]),
        ann(2, [ch("sentiment", "neu")]),
    ]},
    # Annotator 1 changed their mind: the later annotation (listed first) counts.
    {"data": {"text": "four", "image": "http://example.com/4.jpg"}, "annotations": [
        ann(1, [ch("sentiment", "pos")], updated_at="2024-02-01T00:00:00Z"),
        ann(1, [ch("sentiment", "neg")], updated_at="2024-01-01T00:00:00Z"),
        ann(2, [ch("sentiment", "neg")]),
    ]},
]
json.dump(tasks, open("tasks.json", "w"), ensure_ascii=False)
PY

$ANNOT project create p --config config.xml >/dev/null
$ANNOT import p tasks.json --json >imp.json || fail "import: $(cat imp.json)"

$ANNOT agreement p --json >all.json || fail "agreement p: $(cat all.json)"
# ctl NAME EXPR: EXPR on control NAME's JSON object c.
ctl() {
    $PY -c "import json,sys; j=json.load(open('all.json')); c=[c for c in j['controls'] if c['name']==sys.argv[1]][0]; print($2)" "$1"
}
[ "$(json_get all.json 'j["tasks"], j["annotations"], len(j["annotators"])')" = "4 10 3" ] ||
    fail "counts: $(cat all.json)"
[ "$(json_get all.json 'j["ignored"]["cancelled"], j["ignored"]["superseded"]')" = "1 1" ] ||
    fail "ignored: $(cat all.json)"
# Placeholder users keep imported annotators apart.
json_get all.json 'j["annotators"][0]["name"]' | grep -q "imported-user-1" ||
    fail "annotator names: $(cat all.json)"

# sentiment, nominal alpha. Units (tasks): {pos,pos,pos} {neg,neg,pos} {neu,neu} {pos,neg}.
# Coincidences: pos-pos 3, neg-neg 1, neu-neu 2, pos-neg = neg-pos = 1 + 1 = 2; n_pos 5,
# n_neg 3, n_neu 2, n 10. alpha = 1 - 9 * 4 / (2 * (5*3 + 5*2 + 3*2)) = 1 - 36/62 = 0.41935.
[ "$(ctl sentiment 'c["measure"], c["level"], "%.5f" % c["value"], c["units"], c["coders"]')" = \
  "alpha nominal 0.41935 4 3" ] || fail "sentiment: $(cat all.json)"

# quality (Rating): ordinal by default; interval by hand: units {4,5} {2,2}: o45 = o54 = 1,
# o22 = 2; n2 2, n4 1, n5 1, n 4. Expected sum n_c n_k d^2 = 2*(2*1*4 + 2*1*9 + 1*1*1) = 54;
# alpha = 1 - 3 * 2 / 54 = 0.88889.
[ "$(ctl quality 'c["level"], c["units"]')" = "ordinal 2" ] || fail "quality: $(cat all.json)"
$ANNOT agreement p --control quality --level interval --json >q.json
[ "$(json_get q.json '"%.5f" % j["controls"][0]["value"], len(j["controls"])')" = "0.88889 1" ] ||
    fail "quality interval: $(cat q.json)"

# tags (multiple): tasks 1 and 2 entered; annotator 3 chose nothing there (0 for each label).
# a: {1,1,0} {0,0,0}: o11 1, o10 = o01 1, o00 3; n1 2, n0 4, n 6: 1 - 5*2/(2*2*4) = 0.375.
# b: {0,1,0} {1,1,0}: o00 1, o11 1, o01 = o10 2; n0 3, n1 3: 1 - 5*4/(2*3*3) = -0.11111.
# mean 0.13194.
[ "$(ctl tags 'c["kind"], "%.5f" % c["value"], ["%.5f" % l["value"] for l in c["labels"]]')" = \
  "multi 0.13194 ['0.37500', '-0.11111']" ] || fail "tags: $(cat all.json)"

# box at IoU 0.5. Task 1: 1 and 3 drew the same box (F1 1); 2's is shifted by half (IoU 1/3:
# no match, F1 0 with both). Task 2: only 1 drew: F1 0 with 2 and 3; 2 and 3 both drew
# nothing (F1 1). Mean of six comparisons 2/6; pair 1/3: (1 + 0)/2; mean IoU 1.
[ "$(ctl box 'c["measure"], "%.5f" % c["value"], c["comparisons"], c["mean_iou"], c["units"]')" = \
  "f1 0.33333 6 1.0 2" ] || fail "box: $(cat all.json)"
[ "$(ctl box 'c["pairs"][1]["a_id"], c["pairs"][1]["b_id"], c["pairs"][1]["value"], c["pairs"][1]["tasks"]')" = \
  "1 3 0.5 2" ] || fail "box pairs: $(cat all.json)"
# At IoU 0.3 the shifted box matches too: 4/6, mean IoU (1/3 + 1 + 1/3) / 3 = 5/9.
$ANNOT agreement p --control box --iou 0.3 --json >b.json
[ "$(json_get b.json '"%.5f %.5f" % (j["controls"][0]["value"], j["controls"][0]["mean_iou"])')" = \
  "0.66667 0.55556" ] || fail "box 0.3: $(cat b.json)"

# ner: code-point spans on 我爱北京天安门: 1 and 2 mark 2..4, 3 marks 2..5. Exact F1: 1, 0, 0;
# overlap F1 1 for all three pairs.
[ "$(ctl ner 'c["measure"], "%.5f" % c["value"], c["overlap_f1"]')" = "exact_f1 0.33333 1.0" ] ||
    fail "ner: $(cat all.json)"

# summary: kitten/sitting 3 edits of 7; annotator 3 wrote nothing: 1 against each.
# (3/7 + 1 + 1) / 3 = 0.80952.
[ "$(ctl summary 'c["measure"], "%.5f" % c["value"], c["comparisons"]')" = "cer 0.80952 3" ] ||
    fail "summary: $(cat all.json)"

# kp: 1 and 2 are 1 % apart on a square image: 0.7071 % of the diagonal (within 2 %);
# 3 has none. Share within: 1, 0, 0.
[ "$(ctl kp 'c["measure"], "%.5f" % c["value"], "%.4f" % c["mean_distance"]')" = \
  "keypoint_f1 0.33333 0.7071" ] || fail "kp: $(cat all.json)"

# Bootstrap: deterministic with a seed, the interval holds the estimate's resamples.
$ANNOT agreement p --control sentiment --bootstrap 200 --seed 7 --json >b1.json
$ANNOT agreement p --control sentiment --bootstrap 200 --seed 7 --json >b2.json
cmp -s b1.json b2.json || fail "bootstrap not deterministic"
# With four tasks some resamples hold only agreeing tasks (alpha undefined): skipped, counted.
[ "$(json_get b1.json '[(c["level"], c["resamples"], c["low"] <= v["value"] <= c["high"], c["skipped"] > 0) for v in j["controls"] for c in [v["ci"]]][0]')" = \
  "(0.95, 200, True, True)" ] || fail "bootstrap ci: $(cat b1.json)"
$ANNOT agreement p --control sentiment --bootstrap 200 --seed 8 --json >b3.json
cmp -s b1.json b3.json && fail "the seed changes nothing"

# Text output.
$ANNOT agreement p --control sentiment | grep -q "^value  *0.419$" || fail "text output"

# Errors: unknown control, unmeasurable option combinations, unknown project.
expect_status 1 $ANNOT agreement p --control nosuch
grep -q "nosuch" err || fail "unknown control message: $(cat err)"
expect_status 1 $ANNOT agreement p --metric cohen --level ordinal
expect_status 1 $ANNOT agreement p --iou 2
expect_status 1 $ANNOT agreement p --bootstrap 0
expect_status 1 $ANNOT agreement p --csv x.csv --metric alpha
expect_status 1 $ANNOT agreement nosuch
echo ok
