# Builds the browser tests' workspace in the current folder: sourced by run.sh, not run.
# Needs $ANNOT, $ANNOT_DB and python3 (to write a small PNG as a data: URL).
cat >text.xml <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text">
    <Label value="PER"/>
    <Label value="ORG"/>
    <Label value="LOC"/>
  </Labels>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
  <TextArea name="note" toName="text"/>
  <Rating name="quality" toName="text" maxRating="5"/>
  <Relations>
    <Relation value="works_for"/>
  </Relations>
</View>
XML
cat >image.xml <<'XML'
<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="objects" toName="image">
    <Label value="Car"/>
    <Label value="Person"/>
  </RectangleLabels>
</View>
XML
# A 200x100 PNG: a grey field with a darker block, as a data: URL.
python3 - >png.txt <<'PY'
import base64, struct, zlib
w, h = 200, 100
rows = b""
for y in range(h):
    row = b"\x00"
    for x in range(w):
        row += b"\x40\x40\x90" if 40 <= x < 120 and 30 <= y < 80 else b"\xc8\xc8\xc8"
    rows += row
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
print("data:image/png;base64," + base64.b64encode(png).decode())
PY
png=$(cat png.txt)
# Task 1: an emoji, then CJK text; a prediction says Positive. Task 2: markup as text.
cat >text_tasks.json <<'JSON'
[
 {"data": {"text": "😀华为在北京发布了新手机。"},
  "predictions": [{"model_version": "m1", "score": 0.87, "result": [
   {"id": "p1", "from_name": "sentiment", "to_name": "text", "type": "choices",
    "value": {"choices": ["Positive"]}}]}]},
 {"data": {"text": "<img src=x onerror=alert(1)>"}}
]
JSON
cat >image_tasks.json <<JSON
[
 {"data": {"image": "$png"},
  "predictions": [{"model_version": "det1", "score": 0.65, "result": [
   {"id": "b1", "from_name": "objects", "to_name": "image", "type": "rectanglelabels",
    "original_width": 200, "original_height": 100, "image_rotation": 0,
    "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0,
              "rectanglelabels": ["Person"]}}]}]}
]
JSON
$ANNOT user add admin --role admin >/dev/null
$ANNOT user add ann --role annotator >/dev/null
echo "admin pass 123" | $ANNOT user passwd admin
echo "ann pass 123" | $ANNOT user passwd ann
$ANNOT project create text --config text.xml >/dev/null
$ANNOT project create image --config image.xml >/dev/null
$ANNOT import text text_tasks.json --strict >/dev/null
$ANNOT import image image_tasks.json --strict >/dev/null
$ANNOT member add text ann
$ANNOT member add image ann

# More controls: polygons and keypoints; grounding (a box linked to a phrase of the caption);
# a dialogue; pairwise and ranker; audio segments; and a reviewer.
cat >shapes.xml <<'XML'
<View>
  <Image name="image" value="$image"/>
  <PolygonLabels name="areas" toName="image">
    <Label value="Building"/>
    <Label value="Road"/>
  </PolygonLabels>
  <KeyPointLabels name="points" toName="image">
    <Label value="Eye"/>
  </KeyPointLabels>
</View>
XML
cat >grounding.xml <<'XML'
<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="objects" toName="image">
    <Label value="Object"/>
  </RectangleLabels>
  <Text name="caption" value="$caption"/>
  <Labels name="phrases" toName="caption">
    <Label value="Phrase"/>
  </Labels>
  <Relations>
    <Relation value="depicts"/>
  </Relations>
  <Choices name="alignment" toName="caption" choice="single">
    <Choice value="Matches"/>
    <Choice value="Mismatch"/>
  </Choices>
</View>
XML
cat >dialogue.xml <<'XML'
<View>
  <Paragraphs name="dialogue" value="$dialogue"/>
  <Labels name="intent" toName="dialogue">
    <Label value="Request"/>
    <Label value="Place"/>
  </Labels>
  <Choices name="outcome" toName="dialogue" choice="single">
    <Choice value="Resolved"/>
    <Choice value="Unresolved"/>
  </Choices>
</View>
XML
cat >compare.xml <<'XML'
<View>
  <Text name="answer_a" value="$a"/>
  <Text name="answer_b" value="$b"/>
  <Pairwise name="better" toName="answer_a,answer_b"/>
  <Paragraphs name="results" value="$results"/>
  <Ranker name="rank" toName="results"/>
</View>
XML
cat >speech.xml <<'XML'
<View>
  <Audio name="audio" value="$audio"/>
  <Labels name="tones" toName="audio">
    <Label value="Low"/>
    <Label value="High"/>
  </Labels>
</View>
XML
mkdir -p media
# One second of audio at 8 kHz: 440 Hz, then 880 Hz.
python3 - media/tone.wav <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * (440 if i < 4000 else 880) * i / 8000)))
                           for i in range(8000)))
PY
cat >shapes_tasks.json <<JSON
[{"data": {"image": "$png"}}]
JSON
cat >grounding_tasks.json <<JSON
[{"data": {"image": "$png", "caption": "A dark block on grey"}}]
JSON
cat >dialogue_tasks.json <<'JSON'
[{"data": {"dialogue": [{"author": "客户", "text": "你好，我想订去上海的票。"}, {"author": "Agent", "text": "Sure, which day?"}]}}]
JSON
cat >compare_tasks.json <<'JSON'
[{"data": {"a": "Paris is the capital of France.", "b": "France's capital is Lyon.",
  "results": [{"id": "r1", "author": "doc1", "text": "Lyon travel guide"},
              {"id": "r2", "author": "doc2", "text": "Paris, capital of France"},
              {"id": "r3", "author": "doc3", "text": "History of Paris"}]}}]
JSON
cat >speech_tasks.json <<JSON
[{"data": {"audio": "$PWD/media/tone.wav"}}]
JSON
$ANNOT user add rev --role reviewer >/dev/null
echo "rev pass 123" | $ANNOT user passwd rev
for p in shapes grounding dialogue compare speech; do
    $ANNOT project create $p --config $p.xml >/dev/null
    $ANNOT import $p ${p}_tasks.json --strict >/dev/null
    $ANNOT member add $p ann
done
$ANNOT member add text rev

# HyperText: task HTML with an image whose onerror and a script both try to reach the page.
cat >html.xml <<'XML'
<View>
  <HyperText name="page" value="$html"/>
  <Labels name="marks" toName="page">
    <Label value="Claim"/>
  </Labels>
  <Choices name="safe" toName="page" choice="single">
    <Choice value="Safe"/>
    <Choice value="Unsafe"/>
  </Choices>
  <TextArea name="why" toName="page"/>
</View>
XML
cat >html_tasks.json <<'JSON'
[{"data": {"html": "<b>bold</b><img src=x onerror=\"parent.document.title='pwned'\"><script>parent.document.title='pwned'</script>"}}]
JSON
$ANNOT project create html --config html.xml >/dev/null
$ANNOT import html html_tasks.json --strict >/dev/null
$ANNOT member add html ann

# QC: a warning rule on the text project that the annotator's Negative choice breaks, so the
# QC page and the review screen have a finding to show (warnings never block a submit).
cat >text_rules.json <<'JSON'
{"rules": [{"id": "positive-only", "type": "expr", "when": {"field": "type", "equals": "choices"},
  "require": {"field": "value.choices", "contains": "Positive"}, "message": "the sentiment is not Positive"}]}
JSON
$ANNOT qc rules text --set text_rules.json >/dev/null
