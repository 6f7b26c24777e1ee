# The audit log records what the command line changes, too: accounts, passwords, tokens,
# projects and memberships, each with no user (the CLI holds the database) and "via": "cli";
# and the log refuses to be edited.
. "$(dirname "$0")/lib.sh"
export USER=operator
$ANNOT user add ann --role annotator >/dev/null
printf 's3cret-pass\n' | $ANNOT user passwd ann >/dev/null
$ANNOT token create ann >/dev/null
$ANNOT project create p --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
$ANNOT member add p ann
$ANNOT member remove p ann
$ANNOT audit --json >a.jsonl
$PY - a.jsonl <<'EOF' || fail "audit entries: $(cat a.jsonl)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
actions = [r["action"] for r in rows]
want = ["user.create", "user.password", "token.create", "project.create", "member.add", "member.remove"]
assert actions[:len(want)] == want, actions
for r in rows[:len(want)]:
    assert r["user_id"] == 0 and r["user"] == "system", r
    d = r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"])
    assert d == {"via": "cli", "os_user": "operator"}, d
EOF
$ANNOT audit --project p --json | grep -c member | grep -qx 2 || fail "per-project filter"
# a write that fails records nothing
expect_status 1 $ANNOT member add p nobody
[ "$($ANNOT audit --json | wc -l)" = "$(wc -l <a.jsonl)" ] || fail "a failed change was recorded"
# append-only, whatever the role: even the database's owner cannot edit it through SQL
if sqlite3 "$ANNOT_DB" "UPDATE audit SET action = 'x'" 2>/dev/null; then fail "audit row edited"; fi
if sqlite3 "$ANNOT_DB" "DELETE FROM audit" 2>/dev/null; then fail "audit rows deleted"; fi
echo ok
