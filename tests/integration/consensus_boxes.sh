# Box consensus: rectangles clustered across annotators by IoU, clusters without a quorum
# dropped, merged boxes weighted by each annotator's reliability (F1 against a first,
# unweighted consensus). Expected values are worked out in the comments.
. "$(dirname "$0")/lib.sh"
for u in ann bob cat gold; do $ANNOT user add $u --role annotator >/dev/null; done
$ANNOT project create street --config "$ANNOT_SRC/demo/configs/street.xml" >/dev/null
$PY - >tasks.json <<'EOF'
import json
def box(x, y, w, h, label="Car"):
    return {"from_name": "objects", "to_name": "image", "type": "rectanglelabels",
            "original_width": 100, "original_height": 100,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}}
ann = lambda uid, *boxes, **kw: dict({"completed_by": uid, "result": list(boxes)}, **kw)
print(json.dumps([
  # Task 1: ann and bob agree (IoU 360/440 = 0.82); cat's box is elsewhere: without a quorum
  # (2 of 3) it is dropped. The first consensus is the mean of ann's and bob's: (11,10,20,20).
  {"data": {"image": "a.jpg"}, "annotations": [
     ann(1, box(10, 10, 20, 20)), ann(2, box(12, 10, 20, 20)), ann(3, box(40, 40, 10, 10)),
     # gold is a reference, not a vote, and a cancelled annotation counts for nothing
     ann(4, box(0, 0, 5, 5), ground_truth=True), ann(3, was_cancelled=True)]},
  # Task 2: all three in one cluster (cat's box has IoU 0.6 with the mean of the first two).
  # Unweighted y = (50+52+56)/3 = 52.67. Reliability (F1 over both tasks): ann 1, bob 1,
  # cat 2*1/(2+2) = 0.5, so the weighted y = (50 + 52 + 0.5*56) / 2.5 = 52.0.
  {"data": {"image": "b.jpg"}, "annotations": [
     ann(1, box(50, 50, 20, 20)), ann(2, box(50, 52, 20, 20)), ann(3, box(50, 56, 20, 20))]},
]))
EOF
$ANNOT import street tasks.json >/dev/null
$ANNOT consensus street --method boxes --json >b.json || fail "boxes: $(cat b.json)"
json_get b.json '[(a["name"], a["boxes"], a["matched"], round(a["reliability"], 6)) for a in j["annotators"]]' |
    grep -qx "\[('ann', 2, 2, 1.0), ('bob', 2, 2, 1.0), ('cat', 2, 1, 0.5)\]" || fail "reliability: $(cat b.json)"
json_get b.json '[[(round(b["x"], 6), round(b["y"], 6), b["width"], b["label"], b["support"]) for b in t["boxes"]] for t in j["tasks"]]' |
    grep -qx "\[\[(11.0, 10.0, 20.0, 'Car', 2)\], \[(50.0, 52.0, 20.0, 'Car', 3)\]\]" || fail "merged boxes: $(cat b.json)"
# A stricter IoU splits task 2 (cat's box no longer joins): still one box there, of two.
$ANNOT consensus street --method boxes --iou 0.7 --json >s.json
json_get s.json '[b["support"] for t in j["tasks"] for b in t["boxes"]]' | grep -qx "\[2, 2\]" ||
    fail "iou 0.7: $(cat s.json)"
$ANNOT consensus street --method boxes | grep -q "cat .* reliability 0.500" || fail "text output"
expect_status 1 $ANNOT consensus street --method boxes --iou 2
expect_status 1 $ANNOT consensus --csv tasks.json --method boxes
echo ok
