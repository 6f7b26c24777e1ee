# The command line's contract: ids, listings, JSON output, help, errors and exit statuses.
. "$(dirname "$0")/lib.sh"
cfg="$ANNOT_SRC/demo/configs/reviews.xml"

id=$($ANNOT project create reviews --config "$cfg")
[ "$id" = 1 ] || fail "first project id is $id, expected 1"
$ANNOT project create images --config "$ANNOT_SRC/demo/configs/street.xml" --json >out.json
[ "$(json_get out.json 'j["id"]')" = 2 ] || fail "second project id"
$ANNOT project list | grep -q reviews || fail "project list misses reviews"
$ANNOT project list --json | $PY -c 'import json,sys; rows=[json.loads(l) for l in sys.stdin]; assert [r["name"] for r in rows]==["reviews","images"], rows'

# A duplicate name is bad input (exit 1) and says what to do.
expect_status 1 $ANNOT project create reviews --config "$cfg"
grep -q "already exists" err || fail "duplicate project message: $(cat err)"

# A config with an unknown tag names the tag and its line.
printf '<View>\n  <Text name="t" value="$text"/>\n  <Banana name="b" toName="t"/>\n</View>\n' >bad.xml
expect_status 1 $ANNOT project create bad --config bad.xml
grep -q "Banana" err && grep -q ":3" err || fail "unknown tag error should name Banana and line 3: $(cat err)"

# Users and roles.
$ANNOT user add ann --role annotator >/dev/null
expect_status 1 $ANNOT user add ann --role annotator
expect_status 1 $ANNOT user add zed --role emperor
$ANNOT user list --json | grep -q '"role":"annotator"' || fail "user list"

# Projects are found by name or id; a missing one is exit 1 with a hint.
$ANNOT stats 1 --json >s.json
[ "$(json_get s.json 'j["name"]')" = reviews ] || fail "stats by id"
expect_status 1 $ANNOT stats nosuch
grep -q "project list" err || fail "missing-project hint: $(cat err)"
expect_status 1 $ANNOT stats nosuch --json
json_get out 'j["error"]["code"]' | grep -q not_found || fail "JSON error object: $(cat out)"

# Usage errors and help.
expect_status 1 $ANNOT frobnicate
expect_status 1 $ANNOT import reviews
expect_status 1 $ANNOT export reviews
for cmd in project import export stats user formats; do
    $ANNOT $cmd --help | grep -q "usage: annot $cmd" || fail "$cmd --help"
done
$ANNOT --help | grep -q "Exit status" || fail "annot --help"

# --db and ANNOT_DB choose the workspace.
$ANNOT --db other.db project list --json >o.txt
[ ! -s o.txt ] || fail "a new workspace should have no projects"
[ -f other.db ] || fail "--db did not create other.db"
echo ok
