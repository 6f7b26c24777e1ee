# CoNLL keeps every token and tag through import -> export; CSV and TSV carry data fields
# both ways; json-min flattens; a folder of files becomes one task per file by content.
. "$(dirname "$0")/lib.sh"
cat >ner.xml <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Labels name="label" toName="text">
    <Label value="PER"/><Label value="ORG"/><Label value="LOC"/><Label value="MISC"/>
  </Labels>
</View>
XML
cat >in.conll <<'CONLL'
-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
to TO B-VP O
boycott VB I-VP O
British JJ B-NP B-MISC
lamb NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
在 P O O
北京 NR O B-LOC
市 NN O I-LOC
😀 SYM O O

CONLL
$ANNOT project create n --config ner.xml >/dev/null
$ANNOT import n in.conll >/dev/null
$ANNOT export n --format conll -o out.conll
# Every token and its tag survive (the export writes token and tag only).
awk 'NF && $1 != "-DOCSTART-" {print $1, $NF}' in.conll >want.txt
awk 'NF {print $1, $NF}' out.conll >got.txt
cmp want.txt got.txt || fail "CoNLL tokens or tags changed: $(diff want.txt got.txt | head)"
# Spans carry code-point offsets: the LOC span selects 北京 市.
$ANNOT export n --format ls-json -o n.json
$PY - n.json <<'PY'
import json, sys
spans = [(t["data"]["text"][v["start"]:v["end"]], v["labels"][0])
         for t in json.load(open(sys.argv[1])) for a in t["annotations"] for r in a["result"]
         for v in [r["value"]]]
assert ("北京 市", "LOC") in spans and ("Peter Blackburn", "PER") in spans, spans
PY

# CSV in, CSV and TSV out, and back in.
$ANNOT project create c --config "$ANNOT_SRC/demo/configs/captions.xml" >/dev/null
printf 'image,caption\n/img/a.png,"A dog, running"\n/img/b.png,"She said ""hi""\nthen left"\n' >in.csv
$ANNOT import c in.csv >/dev/null
$ANNOT export c --format csv -o out.csv
$PY - in.csv out.csv <<'PY'
import csv, sys
a = list(csv.DictReader(open(sys.argv[1], newline="")))
b = list(csv.DictReader(open(sys.argv[2], newline="")))
assert [(r["image"], r["caption"]) for r in a] == [(r["image"], r["caption"]) for r in b], (a, b)
PY
$ANNOT project create c2 --config "$ANNOT_SRC/demo/configs/captions.xml" >/dev/null
$ANNOT import c2 out.csv --format csv >/dev/null
$ANNOT stats c2 --json >s.json
[ "$(json_get s.json 'j["tasks"]')" = 2 ] || fail "CSV re-import"
$ANNOT export c --format tsv -o out.tsv
head -n 1 out.tsv | grep -q "$(printf 'image\tcaption')" || fail "TSV header: $(head -n 1 out.tsv)"

# json-min: one flat object per task with each control's value.
$ANNOT project create r --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
$ANNOT import r "$ANNOT_SRC/demo/tasks/reviews.json" >/dev/null
$ANNOT export r --format json-min -o min.json
$PY - min.json <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
first = rows[0]
assert first["sentiment"] == "Positive", first
assert any(e["labels"] == ["ORG"] for e in first["ner"]), first
PY

# A folder: the kind of each file is found from its content, not its name.
mkdir media
cp "$ANNOT_SRC/demo/data/images/cat.png" media/photo.txt
cp "$ANNOT_SRC/demo/data/audio/tone-a.wav" media/sound.bin
printf 'plain words\n' >media/note.dat
$ANNOT project create f --config "$ANNOT_SRC/demo/configs/street.xml" >/dev/null
set +e
$ANNOT import f media --format files --rejects frej.jsonl >/dev/null 2>&1
set -e
$ANNOT export f --format ls-json -o f.json
json_get f.json 'len(j)' | grep -qx 1 || fail "the PNG named .txt should be the one image task"
json_get f.json 'j[0]["data"]["image"]' | grep -q "photo.txt" || fail "image task path"
grep -q "sound.bin" frej.jsonl || fail "audio file without an Audio object should be rejected with a reason"
echo ok
