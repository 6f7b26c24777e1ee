# The provenance ledger end to end: an import under a licence policy, annotations through the
# API (group commit) with a change and a delete, an export with its signed manifest, `annot
# ledger verify/show/key/verify-export`, tampering with a copy of the workspace through the
# sqlite3 shell (triggers dropped first, as an attacker would), the key file's permissions,
# `annot provenance` and `annot audit` with its filters.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is needed (scripts/deps.sh installs it)"
unset ANNOT_LEDGER_KEY
cfg="$ANNOT_SRC/demo/configs/reviews.xml"
$ANNOT user add ann --role annotator >/dev/null
$ANNOT user add mia --role manager >/dev/null
T_ann=$($ANNOT token create ann)
$ANNOT project create r --config "$cfg" \
    --settings '{"licence_policy":{"allow":["CC0-1.0","contract:*"],"action":"flag"}}' >/dev/null
$ANNOT member add r ann
$PY - <<'EOF'
import json
lic = ["CC0-1.0", "contract:acme", "CC-BY-NC-4.0", None]
with open("tasks.jsonl", "w") as f:
    for i in range(12):
        d = {"text": f"review number {i}"}
        if lic[i % 4]: d["licence"] = lic[i % 4]
        f.write(json.dumps({"data": d, "meta": {"source": "shop-crawl"}}) + "\n")
EOF

# Import: flagged licences are counted in the summary; the key appears beside the workspace.
$ANNOT import r tasks.jsonl --json >imp.json
json_get imp.json 'j["added"], j["licence_flagged"]' | grep -qx "12 6" || fail "import summary: $(cat imp.json)"
[ "$(stat -c %a "$ANNOT_DB.key")" = 600 ] || fail "key file mode $(stat -c %a "$ANNOT_DB.key")"
$ANNOT ledger key >key.txt
grep -Eqx 'ed25519:[0-9a-f]{64}' key.txt || fail "ledger key: $(cat key.txt)"
pk=$(cut -d: -f2 key.txt)

# Provenance: counts per licence, with the policy's verdict.
$ANNOT provenance r --json >prov.json
json_get prov.json '[(l["licence"], l["tasks"], l["allowed"]) for l in j["licences"]], j["flagged"]' \
    | grep -qx "\[(None, 3, False), ('CC-BY-NC-4.0', 3, False), ('CC0-1.0', 3, True), ('contract:acme', 3, True)\] 6" \
    || fail "provenance: $(cat prov.json)"

# A refusing policy rejects the record, naming the licence.
$ANNOT project create strict --config "$cfg" \
    --settings '{"licence_policy":{"allow":["CC0-1.0"],"action":"refuse"}}' >/dev/null
expect_status 1 $ANNOT import strict tasks.jsonl --rejects rej.jsonl
grep -q 'licence \\"CC-BY-NC-4.0\\" is not allowed' rej.jsonl || fail "reject reason: $(head -3 rej.jsonl)"
grep -q 'no licence given' rej.jsonl || fail "reject for a missing licence: $(head -3 rej.jsonl)"
[ "$(wc -l <rej.jsonl)" -eq 9 ] || fail "expected 9 rejects: $(cat rej.jsonl)"

# Annotations through the API: several at once share commits (one entry per commit).
serve_start
good='{"result":[{"id":"a","from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Positive"]}}]}'
for t in 1 2 3 4 5 6; do
    curl -s -o "ann$t.json" -w '%{http_code}\n' -X POST -H "Authorization: Token $T_ann" \
        -H 'Content-Type: application/json' --data-binary "$good" "$base/api/tasks/$t/annotations" >"code$t" &
done
wait_all() { for t in 1 2 3 4 5 6; do while [ ! -s "code$t" ]; do sleep 0.05; done; done; }
wait_all
for t in 1 2 3 4 5 6; do grep -qx 201 "code$t" || fail "annotation on task $t: $(cat code$t) $(cat ann$t.json)"; done
a1=$(json_get ann1.json 'j["id"]')
a2=$(json_get ann2.json 'j["id"]')
changed='{"result":[{"id":"a","from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Negative"]}}]}'
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Token $T_ann" -H 'Content-Type: application/json' --data-binary "$changed" "$base/api/annotations/$a1")
[ "$code" = 200 ] || fail "annotation change: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Token $T_ann" "$base/api/annotations/$a2")
[ "$code" = 204 ] || fail "annotation delete: $code"
kill $server
wait $server 2>/dev/null || true
ON_EXIT=""

# The chain verifies; the creates took at most 6 entries, the change and the delete one each.
$ANNOT ledger verify --json >v.json || fail "verify: $(cat v.json)"
json_get v.json 'j["ok"], j["key_source"], j["public_key"]' | grep -qx "True key file $pk" || fail "verify: $(cat v.json)"
n=$(json_get v.json 'j["entries"]')
[ "$n" -ge 4 ] && [ "$n" -le 9 ] || fail "unexpected entry count $n"

# One task's history: its import, its annotation, its change.
$ANNOT ledger show 1 --json >show.json
$PY - "$a1" <<'EOF' || fail "ledger show 1: $(cat show.json)"
import json, sys
rows = [json.loads(l) for l in open("show.json")]
kinds = [(r["kind"], r["body"].get("action")) for r in rows]
assert kinds == [("import", None), ("annotation", "create"), ("annotation", "update")], kinds
assert rows[0]["content"] == "unchanged", rows[0]
assert rows[2]["body"]["annotations"][0][0] == int(sys.argv[1]), rows[2]
EOF
$ANNOT ledger show 2 | grep -q "delete: annotation $a2" || fail "ledger show 2: $($ANNOT ledger show 2)"

# Export with a manifest; a receiver verifies it, and an altered copy fails.
$ANNOT export r --format ls-jsonl -o out.jsonl 2>/dev/null
[ -f out.jsonl.manifest.json ] || fail "no manifest beside the export"
$ANNOT ledger verify-export out.jsonl --key "$pk" >ve.txt || fail "verify-export: $(cat ve.txt)"
grep -q "export ok: 12 tasks" ve.txt || fail "verify-export: $(cat ve.txt)"
$ANNOT ledger verify-export out.jsonl --ledger --json >ve.json || fail "verify-export --ledger: $(cat ve.json)"
json_get ve.json 'j["workspace"]' | grep -qx True || fail "verify-export --ledger: $(cat ve.json)"
export_seq=$(json_get ve.json 'j["seq"]')
sed 's/review number 3/review number 8/' out.jsonl >altered.jsonl
cp out.jsonl.manifest.json altered.jsonl.manifest.json
expect_status 1 $ANNOT ledger verify-export altered.jsonl
grep -q "does not match the manifest's digest" "$T/out" || fail "altered export: $(cat "$T/out")"
expect_status 1 $ANNOT ledger verify-export out.jsonl --key "$(printf '%064d' 0)"
$ANNOT ledger show 3 | grep -q "export" || fail "the export is in task 3's history"

# Tampering with copies of the workspace, through the sqlite3 shell.
tampered() { # tampered NAME SQL: a copy of the workspace (with its key) edited by SQL
    cp "$ANNOT_DB" "$1.db"
    cp "$ANNOT_DB.key" "$1.db.key"
    chmod 600 "$1.db.key"
    sqlite3 "$1.db" "DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete; $2"
}
check_bad() { # check_bad NAME SEQ PROBLEM
    expect_status 1 $ANNOT --db "$1.db" ledger verify --json
    json_get "$T/out" 'j["bad"]["seq"], j["bad"]["problem"]' | grep -qx "$2 $3" || fail "$1: $(cat "$T/out")"
}
# Without dropping the triggers the workspace refuses the edit.
cp "$ANNOT_DB" guarded.db
if sqlite3 guarded.db "DELETE FROM ledger WHERE seq = 2" 2>/dev/null; then fail "the ledger accepted a delete"; fi
tampered altered "UPDATE ledger SET body = replace(body, '\"tasks\":12', '\"tasks\":13') WHERE seq = 1;"
check_bad altered 1 altered
tampered removed "DELETE FROM ledger WHERE seq = 3;"
check_bad removed 3 removed
tampered reordered "UPDATE ledger SET seq = -1 WHERE seq = 2; UPDATE ledger SET seq = 2 WHERE seq = 3; UPDATE ledger SET seq = 3 WHERE seq = -1;"
check_bad reordered 2 reordered
tampered resigned "UPDATE ledger SET sig = zeroblob(64) WHERE seq = $export_seq;"
check_bad resigned "$export_seq" bad_signature
# A history cut after the fact no longer holds the entry the export's manifest pins.
tampered cut "DELETE FROM ledger WHERE seq >= $export_seq;"
$ANNOT --db cut.db ledger verify >/dev/null || fail "a cut ledger still verifies as a chain"
expect_status 1 $ANNOT --db cut.db ledger verify-export out.jsonl --ledger
grep -q "has no entry $export_seq" "$T/out" || fail "cut history: $(cat "$T/out")"

# The key file must be the owner's alone.
echo '{"data":{"text":"one more","licence":"CC0-1.0"}}' >more.jsonl
chmod 644 "$ANNOT_DB.key"
expect_status 1 $ANNOT import r more.jsonl
grep -q "chmod 600" "$T/err" || fail "loose key permissions: $(cat "$T/err")"
chmod 600 "$ANNOT_DB.key"
$ANNOT import r more.jsonl >/dev/null
$ANNOT ledger verify >/dev/null || fail "verify after the refused import"

# The audit log, filtered.
$ANNOT audit --json >audit.json
$ANNOT audit --action annotation --json >a_ann.json
$ANNOT audit --user ann --json >a_user.json
$ANNOT audit --project strict --json >a_proj.json
$ANNOT audit --since 2999-01-01 --json >a_future.json
$ANNOT audit --action export --limit 1 >a_export.txt
$PY - <<'EOF' || fail "audit filters"
import json
rd = lambda p: [json.loads(l) for l in open(p)]
allr = rd("audit.json")
acts = {r["action"] for r in allr}
assert {"import", "export", "annotation.create", "annotation.update", "annotation.delete"} <= acts, acts
ann = rd("a_ann.json")
assert len(ann) == 8 and all(r["action"].startswith("annotation.") for r in ann), ann
user = rd("a_user.json")
assert len(user) == 8 and all(r["user"] == "ann" for r in user), user
proj = rd("a_proj.json")
assert proj and all(r["project_id"] == 2 for r in proj), proj
assert rd("a_future.json") == []
assert len(open("a_export.txt").read().splitlines()) == 1
EOF
expect_status 1 $ANNOT audit --since yesterday
