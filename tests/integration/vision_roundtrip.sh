# COCO, YOLO and Pascal VOC through the command line and the store: export -> import into a
# new project -> export keeps every box to 1e-6 pixel.
. "$(dirname "$0")/lib.sh"
cfg="$ANNOT_SRC/demo/configs/street.xml"
sed "s|\$DEMO|$ANNOT_SRC/demo|g" "$ANNOT_SRC/demo/tasks/street.json" >street.json
$ANNOT project create s --config "$cfg" >/dev/null
$ANNOT import s street.json >/dev/null
# More boxes with awkward coordinates, on a real image of the demo.
$PY - "$ANNOT_SRC/demo/data/images/cat.png" <<'PY' >more.jsonl
import json, random, sys
rnd = random.Random(7)
res = []
for i in range(25):
    x, y = rnd.uniform(0, 70), rnd.uniform(0, 70)
    res.append({"id": f"b{i}", "from_name": "objects", "to_name": "image", "type": "rectanglelabels",
                "original_width": 320, "original_height": 240, "image_rotation": 0,
                "value": {"x": x, "y": y, "width": rnd.uniform(0.5, 29), "height": rnd.uniform(0.5, 29),
                          "rotation": 0, "rectanglelabels": [rnd.choice(["Car", "Person", "Tree"])]}})
print(json.dumps({"data": {"image": sys.argv[1], "note": "dense"}, "annotations": [{"result": res}]}))
PY
$ANNOT import s more.jsonl >/dev/null

# Boxes in pixels, per image file name, from any of the three formats.
cat >boxes.py <<'PY'
import glob, json, os, sys, xml.etree.ElementTree as ET
def coco(path):
    j = json.load(open(path)); cats = {c["id"]: c["name"] for c in j["categories"]}
    imgs = {i["id"]: os.path.basename(i["file_name"]) for i in j["images"]}
    out = {}
    for a in j["annotations"]:
        out.setdefault(imgs[a["image_id"]], []).append((cats[a["category_id"]], *a["bbox"]))
    return out
def yolo(path, sizes):
    names = open(os.path.join(path, "classes.txt")).read().split("\n")
    out = {}
    for f in glob.glob(os.path.join(path, "labels", "*.txt")):
        stem = os.path.splitext(os.path.basename(f))[0]; w, h = sizes[stem]
        for line in open(f):
            c, cx, cy, bw, bh = line.split()
            cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
            out.setdefault(stem + ".png", []).append((names[int(c)], cx - bw / 2, cy - bh / 2, bw, bh))
    return out
def voc(path):
    out = {}
    for f in glob.glob(os.path.join(path, "Annotations", "*.xml")):
        r = ET.parse(f).getroot()
        name = r.findtext("filename")
        for o in r.findall("object"):
            b = o.find("bndbox"); x0, y0, x1, y1 = (float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
            out.setdefault(name, []).append((o.findtext("name"), x0, y0, x1 - x0, y1 - y0))
    return out
def same(a, b, what):
    assert a.keys() == b.keys(), (what, a.keys(), b.keys())
    for k in a:
        A, B = sorted(a[k]), sorted(b[k])
        assert len(A) == len(B), (what, k, len(A), len(B))
        for p, q in zip(A, B):
            assert p[0] == q[0], (what, k, p, q)
            assert all(abs(u - v) <= 1e-6 for u, v in zip(p[1:], q[1:])), (what, k, p, q)
kind, a, b = sys.argv[1:4]
if kind == "coco": same(coco(a), coco(b), kind); n = sum(map(len, coco(a).values()))
if kind == "voc": same(voc(a), voc(b), kind); n = sum(map(len, voc(a).values()))
if kind == "yolo":
    sizes = {"street-1": (320, 240), "cat": (320, 240)}
    same(yolo(a, sizes), yolo(b, sizes), kind); n = sum(map(len, yolo(a, sizes).values()))
print(n)
PY

$ANNOT export s --format coco -o a.coco.json
n=$($PY boxes.py coco a.coco.json a.coco.json)
[ "$n" -eq 27 ] || fail "COCO export should hold 27 boxes, has $n"
for fmt in coco yolo voc; do
    out=a.$fmt
    [ $fmt = coco ] && out=a.coco.json
    [ -e "$out" ] || $ANNOT export s --format $fmt -o "$out"
    $ANNOT project create "s-$fmt" --config "$cfg" >/dev/null
    $ANNOT import "s-$fmt" "$out" --format $fmt >/dev/null || fail "import of the $fmt export: $(cat annot-rejects-*.jsonl 2>/dev/null)"
    back=b.$fmt
    [ $fmt = coco ] && back=b.coco.json
    $ANNOT export "s-$fmt" --format $fmt -o "$back"
    $PY boxes.py $fmt "$out" "$back" >/dev/null || fail "$fmt round trip changed boxes"
done

# A folder export refuses to overwrite.
expect_status 1 $ANNOT export s --format voc -o a.voc
echo ok
