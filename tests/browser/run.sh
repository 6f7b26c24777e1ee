#!/bin/sh
# Browser tests of the web UI: builds a workspace with $ANNOT, serves it on a loopback port,
# drives the UI in Debian's Chromium (ui.test.mjs, playwright-core) and then checks through
# the CLI's export what the UI stored.
#   ANNOT=build/annot ANNOT_SRC=$PWD sh tests/browser/run.sh
# Needs node and npm (Node 18 or newer), /usr/bin/chromium and python3: scripts/deps.sh
# --test installs them; as root this script installs what is missing itself.
# SHOTS=DIR keeps screenshots of each screen there.
set -eu
: "${ANNOT:?ANNOT must name the annot binary}"
: "${ANNOT_SRC:?ANNOT_SRC must name the source tree}"
HERE="$ANNOT_SRC/tests/browser"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# 1. Tools.
missing=""
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -x "$CHROMIUM" ] || missing="$missing chromium"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
if [ -n "$missing" ] && [ "$(id -u)" -eq 0 ]; then
    echo "browser tests: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
    fi
fi
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing: install Debian's chromium (scripts/deps.sh --test does)"
command -v node >/dev/null 2>&1 || fail "node is missing: install nodejs and npm (scripts/deps.sh --test does)"
command -v npm >/dev/null 2>&1 || fail "npm is missing: install npm (scripts/deps.sh --test does)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] || fail "Node $major is too old: the browser tests need Node 18 or newer"

# 2. playwright-core, as package-lock.json pins it; reinstalled only when the lock changes.
if ! cmp -s "$HERE/package-lock.json" "$HERE/node_modules/.annot-lock" 2>/dev/null; then
    # Node trusts only its own CA list unless told otherwise; let npm trust the machine's, as
    # apt and curl do (a registry mirror or proxy may use a CA the machine was given).
    if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
        NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
        export NODE_EXTRA_CA_CERTS
    fi
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >&2) || fail "npm ci failed in $HERE"
    cp "$HERE/package-lock.json" "$HERE/node_modules/.annot-lock"
fi

# 3. A workspace with two projects, two users and tasks with predictions; the server.
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-browser.XXXXXX")
export ANNOT_DB="$T/ws.db"
server=""
trap 'rc=$?; [ -n "$server" ] && kill "$server" 2>/dev/null; if [ $rc -eq 0 ]; then rm -rf "$T"; else echo "test files kept in $T" >&2; fi' EXIT
cd "$T"
. "$HERE/fixtures.sh"
# Task media (the audio task's file) is served from $T/media once the server knows --media-root.
media=""
if $ANNOT serve --help 2>&1 | grep -q -- --media-root; then media="--media-root $T/media"; fi
: >serve.log
$ANNOT serve --port 0 $media >serve.log 2>&1 &
server=$!
i=0
until grep -q "serving" serve.log; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "server did not start: $(cat serve.log)"
    kill -0 "$server" 2>/dev/null || fail "server exited: $(cat serve.log)"
    sleep 0.05
done
base=$(sed -n 's|.*at \(http://[^ ]*\)/$|\1|p' serve.log)
code=$(curl -s -o index.html -w '%{http_code}' "$base/") || fail "GET / failed"
[ "$code" = 200 ] && grep -q 'app.js' index.html || fail "the server does not serve web/ at / (got $code)"

# 4. The UI, in Chromium.
BASE_URL="$base" USERNAME=ann PASSWORD="ann pass 123" CHROMIUM="$CHROMIUM" SHOTS="${SHOTS:-}" \
    timeout 300 node "$HERE/ui.test.mjs" || fail "browser steps failed"

# 5. What the UI stored, read back through the CLI.
$ANNOT export text --format ls-json -o text.json
$ANNOT export image --format ls-json -o image.json
python3 - text.json image.json <<'PY' || fail "stored annotations differ from what the UI did"
import json, sys
text = {t["data"]["text"]: t for t in json.load(open(sys.argv[1]))}
image = json.load(open(sys.argv[2]))
def one(anns):
    assert len(anns) == 1, anns
    return anns[0]
a = one(text["😀华为在北京发布了新手机。"]["annotations"])
assert not a["was_cancelled"], a
by = {}
for r in a["result"]:
    by.setdefault(r["type"], []).append(r)
spans = {r["value"]["text"]: r for r in by["labels"]}
assert sorted(spans) == ["北京", "华为"], by["labels"]
# Code points: the emoji is one, so 华为 is [1, 3) (UTF-16 would say [2, 4)).
v = spans["华为"]["value"]
assert (v["start"], v["end"], v["labels"]) == (1, 3, ["ORG"]), v
v = spans["北京"]["value"]
assert (v["start"], v["end"], v["labels"]) == (4, 6, ["LOC"]), v
rel = by["relation"]
assert len(rel) == 1 and rel[0]["from_id"] == spans["华为"]["id"] and rel[0]["to_id"] == spans["北京"]["id"], rel
assert rel[0]["labels"] == ["works_for"] and rel[0]["direction"] == "right", rel
assert [r["value"]["choices"] for r in by["choices"]] == [["Negative"]], by["choices"]
assert [r["value"]["text"] for r in by["textarea"]] == [["华为 is an ORG"]], by["textarea"]
assert [r["value"]["rating"] for r in by["rating"]] == [4], by["rating"]
x = one(text["<img src=x onerror=alert(1)>"]["annotations"])
assert x["was_cancelled"] and x["result"] == [], x
b = one(image[0]["annotations"])
boxes = sorted(b["result"], key=lambda r: r["value"]["rectanglelabels"][0])
assert [r["value"]["rectanglelabels"] for r in boxes] == [["Car"], ["Person"]], boxes
car, person = boxes
for r in boxes:
    assert (r["original_width"], r["original_height"]) == (200, 100), r
    assert all(0 <= r["value"][k] <= 100 for k in ("x", "y", "width", "height")), r
# The predicted person box (10, 10, 20, 20) was dragged right and down, same size.
pv = person["value"]
assert pv["x"] > 15 and pv["y"] > 12 and abs(pv["width"] - 20) < 1e-6 and abs(pv["height"] - 20) < 1e-6, pv
cv = car["value"]
assert abs(cv["x"] - 60) < 2 and abs(cv["y"] - 50) < 2 and abs(cv["width"] - 30) < 2 and abs(cv["height"] - 40) < 2, cv
print("export: UI results stored as expected")
PY
for p in shapes grounding dialogue compare speech; do
    $ANNOT export $p --format ls-json -o $p.json
done
python3 - <<'PY' || fail "stored annotations of the other controls differ from what the UI did"
import json
def result(name):
    tasks = json.load(open(name + ".json"))
    anns = tasks[0]["annotations"]
    assert len(anns) == 1, (name, anns)
    return anns[0]["result"]
near = lambda a, b, eps=1.0: abs(a - b) <= eps
r = result("shapes")
polys = {x["value"]["polygonlabels"][0]: x["value"]["points"] for x in r if x["type"] == "polygonlabels"}
assert len(polys["Building"]) == 3 and len(polys["Road"]) == 4, polys
for got, want in zip(polys["Building"], [[10, 10], [40, 10], [40, 40]]):
    assert near(got[0], want[0]) and near(got[1], want[1]), polys
(kp,) = [x for x in r if x["type"] == "keypointlabels"]
assert kp["value"]["keypointlabels"] == ["Eye"] and near(kp["value"]["x"], 25, .6) and near(kp["value"]["y"], 25, .6), kp
r = result("grounding")
(box,) = [x for x in r if x["type"] == "rectanglelabels"]
(span,) = [x for x in r if x["type"] == "labels"]
(rel,) = [x for x in r if x["type"] == "relation"]
assert (rel["from_id"], rel["to_id"], rel["labels"]) == (box["id"], span["id"], ["depicts"]), rel
v = span["value"]
assert (v["start"], v["end"], v["text"], v["labels"]) == (2, 12, "dark block", ["Phrase"]), v
assert all(near(box["value"][k], w) for k, w in (("x", 20), ("y", 30), ("width", 40), ("height", 50))), box
r = result("dialogue")
spans = sorted((x["value"] for x in r if x["type"] == "labels"), key=lambda v: v["startOffset"])
got = [(v["start"], v["end"], v["startOffset"], v["endOffset"], v["text"], v["labels"]) for v in spans]
assert got == [("0", "0", 5, 11, "订去上海的票", ["Request"]), ("0", "0", 7, 9, "上海", ["Place"])], got
assert [x["value"]["choices"] for x in r if x["type"] == "choices"] == [["Resolved"]], r
r = result("compare")
(pw,) = [x for x in r if x["type"] == "pairwise"]
assert pw["value"] == {"selected": "left"} and pw["to_name"] == "answer_a,answer_b", pw
(rk,) = [x for x in r if x["type"] == "ranker"]
assert rk["value"] == {"ranker": {"results": ["r3", "r2", "r1"]}}, rk
tasks = json.load(open("speech.json"))
if tasks[0]["annotations"]:
    segs = sorted((x["value"] for x in tasks[0]["annotations"][0]["result"]), key=lambda v: v["start"])
    assert [v["labels"] for v in segs] == [["Low"], ["High"]], segs
    assert near(segs[0]["start"], .05, .02) and near(segs[0]["end"], .45, .02), segs
    assert near(segs[1]["start"], .55, .02) and near(segs[1]["end"], .95, .02), segs
else:
    print("export: no audio annotation (task media not served yet)")
print("export: polygons, keypoints, grounding, dialogue, pairwise, ranker stored as expected")
PY
$ANNOT export html --format ls-json -o html.json
python3 - <<'PY' || fail "stored annotation of the HyperText task differs from what the UI did"
import json
(task,) = json.load(open("html.json"))
(a,) = task["annotations"]
got = sorted((r["type"], json.dumps(r["value"], ensure_ascii=False)) for r in a["result"])
assert got == [("choices", '{"choices": ["Safe"]}'), ("textarea", '{"text": ["only formatting"]}')], got
print("export: HyperText task's choice and text stored as expected")
PY
echo ok
