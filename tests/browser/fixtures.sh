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
