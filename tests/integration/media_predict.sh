# annot predict with the media models through the real binary: "ocr" on a project with Label
# Studio's OCR config (rendered PNGs: one English, one Chinese with --option lang=..., a missing
# file, a URL, a file that is no image) and "asr" on the speech demo config (espeak-ng); the
# predictions are stored under the model's name, validate, export with their regions, and a
# rerun predicts nothing new; failures are reported per task with their reasons.
. "$(dirname "$0")/lib.sh"

mkdir media
$PY - media <<'PY'
import sys
from PIL import Image, ImageDraw, ImageFont
d = sys.argv[1]
for name, font, text in (("en", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "Hello annot 2026"),
                         ("zh", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "数据标注平台")):
    im = Image.new("RGB", (800, 240), "white")
    ImageDraw.Draw(im).text((90, 100), text, font=ImageFont.truetype(font, 48), fill="black")
    im.save(d + "/" + name + ".png")
open(d + "/broken.png", "w").write("not an image")
PY

cat >ocr.xml <<'XML'
<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="bbox" toName="image"><Label value="Text"/></RectangleLabels>
  <TextArea name="transcription" toName="image" editable="true" perRegion="true"
            required="true" maxSubmissions="1" rows="5" displayMode="region-list"/>
</View>
XML
$ANNOT project create ocr --config ocr.xml >/dev/null
M="$T/media"
cat >ocr.jsonl <<EOF
{"data": {"image": "$M/en.png"}}
{"data": {"image": "$M/missing.png"}}
{"data": {"image": "https://example.com/scan.png"}}
{"data": {"image": "$M/broken.png"}}
EOF
$ANNOT import ocr ocr.jsonl >/dev/null
$ANNOT predict ocr --model ocr --workers 2 --json >pred.json 2>pred.err
[ "$(json_get pred.json 'j["model_version"], j["tasks"], j["predicted"], j["failed"]')" = "ocr 4 1 3" ] ||
    fail "ocr predict: $(cat pred.json) $(cat pred.err)"
json_get pred.json '"\n".join(sorted(f["where"] + ": " + f["message"] for f in j["failures"]))' >fails.txt
grep -q 'data.image: no file .*missing.png' fails.txt || fail "missing file: $(cat fails.txt)"
grep -q 'data.image: "https://example.com/scan.png" is a URL' fails.txt || fail "URL: $(cat fails.txt)"
grep -q 'data.image: cannot decode .*broken.png' fails.txt || fail "broken image: $(cat fails.txt)"

# Chinese, with options, under a version of its own; relative paths under media_root.
echo '{"data": {"image": "zh.png"}}' >zh.jsonl
$ANNOT import ocr zh.jsonl >/dev/null
$ANNOT predict ocr --model ocr --version ocr-chi --option lang=chi_sim --option "media_root=$M" \
    --option level=line --json >pred2.json 2>/dev/null
[ "$(json_get pred2.json 'j["model_version"], j["predicted"], j["failed"]')" = "ocr-chi 2 3" ] ||
    fail "ocr chi_sim: $(cat pred2.json)"
# a rerun of the first version predicts nothing new (the failures are tried again, and zh.png
# is not found without media_root)
$ANNOT predict ocr --model ocr --json >pred3.json 2>/dev/null
[ "$(json_get pred3.json 'j["predicted"], j["skipped_existing"], j["failed"]')" = "0 1 4" ] ||
    fail "rerun: $(cat pred3.json)"
expect_status 1 $ANNOT predict ocr --model ocr --option lang=klingon
grep -q 'opts.lang' err || fail "bad lang: $(cat err)"
expect_status 1 $ANNOT predict ocr --model textcls --option lang=eng
grep -q 'need no training' err || fail "option on textcls: $(cat err)"

$ANNOT export ocr --format ls-json -o ocr_out.json
$PY - <<'PY' || fail "exported OCR predictions"
import json
tasks = json.load(open("ocr_out.json"))
got = {}
for t in tasks:
    for p in t.get("predictions", []):
        res = p["result"]
        boxes = [r for r in res if r["type"] == "rectanglelabels"]
        texts = {r["id"]: r["value"]["text"][0] for r in res if r["type"] == "textarea"}
        assert boxes and len(boxes) == len(texts), res
        for b in boxes:
            v = b["value"]
            assert b["id"] in texts and b["from_name"] == "bbox" and v["rectanglelabels"] == ["Text"]
            assert 0 <= v["x"] and v["x"] + v["width"] <= 100 and 0 <= v["y"] and v["y"] + v["height"] <= 100
            assert b["original_width"] == 800 and b["original_height"] == 240
            assert 0 <= b["score"] <= 1
        assert 0 <= p["score"] <= 1
        got[(p["model_version"], t["data"]["image"].split("/")[-1])] = " ".join(texts[b["id"]] for b in boxes)
assert got[("ocr", "en.png")] == "Hello annot 2026", got
assert got[("ocr-chi", "zh.png")] == "数据标注平台", got
assert got[("ocr-chi", "en.png")], got  # English through chi_sim: something, not checked
PY

# ASR on the speech demo config (TextArea transcript + Labels segments).
espeak-ng -v en-us -s 130 -w media/hello.wav "hello world this is a test"
$ANNOT project create speech --config "$ANNOT_SRC/demo/configs/speech.xml" >/dev/null
cat >speech.jsonl <<EOF
{"data": {"audio": "$M/hello.wav"}}
{"data": {"audio": "$M/en.png"}}
EOF
$ANNOT import speech speech.jsonl >/dev/null
$ANNOT predict speech --model asr --workers 1 --json >asr.json 2>/dev/null
[ "$(json_get asr.json 'j["model_version"], j["predicted"], j["failed"]')" = "asr 1 1" ] ||
    fail "asr predict: $(cat asr.json)"
json_get asr.json 'j["failures"][0]["where"] + " " + j["failures"][0]["message"]' | grep -q "data.audio cannot decode" ||
    fail "asr failure: $(cat asr.json)"
$ANNOT export speech --format ls-json -o speech_out.json
$PY - <<'PY' || fail "exported ASR predictions"
import json
(t,) = [t for t in json.load(open("speech_out.json")) if t.get("predictions")]
res = t["predictions"][0]["result"]
text = res[0]
assert text["from_name"] == "transcript" and text["type"] == "textarea", res
words = text["value"]["text"][0].split()
ref = "hello world this is a test".split()
# word error rate by edit distance
d = list(range(len(words) + 1))
for i, r in enumerate(ref, 1):
    prev, d[0] = d[0], i
    for j, w in enumerate(words, 1):
        prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != w))
assert d[-1] / len(ref) <= 0.5, (words, d[-1])
segs = res[1:]
assert len(segs) == len(words)
end = 0
for s in segs:
    v = s["value"]
    assert s["type"] == "labels" and s["from_name"] == "segments" and v["labels"] == ["Low tone"]
    assert end <= v["start"] < v["end"] <= s["original_length"] + 1e-9, segs
    end = v["end"]
PY
