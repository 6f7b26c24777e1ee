# Webhooks and the outbound request guard against a real `annot serve` and a receiver on
# loopback: URLs that reach loopback, private or link-local addresses (in any spelling) are
# refused with 400 naming "url" until the CLI puts them on the workspace's allow-list; an
# allowed webhook receives Label Studio's payload with its headers; once the allow-list
# entry is removed, deliveries are refused at delivery time and the receiver gets nothing.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
cfg="$ANNOT_SRC/demo/configs/reviews.xml"
$ANNOT user add root --role admin >/dev/null
$ANNOT user add mia --role manager >/dev/null
$ANNOT user add ann --role annotator >/dev/null
$ANNOT user add out --role manager >/dev/null # manages nothing here
for u in root mia ann out; do eval "T_$u=\$($ANNOT token create $u)"; done
$ANNOT project create r --config "$cfg" >/dev/null
$ANNOT import r "$ANNOT_SRC/demo/tasks/reviews.json" >/dev/null
for u in mia ann; do $ANNOT member add r $u; done

# The receiver: records each request (path, headers, body) as one JSON line.
cat >receiver.py <<'EOF'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        with open(sys.argv[1], "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers),
                                "body": json.loads(body)}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[2], "w") as f:
    f.write(str(s.server_address[1]))
s.serve_forever()
EOF
: >received.jsonl
peer_start rport $PY receiver.py received.jsonl rport
RPORT=$(cat rport)
serve_start

hook() { printf '{"url":"%s","project":1,"headers":{"X-Hook-Secret":"s3cret"}}' "$1"; }

# Refused before the allow-list names anything: loopback in every spelling, the metadata
# address, IPv4 inside IPv6, and other schemes.
for url in "http://127.0.0.1:$RPORT/" "http://localhost:$RPORT/" "http://[::1]:$RPORT/" \
    "http://2130706433:$RPORT/" "http://0x7f.1:$RPORT/" "http://0177.0.0.1:$RPORT/" \
    "http://127.1:$RPORT/" "http://169.254.169.254/" "http://[::ffff:127.0.0.1]:$RPORT/" \
    "http://[64:ff9b::7f00:1]:$RPORT/" "http://10.0.0.1/" "http://192.168.1.1/" \
    "file:///etc/passwd" "gopher://127.0.0.1:$RPORT/_x" "ftp://example.com/" \
    "http://user:pw@example.com/"; do
    expect 400 mia POST /api/webhooks "$(hook "$url")"
    json_get body.json 'j["error"]["field"]' | grep -qx url || fail "$url: error names no url: $(cat body.json)"
done
req mia POST /api/webhooks "$(hook "http://127.0.0.1:$RPORT/")" >/dev/null
grep -q "loopback address" body.json || fail "no reason given: $(cat body.json)"
grep -q "annot settings set outbound.allow" body.json || fail "no remedy given: $(cat body.json)"
req mia POST /api/webhooks "$(hook "http://169.254.169.254/latest/meta-data/")" >/dev/null
grep -q "link-local" body.json || fail "metadata address: $(cat body.json)"
expect 200 root GET "/api/webhooks?project=1"
json_get body.json 'len(j)' | grep -qx 0 || fail "a refused webhook was stored"

# The allow-list is checked when set, and only the CLI sets it.
expect_status 1 $ANNOT settings set outbound.allow 2130706433
expect_status 1 $ANNOT settings set outbound.allow 10.0.0.1/8
expect_status 1 $ANNOT settings set nosuch.key x
$ANNOT settings set outbound.allow 127.0.0.1/32
$ANNOT settings get outbound.allow | grep -qx 127.0.0.1/32 || fail "settings get"
$ANNOT settings list | grep -qx "outbound.allow=127.0.0.1/32" || fail "settings list"

# Who may manage webhooks: the project's managers and admins; workspace-wide ones: admins.
expect 403 ann POST /api/webhooks "$(hook "http://127.0.0.1:$RPORT/")"
expect 404 out POST /api/webhooks "$(hook "http://127.0.0.1:$RPORT/")"
expect 403 mia POST /api/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\"}"
expect 400 mia POST /api/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\",\"project\":1,\"actions\":[\"NOPE\"]}"
expect 400 mia POST /api/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\",\"project\":1,\"actions\":[\"PROJECT_CREATED\"]}"
expect 400 mia POST /api/webhooks "{\"url\":\"http://127.0.0.1:$RPORT/\",\"project\":1,\"headers\":{\"Host\":\"x\"}}"
# Still refused: the allow-list names 127.0.0.1 only.
expect 400 mia POST /api/webhooks "$(hook "http://127.0.0.2:$RPORT/")"

# Allowed now; the project update reaches the receiver in Label Studio's shape.
expect 201 mia POST /api/webhooks "$(hook "http://127.0.0.1:$RPORT/hook")"
HOOK=$(json_get body.json 'j["id"]')
json_get body.json 'j["project"], j["send_payload"], j["is_active"], j["headers"]["X-Hook-Secret"]' |
    grep -qx "1 True True s3cret" || fail "webhook shape: $(cat body.json)"
expect 200 mia GET "/api/webhooks?project=1"
json_get body.json 'len(j)' | grep -qx 1 || fail "list: $(cat body.json)"
expect 200 ann GET /api/webhooks/info
json_get body.json 'j["PROJECT_UPDATED"]["key"], j["PROJECT_CREATED"]["organization-only"]' |
    grep -qx "project True" || fail "info: $(cat body.json)"
expect 404 out GET /api/webhooks/$HOOK
expect 403 ann GET /api/webhooks/$HOOK

expect 200 mia PATCH /api/projects/1 '{"title":"renamed"}'
i=0
until [ -s received.jsonl ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the receiver got nothing: $(cat serve.log)"; sleep 0.05
done
json_get received.jsonl 'j["body"]["action"], j["body"]["project"]["id"], j["body"]["project"]["title"], j["path"], j["headers"]["X-Hook-Secret"]' |
    grep -qx "PROJECT_UPDATED 1 renamed /hook s3cret" || fail "payload: $(cat received.jsonl)"
i=0
until req mia GET /api/webhooks/$HOOK >/dev/null && json_get body.json 'j["last_delivery"] and j["last_delivery"]["state"]' | grep -qx delivered; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "last delivery: $(cat body.json)"; sleep 0.05
done

# Deleting a task sends TASKS_DELETED with its id; only listed actions go when
# send_for_all_actions is false.
expect 200 mia PATCH /api/webhooks/$HOOK '{"send_for_all_actions":false,"actions":["TASKS_DELETED"]}'
expect 200 mia PATCH /api/projects/1 '{"title":"not sent"}'
expect 204 mia DELETE /api/tasks/2
i=0
until [ "$(wc -l <received.jsonl)" -ge 2 ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "no TASKS_DELETED: $(cat received.jsonl)"; sleep 0.05
done
tail -n 1 received.jsonl >last.json
json_get last.json 'j["body"]["action"], j["body"]["tasks"][0]["id"], j["body"]["project"]["id"]' |
    grep -qx "TASKS_DELETED 2 1" || fail "TASKS_DELETED payload: $(cat last.json)"
[ "$(wc -l <received.jsonl)" -eq 2 ] || fail "an unlisted action was sent: $(cat received.jsonl)"

# The allow-list entry goes: the next delivery is refused at delivery time.
expect 200 mia PATCH /api/webhooks/$HOOK '{"send_for_all_actions":true}'
$ANNOT settings unset outbound.allow
expect_status 1 $ANNOT settings get outbound.allow
expect 200 mia PATCH /api/projects/1 '{"title":"after unset"}'
i=0
until req mia GET /api/webhooks/$HOOK >/dev/null && json_get body.json 'j["last_delivery"]["state"]' | grep -qx refused; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "delivery not refused: $(cat body.json)"; sleep 0.05
done
json_get body.json 'j["last_delivery"]["message"]' | grep -q "loopback" || fail "refusal reason: $(cat body.json)"
[ "$(wc -l <received.jsonl)" -eq 2 ] || fail "the receiver got a refused delivery: $(cat received.jsonl)"
grep -q "webhook $HOOK refused" serve.log || fail "no log line for the refusal"
# And changing the URL is checked again.
expect 400 mia PATCH /api/webhooks/$HOOK "{\"url\":\"http://127.0.0.1:$RPORT/other\"}"

# Audit: create, update and delete are logged.
expect 204 mia DELETE /api/webhooks/$HOOK
expect 404 mia GET /api/webhooks/$HOOK
expect 200 root GET "/api/audit?limit=1000"
for a in webhook.create webhook.update webhook.delete; do
    grep -q "\"$a\"" body.json || fail "audit lacks $a"
done
echo ok
