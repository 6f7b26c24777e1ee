# Shared set-up for integration tests: sourced, not run. Each test gets a fresh temporary
# folder (removed on success, kept and named on failure) and a workspace inside it.
set -eu
: "${ANNOT:?ANNOT must name the annot binary}"
: "${ANNOT_SRC:?ANNOT_SRC must name the source tree}"
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-it.XXXXXX")
export ANNOT_DB="$T/ws.db"
PY=/usr/bin/python3
cd "$T"
PEERS=""
trap 'rc=$?; eval "${ON_EXIT:-}" 2>/dev/null; [ -z "$PEERS" ] || kill $PEERS 2>/dev/null; if [ $rc -eq 0 ]; then rm -rf "$T"; else echo "test files kept in $T" >&2; fi' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_status N CMD...: runs CMD, fails unless it exits with N.
expect_status() {
    want=$1
    shift
    set +e
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "expected exit $want, got $got from: $* (stderr: $(cat "$T/err"))"
}

# json_get FILE EXPR: evaluates a Python expression on the JSON document j read from FILE.
json_get() {
    $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

# annot_serving SUBCOMMAND...: starts `annot SUBCOMMAND...` (a server that prints "serving
# ... at URL/"), waits until it serves, stops it on exit (ON_EXIT), and sets $server (its pid)
# and $base (its URL). The log is emptied first: a restart must not find the previous
# server's "serving" line (and its port) before the new server has truncated the file.
annot_serving() {
    : >serve.log
    $ANNOT "$@" >>serve.log 2>&1 &
    server=$!
    ON_EXIT="kill $server"
    i=0
    until grep -q "serving" serve.log; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "annot $1 did not start: $(cat serve.log)"; sleep 0.05
    done
    base=$(sed -n 's|.*at \(http://[^ ]*\)/$|\1|p' serve.log)
}

# serve_start [OPTION...]: `annot serve --port 0 OPTION...` on the workspace (annot_serving).
serve_start() {
    annot_serving serve --port 0 "$@"
}

# peer_start PORTFILE CMD...: starts CMD, a stand-in peer on loopback (an ML backend, a
# webhook receiver) that writes the port it listens on into PORTFILE; waits until it has,
# stops it on exit, and sets $peer (its pid) and $peer_url (http://127.0.0.1:PORT).
peer_start() {
    local portfile=$1
    shift
    : >"$portfile"
    "$@" &
    peer=$!
    PEERS="$PEERS $peer"
    i=0
    until [ -s "$portfile" ]; do
        kill -0 "$peer" 2>/dev/null || fail "the stand-in peer ($*) exited"
        i=$((i + 1)); [ $i -lt 100 ] || fail "the stand-in peer ($*) did not start"; sleep 0.05
    done
    peer_url="http://127.0.0.1:$(cat "$portfile")"
}

# The REST API as user USER, whose token is in $T_USER, on the server at $base (a test that
# starts `annot serve` sets both). Tests that need another shape define their own req.
req() { # req USER METHOD PATH [BODY]: prints the status; the body goes to body.json
    curl -s -o body.json -w '%{http_code}' -X "$2" -H "Authorization: Token $(eval echo "\$T_$1")" \
        -H 'Content-Type: application/json' ${4:+--data-binary "$4"} "$base$3"
}
expect() { # expect STATUS USER METHOD PATH [BODY]
    want=$1; shift
    got=$(req "$@")
    [ "$got" = "$want" ] || fail "$* -> $got, expected $want: $(cat body.json)"
}
