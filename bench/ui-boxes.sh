#!/bin/sh
# Web UI with many boxes: serves a workspace with one image task pre-annotated with $BOXES
# (default 5000) boxes and runs ui-boxes.mjs in headless Chromium, which prints how long the
# task takes to open and how long a drag step, a drop and a label change take to reach the
# screen. Like tests/browser/run.sh; needs node, /usr/bin/chromium and python3, and
# playwright-core in tests/browser/node_modules (run.sh installs it).
#   ANNOT=build/release/annot sh bench/ui-boxes.sh      (WEB=DIR serves another copy of web/)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
ANNOT=${ANNOT:-$SRC/build/release/annot}
BOXES=${BOXES:-5000}
[ -x "$ANNOT" ] || { echo "build annot first (make), or set ANNOT" >&2; exit 1; }
[ -d "$SRC/tests/browser/node_modules/playwright-core" ] || {
    (cd "$SRC/tests/browser" && npm ci --no-audit --no-fund --loglevel=error >&2); }
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-uibench.XXXXXX")
export ANNOT_DB="$T/ws.db"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
cat >boxes.xml <<'XML'
<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="objects" toName="image">
    <Label value="Car"/>
    <Label value="Person"/>
  </RectangleLabels>
</View>
XML
# A 1600x1000 PNG and one task whose prediction has $BOXES boxes at seeded random places.
python3 - "$BOXES" >tasks.json <<'PY'
import base64, json, random, struct, sys, zlib
w, h = 1600, 1000
row = b"\x00" + b"\xb4\xbe\xc8" * w
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(row * h)) + chunk(b"IEND", b"")
rnd = random.Random(7)
result = []
for i in range(int(sys.argv[1])):
    bw, bh = rnd.uniform(0.5, 4), rnd.uniform(0.5, 4)
    result.append({"id": "b%d" % i, "from_name": "objects", "to_name": "image", "type": "rectanglelabels",
                   "original_width": w, "original_height": h, "image_rotation": 0,
                   "value": {"x": round(rnd.uniform(0, 100 - bw), 3), "y": round(rnd.uniform(0, 100 - bh), 3),
                             "width": round(bw, 3), "height": round(bh, 3), "rotation": 0,
                             "rectanglelabels": [rnd.choice(["Car", "Person"])]}})
json.dump([{"data": {"image": "data:image/png;base64," + base64.b64encode(png).decode()},
            "predictions": [{"model_version": "bench", "score": 0.5, "result": result}]}], sys.stdout)
PY
$ANNOT user add ann --role annotator >/dev/null
echo "ann pass 123" | $ANNOT user passwd ann
$ANNOT project create boxes --config boxes.xml >/dev/null
$ANNOT import boxes tasks.json --strict >/dev/null
$ANNOT member add boxes ann
: >serve.log
$ANNOT serve --port 0 --web "${WEB:-$SRC/web}" >serve.log 2>&1 &
server=$!
i=0
until grep -q "serving" serve.log; do
    i=$((i + 1))
    [ $i -lt 200 ] || { cat serve.log >&2; exit 1; }
    sleep 0.05
done
base=$(sed -n 's|.*at \(http://[^ ]*\)/$|\1|p' serve.log)
BASE_URL="$base" BOXES="$BOXES" CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node "$SRC/bench/ui-boxes.mjs"
