# annot redact-images on a project whose tasks name images under a media root (one in a
# sub-folder, with EXIF GPS; one missing), annot train/predict with the face model, and
# annot redact-image on one file.
. "$(dirname "$0")/lib.sh"
SAMPLES=/usr/share/doc/opencv-doc/examples/data
CHECK="$ANNOT_SRC/tests/data/cascade/check_redacted.py"
mkdir -p media/people
$PY "$CHECK" gps "$SAMPLES/messi5.jpg" media/people/messi.jpg >/dev/null
cp "$SAMPLES/left01.jpg" media/board.jpg
cat >cfg.xml <<'XML'
<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Face"/></RectangleLabels>
</View>
XML
cat >tasks.json <<'JSON'
[{"image": "people/messi.jpg"}, {"image": "board.jpg"}, {"image": "gone.jpg"}]
JSON
$ANNOT project create p --config cfg.xml >/dev/null
$ANNOT import p tasks.json >/dev/null

expect_status 1 $ANNOT redact-images p --to copies --media-root media --faces --json
json_get "$T/out" 'j["images"], j["failed"], j["faces"] >= 3' | grep -qx "2 1 True" ||
    fail "summary: $(cat "$T/out")"
grep -q "gone.jpg" "$T/err" || fail "the missing image is not reported: $(cat "$T/err")"
[ -f copies/people/messi.jpg ] && [ -f copies/board.jpg ] || fail "copies not mirrored: $(find copies)"
$PY "$CHECK" meta copies/people/messi.jpg | grep -qx "exif 0 gps 0 make 0 comment 0 xmp 0 icc 0" ||
    fail "metadata left: $($PY "$CHECK" meta copies/people/messi.jpg)"
cmp -s media/people/messi.jpg copies/people/messi.jpg && fail "the copy equals the original"
$PY "$CHECK" meta media/people/messi.jpg | grep -q "gps 4" || fail "the original was changed"

# Usage errors.
expect_status 1 $ANNOT redact-images p
expect_status 1 $ANNOT redact-images p --to copies --mode smear

# One file, pixelated, to PNG.
$ANNOT redact-image media/people/messi.jpg one.png --mode pixelate --json >one.json
json_get one.json 'j["faces"] >= 2 and j["width"] == 548' | grep -qx True || fail "$(cat one.json)"
expect_status 1 $ANNOT redact-image one.png one.png

# The face model through annot train / annot predict (nothing learned: options stored).
(cd media && $ANNOT train p --model face --control box --json) >train.json ||
    fail "train: $(cat train.json)"
(cd media && $ANNOT predict p --model face --workers 1 --json) >pred.json 2>pred.err ||
    true
json_get pred.json 'j["predicted"], j["failed"]' | grep -qx "2 1" ||
    fail "predict: $(cat pred.json) $(cat pred.err)"
$ANNOT export p --format ls-json -o exp.json >/dev/null
$PY - exp.json <<'PY' || fail "exported predictions"
import json, sys
tasks = json.load(open(sys.argv[1]))
preds = [p for t in tasks for p in t.get("predictions", [])]
assert len(preds) == 2, preds
assert all(p["model_version"] == "face-1" for p in preds)
regions = [r for p in preds for r in p["result"]]
assert len(regions) >= 3 and all(r["value"]["rectanglelabels"] == ["Face"] for r in regions)
assert all(0 < r["score"] < 1 and r["value"]["x"] + r["value"]["width"] <= 100 for r in regions)
PY
