# The server keeps projects' parsed labeling configs between requests: after a config
# changes (PATCH /api/projects/{id}, or another process writing the workspace) annotations
# are validated against the new config at once, in both directions, on every request thread.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
$ANNOT user add mia --role manager >/dev/null
TOKEN=$($ANNOT token create mia)
config() { # config CHOICE...: a text config with one Choices control named c
    printf '<View><Text name="text" value="$text"/><Choices name="c" toName="text">'
    for v in "$@"; do printf '<Choice value="%s"/>' "$v"; done
    printf '</Choices></View>'
}
config a b >ab.xml
$ANNOT project create p --config ab.xml >/dev/null
$ANNOT member add p mia
printf '[{"text":"one"},{"text":"two"}]' >tasks.json
$ANNOT import p tasks.json >/dev/null

serve_start --threads 4
req() { # req METHOD PATH [BODY]: prints the status, the answer in body.json
    curl -s -o body.json -w '%{http_code}' -X "$1" -H "Authorization: Token $TOKEN" \
        -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$base$2"
}
expect() {
    want=$1; shift
    got=$(req "$@")
    [ "$got" = "$want" ] || fail "$* -> $got, expected $want: $(cat body.json)"
}
choice() { printf '{"result":[{"from_name":"c","to_name":"text","type":"choices","value":{"choices":["%s"]}}]}' "$1"; }
patch_config() { # patch_config CHOICE...
    body=$(config "$@" | $PY -c 'import json,sys; print(json.dumps({"label_config": sys.stdin.read()}))')
    expect 200 PATCH /api/projects/1 "$body"
}

# Several requests per config, so that every request thread has used the cached one.
for k in 1 2 3 4 5 6; do
    expect 201 POST /api/tasks/1/annotations "$(choice a)"
    expect 422 POST /api/tasks/2/annotations "$(choice c)"
done
json_get body.json 'j["error"]["field"]' | grep -qx 'result\[0\].value.choices\[0\]' ||
    fail "422 names the choice: $(cat body.json)"

# A label only the new config has is accepted right after the PATCH ...
patch_config a b c
for k in 1 2 3 4 5 6; do expect 201 POST /api/tasks/2/annotations "$(choice c)"; done
expect 200 GET /api/projects/1/config
json_get body.json '[c["labels"] for c in j["controls"]]' | grep -qx "\[\['a', 'b', 'c'\]\]" ||
    fail "config endpoint shows the new labels: $(cat body.json)"

# ... and one the new config dropped is refused right after it (b is used by no annotation,
# so the PATCH may drop it).
patch_config a c
for k in 1 2 3 4 5 6; do expect 422 POST /api/tasks/1/annotations "$(choice b)"; done
expect 201 POST /api/tasks/1/annotations "$(choice a)"

# A config written by another process (not through this server) is seen as well.
config a c d >acd.xml
$PY - "$ANNOT_DB" acd.xml <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
db.execute("UPDATE projects SET config = ? WHERE id = 1", (open(sys.argv[2]).read(),))
db.commit()
EOF
for k in 1 2 3 4 5 6; do expect 201 POST /api/tasks/1/annotations "$(choice d)"; done

# A PATCH of the title only keeps the config (and its cached parse) working.
expect 200 PATCH /api/projects/1 '{"title":"renamed"}'
expect 201 POST /api/tasks/2/annotations "$(choice d)"
expect 200 GET /api/projects/1
[ "$(json_get body.json 'j["total_annotations_number"]')" = 20 ] ||
    fail "20 annotations stored: $(cat body.json)"
echo "ok"
