# Behaviour of the newer endpoints against a real server: export jobs (lifecycle, the
# downloaded file's content, folder formats as tar, jobs left running marked failed on a
# restart), reviews (no self-review, latest state in the queue), task media (only inside the
# media roots: absolute paths, "..", symlinks out and URLs refused), users and passwords,
# project and task edits, the audit log.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
$ANNOT user add root --role admin >/dev/null
$ANNOT user add mia --role manager >/dev/null
$ANNOT user add rex --role reviewer >/dev/null
$ANNOT user add ann --role annotator >/dev/null
for u in root mia rex ann; do eval "T_$u=\$($ANNOT token create $u)"; done
mkdir media outside
cp "$ANNOT_SRC/demo/data/images/street-1.png" media/street.png
printf 'secret' >outside/secret.png
ln -s "$T/outside/secret.png" media/link.png
sed "s|\\\$DEMO|$ANNOT_SRC/demo|g" "$ANNOT_SRC/demo/tasks/street.json" >street.json
$ANNOT project create r --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
$ANNOT import r "$ANNOT_SRC/demo/tasks/reviews.json" >/dev/null
$ANNOT project create s --config "$ANNOT_SRC/demo/configs/street.xml" >/dev/null
$ANNOT import s street.json >/dev/null
for u in mia rex ann; do $ANNOT member add r $u; $ANNOT member add s $u; done

start() { serve_start --media-root "$T/media"; }
start
req() {
    curl -s -o body.json -w '%{http_code}' -X "$2" -H "Authorization: Token $(eval echo "\$T_$1")" \
        -H 'Content-Type: application/json' ${4:+--data-binary "$4"} "$base$3"
}
expect() {
    want=$1; shift
    got=$(req "$@")
    [ "$got" = "$want" ] || fail "$* -> $got, expected $want: $(cat body.json)"
}
wait_job() { # wait_job PROJECT JOB: until done or failed; prints the status
    i=0
    while :; do
        expect 200 mia GET /api/projects/$1/exports/$2
        st=$(json_get body.json 'j["status"]')
        case $st in done|failed) echo "$st"; return ;; esac
        i=$((i + 1)); [ $i -lt 400 ] || fail "export $2 stuck in $st"; sleep 0.05
    done
}

# ---- export jobs ----
expect 400 mia POST /api/projects/1/exports '{"format":"nope"}'
grep -q ls-json body.json || fail "unknown format lists the formats"
expect 201 mia POST /api/projects/1/exports '{"format":"ls-json"}'
json_get body.json 'sorted(j)' | grep -q "'created_at', 'error', 'finished_at', 'format', 'id'" || fail "job shape: $(cat body.json)"
e1=$(json_get body.json 'j["id"]')
[ "$(wait_job 1 $e1)" = done ] || fail "export failed: $(cat body.json)"
json_get body.json 'j["tasks"], j["error"], j["finished_at"] is not None' | grep -qx "5 None True" || fail "done job: $(cat body.json)"
code=$(curl -s -D head.txt -o export.json -w '%{http_code}' -H "Authorization: Token $T_mia" "$base/api/projects/1/exports/$e1/download")
[ "$code" = 200 ] || fail "download: $code"
grep -qi '^Content-Disposition: attachment; filename="r-ls-json-'$e1'.json"' head.txt || fail "disposition: $(cat head.txt)"
json_get export.json 'len(j), j[0]["data"]["text"][:6], j[0]["annotations"][0]["result"][0]["value"]["choices"]' | grep -qx "5 Bought \['Positive'\]" || fail "export content"
$ANNOT export r --format ls-json -o cli.json
cmp -s cli.json export.json || fail "the API's export differs from the CLI's"
expect 200 mia GET /api/projects/1/exports
json_get body.json 'len(j), j[0]["id"]' | grep -qx "1 $e1" || fail "job list"
expect 404 mia GET /api/projects/2/exports/$e1 # a job of another project
# Folder formats come as a tar archive.
expect 201 mia POST /api/projects/2/exports '{"format":"yolo"}'
e2=$(json_get body.json 'j["id"]')
[ "$(wait_job 2 $e2)" = done ] || fail "yolo export failed: $(cat body.json)"
curl -s -o yolo.tar -H "Authorization: Token $T_mia" "$base/api/projects/2/exports/$e2/download"
tar -tf yolo.tar >list.txt || fail "not a tar archive"
grep -qx 'export/classes.txt' list.txt || fail "tar lacks classes.txt: $(cat list.txt)"
grep -q '^export/.*\.txt$' list.txt || fail "tar lacks label files"
mkdir untar && tar -xf yolo.tar -C untar && grep -qx Car untar/export/classes.txt || fail "classes.txt content"
curl -s "$base/metrics" | grep -qx 'annot_export_jobs{status="done"} 2' || fail "job gauges"
# A job that was running when the server stopped is failed at the next start; queued jobs
# survive a restart and run.
kill $server; wait $server 2>/dev/null || true
/usr/bin/python3 - "$ANNOT_DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO export_jobs (project_id, format, status, created_at) VALUES (1, 'csv', 'running', '2024-01-01T00:00:00Z')")
db.execute("INSERT INTO export_jobs (project_id, format, status, created_at) VALUES (1, 'csv', 'queued', '2024-01-01T00:00:00Z')")
db.commit()
PY
start
expect 200 mia GET /api/projects/1/exports
json_get body.json 'j[1]["status"], j[1]["error"][:10]' | grep -qx "failed the server" || fail "running job after restart: $(cat body.json)"
e4=$(json_get body.json 'j[0]["id"]')
[ "$(wait_job 1 $e4)" = done ] || fail "queued job did not run after restart"
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Token $T_mia" "$base/api/projects/1/exports/$(json_get body.json 'j["id"]')/download" | grep -qx 200 || fail "csv download"

# ---- reviews ----
good='{"result":[{"id":"a","from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Neutral"]}}]}'
expect 201 rex POST /api/tasks/2/annotations "$good"
own=$(json_get body.json 'j["id"]')
expect 403 rex POST /api/annotations/$own/reviews '{"accepted":true}'
grep -q "own annotation" body.json || fail "self-review message"
expect 201 ann POST /api/tasks/3/annotations "$good"
a=$(json_get body.json 'j["id"]')
expect 400 rex POST /api/annotations/$a/reviews '{"accepted":"yes"}'
expect 201 rex POST /api/annotations/$a/reviews '{"accepted":false,"comment":"wrong label"}'
json_get body.json 'j["annotation"], j["accepted"], j["comment"], j["reviewer"]' | grep -qx "$a False wrong label 3" || fail "review shape: $(cat body.json)"
expect 200 rex GET "/api/projects/1/annotations?status=rejected"
json_get body.json '[x["id"] for x in j["annotations"]], j["annotations"][0]["task"], j["annotations"][0]["completed_by"]' | grep -qx "\[$a\] 3 4" || fail "rejected queue: $(cat body.json)"
expect 201 mia POST /api/annotations/$a/reviews '{"accepted":true}'
expect 200 rex GET "/api/projects/1/annotations?status=rejected"
json_get body.json 'j["total"]' | grep -qx 0 || fail "latest review decides"
expect 200 rex GET "/api/projects/1/annotations?status=accepted&page_size=1"
json_get body.json 'j["annotations"][0]["id"], j["annotations"][0]["review_count"]' | grep -qx "$a 2" || fail "accepted queue"
expect 200 rex GET "/api/projects/1/annotations?status=unreviewed"
json_get body.json 'j["total"]' | grep -qx 3 || fail "unreviewed count: $(cat body.json)" # 2 imported + rex's own
expect 400 rex GET "/api/projects/1/annotations?status=maybe"
expect 200 ann GET /api/annotations/$a/reviews
json_get body.json '[r["accepted"] for r in j]' | grep -qx "\[False, True\]" || fail "review list"

# ---- task media ----
expect 201 mia POST /api/projects/2/import "[{\"image\":\"$T/media/street.png\"},{\"image\":\"/etc/passwd\"},{\"image\":\"$T/media/../outside/secret.png\"},{\"image\":\"$T/media/link.png\"},{\"image\":\"https://example.com/a.png\"},{\"image\":\"street.png\"},{\"image\":\"../outside/secret.png\"}]"
req mia GET "/api/tasks?project=2&page_size=100" >/dev/null
ids=$(json_get body.json '" ".join(str(t["id"]) for t in j["tasks"][-7:])')
set -- $ids
code=$(curl -s -o got.png -w '%{http_code}' -H "Authorization: Token $T_ann" "$base/api/tasks/$1/media/image")
[ "$code" = 200 ] && cmp -s got.png media/street.png || fail "media file: $code"
code=$(curl -s -o part.bin -w '%{http_code}' -H "Range: bytes=0-3" -H "Authorization: Token $T_ann" "$base/api/tasks/$1/media/image")
[ "$code" = 206 ] && [ "$(wc -c <part.bin)" = 4 ] || fail "media range: $code"
curl -s -D mhead.txt -o /dev/null -H "Authorization: Token $T_ann" "$base/api/tasks/$1/media/image"
grep -qi '^Content-Security-Policy: sandbox' mhead.txt || fail "media are sent sandboxed"
for t in $2 $3 $4 $7; do expect 404 ann GET /api/tasks/$t/media/image; done
expect 400 ann GET /api/tasks/$5/media/image
grep -q "fetch it from its URL" body.json || fail "URL message"
expect 200 ann GET /api/tasks/$6/media/image # relative to a media root
expect 404 ann GET /api/tasks/$1/media/nofield

# ---- users, passwords, tokens, members ----
expect 201 root POST /api/users '{"username":"zoe","role":"annotator","password":"zoe-password-1"}'
zoe=$(json_get body.json 'j["id"]')
expect 409 root POST /api/users '{"username":"zoe","role":"annotator"}'
expect 400 root POST /api/users '{"username":"x","role":"boss"}'
expect 200 mia GET /api/users
json_get body.json '"active" in j[0]' | grep -qx False || fail "managers see names and roles only"
expect 201 root POST /api/users/$zoe/tokens '{"label":"ci"}'
T_zoe=$(json_get body.json 'j["token"]')
expect 200 zoe GET /api/current-user/whoami
expect 403 zoe PATCH /api/users/$zoe '{"password":"new-password-2","old_password":"wrong-one"}'
expect 200 zoe PATCH /api/users/$zoe '{"password":"new-password-2","old_password":"zoe-password-1"}'
curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"username":"zoe","password":"new-password-2"}' "$base/api/auth/login" | grep -qx 200 || fail "new password"
expect 403 zoe PATCH /api/users/$zoe '{"role":"admin"}'
expect 200 root PATCH /api/users/$zoe '{"role":"reviewer"}'
json_get body.json 'j["role"]' | grep -qx reviewer || fail "role change"
expect 200 root PATCH /api/users/$zoe '{"active":false}'
expect 401 zoe GET /api/current-user/whoami
expect 201 mia POST /api/projects/1/members "{\"user\":$zoe}"
expect 200 mia GET /api/projects/1/members
json_get body.json '"zoe" in [u["username"] for u in j]' | grep -qx True || fail "member list"
expect 204 mia DELETE /api/projects/1/members/$zoe
expect 404 mia DELETE /api/projects/1/members/$zoe

# ---- project and task edits ----
expect 200 mia PATCH /api/projects/1 '{"title":"reviews-2","overlap":3}'
json_get body.json 'j["title"], j["overlap"]' | grep -qx "reviews-2 3" || fail "project patch"
noneutral=$(sed 's|<Choice value="Neutral"/>||' "$ANNOT_SRC/demo/configs/reviews.xml" | /usr/bin/python3 -c 'import json,sys; print(json.dumps({"label_config": sys.stdin.read()}))')
expect 409 mia PATCH /api/projects/1 "$noneutral"
grep -q Neutral body.json || fail "config check names the label in use"
expect 400 mia PATCH /api/projects/1 '{"label_config":"<View><Bogus/></View>"}'
expect 200 mia PATCH /api/tasks/1 '{"data":{"text":"edited text"},"meta":{"src":"x"}}'
json_get body.json 'j["data"]["text"], j["meta"]["src"]' | grep -qx "edited text x" || fail "task patch"
req mia GET /api/tasks/2 >/dev/null
t2=$(/usr/bin/python3 -c 'import json; print(json.dumps({"data": json.load(open("body.json"))["data"]}))')
expect 409 mia PATCH /api/tasks/1 "$t2"
expect 400 mia PATCH /api/tasks/1 '{"data":"x"}'
expect 204 root DELETE /api/projects/2
expect 404 root GET /api/projects/2
expect 404 mia GET /api/projects/2/exports/$e2

# ---- audit ----
expect 200 root GET "/api/audit?project=1&limit=1000"
json_get body.json 'sorted(set(e["action"] for e in j["entries"]))' >actions.txt
for act in export.create review.reject review.accept project.update task.update member.add member.remove; do
    grep -q "'$act'" actions.txt || fail "audit lacks $act: $(cat actions.txt)"
done
expect 200 root GET "/api/audit?user=$zoe"
json_get body.json 'set(e["user"] for e in j["entries"])' | grep -qx "{$zoe}" || fail "audit by user"
expect 200 root GET "/api/audit?project=2"
json_get body.json '[e["action"] for e in j["entries"]][-1]' | grep -qx project.delete || fail "project deletion audited"
expect 200 root GET "/api/audit?since=2999-01-01T00:00:00Z"
json_get body.json 'len(j["entries"])' | grep -qx 0 || fail "audit since"
expect 400 root GET "/api/audit?since=yesterday"
expect 200 root GET "/api/audit?limit=2"
json_get body.json 'j["next_after"] == j["entries"][1]["id"]' | grep -qx True || fail "audit paging"
echo ok
