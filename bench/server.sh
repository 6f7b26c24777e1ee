#!/bin/bash
# annot serve benchmarks: request rates and latencies of the REST API under wrk, single
# requests on a project of 1,000,000 tasks, the server's peak memory, and nginx serving a
# file of the same bytes as one task's JSON with the same wrk settings (the baseline).
# Two kinds of load rows:
#   (saturation, wrk)  closed loop: each connection sends its next request when an answer
#                      arrives, so the server is always saturated; the rate is the maximum
#                      and the p99 is the queueing tail at that maximum.
#   (open loop)        bench/server/loadgen.c offers requests at a constant rate whatever
#                      the answers do, and counts each latency from the moment the request
#                      was due (a stall's delayed requests are counted, not omitted); this
#                      is how "N/s with p99 <= X" targets are measured.
# Beside every run bench/server/cpuprobe.c times a fixed piece of work every 5 ms and notes
# when the CPU ran below half its speed (a virtual machine's host can slow its guest for a
# while with no sign inside the guest). Rows give the share of the run the CPU was slow; open
# loop rows also give the latencies of the requests that met no such slow window, and how
# many of the slowest 1 % did meet one (bench/README.md, "Server").
# Prints a table; bench/README.md ("Server") keeps the figures.
#
# Usage: bench/server.sh [--tasks N] [--small N] [--duration S] [--connections C]
#                        [--threads T] [--rate-get R] [--rate-post R] [--keep]
#   --tasks N        tasks in the big project (default 1000000)
#   --small N        tasks in the project the wrk runs read and annotate (default 10000)
#   --duration S     seconds per wrk run and per rate run (default 10; rate runs add 1 s
#                    of warm-up that is not counted)
#   --connections C  wrk and loadgen connections (default 64); --threads T wrk threads (default 2)
#   --rate-get R     requests/s of the open-loop GET rows, annot's and nginx's (default 20000)
#   --rate-post R    requests/s of the open-loop POST row (default 5000)
#   --keep           keep the temporary folder (workspace, logs, generated files)
# Needs wrk, nginx, curl, python3 and a C compiler (scripts/deps.sh --test installs them).
# wrk or loadgen, nginx and annot run on the same machine and share its cores. Exits non-zero
# only when something could not be run, never because a target is missed.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
HERE="$TOP/bench/server"
# ANNOT=/path/to/annot bench/server.sh measures that binary instead of building with make.
ANNOT_GIVEN=${ANNOT:-}
ANNOT=${ANNOT:-$TOP/build/release/annot}
BIG=1000000
SMALL=10000
DUR=10
CONNS=64
WTHREADS=2
RATE_GET=20000
RATE_POST=5000
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
    --tasks) BIG=$2; shift 2 ;;
    --small) SMALL=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --threads) WTHREADS=$2; shift 2 ;;
    --rate-get) RATE_GET=$2; shift 2 ;;
    --rate-post) RATE_POST=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: bench/server.sh [--tasks N] [--small N] [--duration S] [--connections C] [--threads T] [--rate-get R] [--rate-post R] [--keep]" >&2; exit 2 ;;
    esac
done

die() {
    echo "bench/server.sh: $*" >&2
    exit 1
}
for tool in wrk nginx curl python3 cc; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
        die "$tool is missing; scripts/deps.sh --test installs it"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

[ -n "$ANNOT_GIVEN" ] || make -C "$TOP" >/dev/null || die "make failed"
[ -x "$ANNOT" ] || die "no $ANNOT after make"

T=$(mktemp -d "${TMPDIR:-/tmp}/annot-sbench.XXXXXX")
SERVER=""
NGINX_PID=""
PROBE_PID=""
cleanup() {
    rc=$?
    [ -n "$PROBE_PID" ] && kill "$PROBE_PID" 2>/dev/null && wait "$PROBE_PID" 2>/dev/null
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then
        echo "files kept in $T" >&2
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
export ANNOT_DB="$T/ws.db"
CFG="$TOP/demo/configs/reviews.xml"
cd "$T"
# The open-loop generator; it also refuses bad --rate-* values before anything is prepared.
cc -O2 -std=c11 -Wall -Wextra -o loadgen "$HERE/loadgen.c" -lm 2>loadgen-cc.log ||
    die "cannot compile bench/server/loadgen.c: $(cat loadgen-cc.log)"
cc -O2 -std=c11 -Wall -Wextra -o cpuprobe "$HERE/cpuprobe.c" -lm 2>cpuprobe-cc.log ||
    die "cannot compile bench/server/cpuprobe.c: $(cat cpuprobe-cc.log)"
for r in "$RATE_GET" "$RATE_POST"; do
    case "$r" in '' | *[!0-9]*) die "--rate-get/--rate-post need a whole number of requests/s, not '$r'" ;; esac
done

# ---- workspace -------------------------------------------------------------------------------
echo "preparing: $SMALL + $BIG tasks, users and tokens in $T" >&2
"$ANNOT" user add bench --role admin >/dev/null
TOKEN=$("$ANNOT" token create bench)
"$ANNOT" project create small --config "$CFG" >/dev/null
"$ANNOT" project create big --config "$CFG" >/dev/null
python3 "$HERE/gen_tasks.py" "$SMALL" small.jsonl
python3 "$HERE/gen_tasks.py" "$BIG" big.jsonl
"$ANNOT" import small small.jsonl --format ls-jsonl >/dev/null
t0=$(date +%s.%N)
"$ANNOT" import big big.jsonl --format ls-jsonl >/dev/null
t1=$(date +%s.%N)
rm -f big.jsonl small.jsonl
# Fifty annotators ask for their next task in the big project, one request each.
NEXT_USERS=50
: >next_tokens
for k in $(seq 1 $NEXT_USERS); do
    "$ANNOT" user add "a$k" --role annotator >/dev/null
    "$ANNOT" member add big "a$k" >/dev/null
    "$ANNOT" token create "a$k" >>next_tokens
done

# ---- server ----------------------------------------------------------------------------------
"$ANNOT" serve --port 0 >serve.log 2>&1 &
SERVER=$!
i=0
until grep -qs "serving" serve.log; do
    kill -0 "$SERVER" 2>/dev/null || die "annot serve exited: $(cat serve.log)"
    i=$((i + 1)); [ $i -lt 200 ] || die "annot serve did not start: $(cat serve.log)"
    sleep 0.05
done
BASE=$(sed -n 's|.*at \(http://[^ ]*\)/$|\1|p' serve.log)
HOSTPORT=${BASE#http://}

api() { # api PATH [TOKEN]: the body, failing unless 200
    code=$(curl -s -o api.out -w '%{http_code}' -H "Authorization: Token ${2:-$TOKEN}" "$BASE$1")
    [ "$code" = 200 ] || die "GET $1 answered $code: $(head -c 300 api.out)"
    cat api.out
}
jq_py() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# Project ids by title; first task ids from the first page (a fresh import numbers a
# project's tasks contiguously).
SMALL_P=$(api /api/projects | jq_py '[p["id"] for p in j["results"] if p["title"]=="small"][0]')
BIG_P=$(api /api/projects | jq_py '[p["id"] for p in j["results"] if p["title"]=="big"][0]')
SMALL_FIRST=$(api "/api/tasks?project=$SMALL_P&page_size=1" | jq_py 'j["tasks"][0]["id"]')
BIG_FIRST=$(api "/api/tasks?project=$BIG_P&page_size=1" | jq_py 'j["tasks"][0]["id"]')
BIG_TOTAL=$(api "/api/tasks?project=$BIG_P&page_size=1" | jq_py 'j["total"]')
[ "$BIG_TOTAL" = "$BIG" ] || die "the big project has $BIG_TOTAL tasks, expected $BIG"

# The baseline file: the exact bytes of one task's JSON.
mkdir -p nginx/www nginx/tmp
api "/api/tasks/$SMALL_FIRST" >nginx/www/task.json
TASK_BYTES=$(wc -c <nginx/www/task.json)

# ---- measuring -------------------------------------------------------------------------------
# read_keys PREFIX "k1=v1 k2=v2 ...": sets PREFIXk1=v1 ... (the tools' summary lines).
read_keys() { eval "$(echo "$2" | tr ' ' '\n' | sed "s/^/$1/")"; }
# probe_start NAME / probe_stop: the CPU probe over one run; probe_stop sets P_slow_share
# (share of its samples below half speed) and P_slow_windows from probe-NAME.txt.
probe_start() {
    PROBE_NAME=$1
    ./cpuprobe --duration 3600 --out "probe-$1.txt" &
    PROBE_PID=$!
}
probe_stop() {
    kill -TERM "$PROBE_PID" 2>/dev/null || true
    wait "$PROBE_PID" || die "cpuprobe ($PROBE_NAME) failed"
    PROBE_PID=""
    local line
    line=$(head -1 "probe-$PROBE_NAME.txt")
    read_keys P_ "${line#PROBE }"
}
pct() { awk -v f="$1" 'BEGIN{printf "%.1f", f * 100}'; }
# wrk_run NAME HOSTPORT MODE FIRST COUNT [PROJECT] [CONNS] [THREADS]: sets W_* from the
# script's summary line; fails when wrk fails or over 1 % of answers are errors.
wrk_run() {
    local name=$1 hp=$2 mode=$3 first=$4 count=$5 proj=${6:-0} c=${7:-$CONNS} t=${8:-$WTHREADS}
    probe_start "$name"
    wrk -t"$t" -c"$c" -d"${DUR}s" --latency -s "$HERE/api.lua" "http://$hp/" \
        -- "$mode" "$TOKEN" "$first" "$count" "$proj" >"wrk-$name.txt" 2>&1 ||
        die "wrk ($name) failed: $(cat "wrk-$name.txt")"
    probe_stop
    local line
    line=$(grep '^WRK ' "wrk-$name.txt") || die "wrk ($name) printed no summary: $(cat "wrk-$name.txt")"
    read_keys W_ "${line#WRK }"
    W_RPS=$(awk -v n="$W_requests" -v d="$W_duration_us" 'BEGIN{printf "%.0f", n / (d / 1e6)}')
    local errs=$((W_err_connect + W_err_read + W_err_write + W_err_status + W_err_timeout))
    [ $((errs * 100)) -le "$W_requests" ] ||
        die "wrk ($name): $errs errors in $W_requests requests: $(cat "wrk-$name.txt")"
    W_ERRS=$errs
}

# lg_run NAME HOSTPORT RATE MODE FIRST COUNT [PROJECT]: the same with loadgen at RATE
# requests/s (open loop) for 1 s of warm-up plus DUR s; sets W_* likewise, and LG_NOTE to a
# warning when the generator itself could not keep the schedule (its figures are then not
# valid: the row says so instead of the script stopping).
lg_run() {
    local line name=$1 hp=$2 rate=$3 mode=$4 first=$5 count=$6 proj=${7:-0} rc=0
    probe_start "$name"
    ./loadgen --host "${hp%:*}" --port "${hp##*:}" --connections "$CONNS" --rate "$rate" \
        --duration "$DUR" --samples "samples-$name.bin" "$mode" "$TOKEN" "$first" "$count" \
        "$proj" >"lg-$name.txt" 2>&1 || rc=$?
    probe_stop
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || die "loadgen ($name) failed: $(cat "lg-$name.txt")"
    ./cpuprobe --join "probe-$name.txt" --samples "samples-$name.bin" >"join-$name.txt" ||
        die "cpuprobe --join ($name) failed"
    line=$(grep '^JOIN ' "join-$name.txt") || die "cpuprobe --join ($name) printed nothing"
    read_keys J_ "${line#JOIN }"
    rm -f "samples-$name.bin"
    line=$(grep '^WRK ' "lg-$name.txt") || die "loadgen ($name) printed no summary: $(cat "lg-$name.txt")"
    read_keys W_ "${line#WRK }"
    local errs=$((W_err_connect + W_err_read + W_err_write + W_err_status + W_err_timeout))
    [ $((errs * 100)) -le "$W_requests" ] ||
        die "loadgen ($name): $errs errors in $W_requests requests: $(cat "lg-$name.txt")"
    LG_NOTE=""
    [ $rc -eq 0 ] || LG_NOTE="; NOT VALID: the generator fell $(ms "$W_gen_lag_us") ms behind its schedule"
}

ms() { awk -v u="$1" 'BEGIN{printf "%.2f", u / 1000}'; }
# ge A B / le A B: numeric comparisons of decimals, printing "yes" or "NO".
ge() { awk -v a="$1" -v b="$2" 'BEGIN{print (a >= b) ? "yes" : "NO"}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{print (a <= b) ? "yes" : "NO"}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN{print (a < b) ? "yes" : "NO"}'; }

ROWS=()
row() { ROWS+=("$(printf '%-58s %10s %9s %9s %9s  %s' "$@")"); }
# kept RATE DONE: whether the answers per second reached the offered rate (99 % of it: the
# answers counted in the window differ from the requests due in it by those in flight at
# its two ends).
kept() { awk -v r="$1" -v d="$2" 'BEGIN{print (d >= 0.99 * r) ? "yes" : "NO"}'; }
# open-loop details for a row: the tail beyond p99 and whatever was not answered in time.
lg_more() {
    echo "p99.9 $(ms "$W_p999_us") ms, late $W_late, unanswered at end $((W_inflight + W_queued)); CPU below half speed $(pct "$P_slow_share") % of the run ($P_slow_windows windows); requests that met no slow window ($(awk -v a="$J_steady_n" -v n="$J_n" 'BEGIN{printf "%.1f", n ? 100 * a / n : 0}') %): p50 $(ms "$J_steady_p50_us") ms, p99 $(ms "$J_steady_p99_us") ms; of the slowest 1 %, $(pct "$J_top1_affected") % met one"
}
# For saturation rows: how steady the CPU was during the run.
wrk_more() { echo "CPU below half speed $(pct "$P_slow_share") % of the run ($P_slow_windows windows)"; }

hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER/status"; }
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER/status"; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }

# curl_times NAME TOKENFILE URL...: one request per URL (cycling tokens from TOKENFILE when
# given, else the admin's), times in ms into NAME.times; sets C_MED and C_MAX.
curl_times() {
    local name=$1 tokens=$2 k=0 tok code secs
    shift 2
    : >"$name.times"
    for url in "$@"; do
        k=$((k + 1))
        tok=$TOKEN
        [ -n "$tokens" ] && tok=$(sed -n "${k}p" "$tokens")
        read -r code secs < <(curl -s -o "$name.out" -w '%{http_code} %{time_total}\n' \
            -H "Authorization: Token $tok" "$BASE$url")
        [ "$code" = 200 ] || die "$name: GET $url answered $code: $(head -c 300 "$name.out")"
        awk -v s="$secs" 'BEGIN{printf "%.3f\n", s * 1000}' >>"$name.times"
    done
    C_MED=$(sort -n "$name.times" | awk '{v[NR]=$1} END{print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}')
    C_MAX=$(sort -n "$name.times" | tail -1)
}

echo "measuring (wrk -t$WTHREADS -c$CONNS -d${DUR}s --latency; each run ${DUR} s)" >&2

# 1. GET one task (small project), then the same bytes from nginx.
wrk_run get "$HOSTPORT" task "$SMALL_FIRST" "$SMALL" "$SMALL_P"
GET_RPS=$W_RPS
GET_P99=$(ms "$W_p99_us")
row "GET /api/tasks/{id} ($SMALL tasks) (saturation, wrk)" "$GET_RPS" "$(ms "$W_p50_us")" "$GET_P99" "$(ms "$W_max_us")" \
    ">=20000/s: $(ge "$GET_RPS" 20000), p99<=5ms: $(le "$GET_P99" 5); $(wrk_more)"

NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|@PREFIX@|$T/nginx|g" -e "s|@PORT@|$NPORT|g" "$HERE/nginx.conf.in" >nginx/nginx.conf
# nginx's workers drop root and run as nobody: they must be able to read the file.
chmod 711 "$T"
chmod -R a+rX nginx
"$NGINX" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" -p "$T/nginx" >nginx/stdout.log 2>&1 &
NGINX_PID=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$NPORT/task.json"; do
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat nginx/stdout.log nginx/error.log 2>/dev/null)"
    i=$((i + 1)); [ $i -lt 100 ] || die "nginx did not start"
    sleep 0.05
done
cmp -s nginx/www/task.json <(curl -s "http://127.0.0.1:$NPORT/task.json") || die "nginx serves other bytes"
wrk_run nginx "127.0.0.1:$NPORT" static 1 1
NGINX_RPS=$W_RPS
RATIO=$(awk -v a="$GET_RPS" -v b="$NGINX_RPS" 'BEGIN{printf "%.2f", a / b}')
row "nginx: static file of the task's $TASK_BYTES bytes (saturation, wrk)" "$NGINX_RPS" "$(ms "$W_p50_us")" "$(ms "$W_p99_us")" \
    "$(ms "$W_max_us")" "annot GET = ${RATIO}x nginx; $(wrk_more)"

# The same two at the target's rate (open loop): latencies from each request's due time; the
# req/s column is answers per second. They run before any POST so that annot's tasks are
# still the bytes nginx serves (a task's JSON grows with its annotations).
echo "measuring at constant rates (loadgen, $CONNS connections; each run 1 s warm-up + ${DUR} s)" >&2
lg_run rget "$HOSTPORT" "$RATE_GET" task "$SMALL_FIRST" "$SMALL" "$SMALL_P"
row "GET /api/tasks/{id} at $RATE_GET/s (open loop)" "$W_rate_done" "$(ms "$W_p50_us")" "$(ms "$W_p99_us")" \
    "$(ms "$W_max_us")" ">=$RATE_GET/s: $(kept "$RATE_GET" "$W_rate_done"), p99<=5ms: $(le "$(ms "$W_p99_us")" 5); $(lg_more)$LG_NOTE"
lg_run rnginx "127.0.0.1:$NPORT" "$RATE_GET" static 1 1
row "nginx: static file at $RATE_GET/s (open loop)" "$W_rate_done" "$(ms "$W_p50_us")" "$(ms "$W_p99_us")" \
    "$(ms "$W_max_us")" "$(lg_more)$LG_NOTE"
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=""

# 2. POST annotations; afterwards every answered annotation must be in the workspace.
before=$(api "/api/projects/$SMALL_P" | jq_py 'j.get("total_annotations_number", 0)')
wrk_run post "$HOSTPORT" post "$SMALL_FIRST" "$SMALL" "$SMALL_P"
POST_RPS=$W_RPS
POST_P99=$(ms "$W_p99_us")
after=$(api "/api/projects/$SMALL_P" | jq_py 'j.get("total_annotations_number", 0)')
stored=$((after - before))
row "POST /api/tasks/{id}/annotations (saturation, wrk)" "$POST_RPS" "$(ms "$W_p50_us")" "$POST_P99" "$(ms "$W_max_us")" \
    ">=5000/s: $(ge "$POST_RPS" 5000), p99<=20ms: $(le "$POST_P99" 20); stored >= answered: $( [ "$stored" -ge "$W_requests" ] && echo yes || echo NO) ($stored stored, $W_requests answered; wrk does not count answers in flight at its end); $(wrk_more)"
# The same at the target's rate (open loop); every 2xx answer, warm-up included, must be stored.
before=$(api "/api/projects/$SMALL_P" | jq_py 'j.get("total_annotations_number", 0)')
lg_run rpost "$HOSTPORT" "$RATE_POST" post "$SMALL_FIRST" "$SMALL" "$SMALL_P"
after=$(api "/api/projects/$SMALL_P" | jq_py 'j.get("total_annotations_number", 0)')
stored=$((after - before))
row "POST /api/tasks/{id}/annotations at $RATE_POST/s (open loop)" "$W_rate_done" "$(ms "$W_p50_us")" \
    "$(ms "$W_p99_us")" "$(ms "$W_max_us")" \
    ">=$RATE_POST/s: $(kept "$RATE_POST" "$W_rate_done"), p99<=20ms: $(le "$(ms "$W_p99_us")" 20); $(lg_more); stored >= answered: $( [ "$stored" -ge "$W_ok_all" ] && echo yes || echo NO) ($stored stored, $W_ok_all answered 2xx with the warm-up)$LG_NOTE"

# 3. The big project under load: random single tasks, keyset pages.
wrk_run getbig "$HOSTPORT" task "$BIG_FIRST" "$BIG" "$BIG_P"
row "GET /api/tasks/{id} ($BIG tasks) (saturation, wrk)" "$W_RPS" "$(ms "$W_p50_us")" "$(ms "$W_p99_us")" "$(ms "$W_max_us")" "$(wrk_more)"
wrk_run afterbig "$HOSTPORT" after "$BIG_FIRST" "$BIG" "$BIG_P"
row "GET /api/tasks?after= (100 a page, $BIG) (saturation, wrk)" "$W_RPS" "$(ms "$W_p50_us")" "$(ms "$W_p99_us")" "$(ms "$W_max_us")" "$(wrk_more)"

# 4. Single requests on the big project: 50 each with curl, median and max of time_total.
N=50
pages=$((BIG / 100))
urls=()
for k in $(seq 1 $N); do urls+=("/api/tasks?project=$BIG_P&page=$(( (k * 7919) % pages + 1 ))"); done
curl_times page "" "${urls[@]}"
row "1 req: GET /api/tasks?page= (any of $pages)" "" "$C_MED" "" "$C_MAX" "median <10ms: $(lt "$C_MED" 10), max <10ms: $(lt "$C_MAX" 10)"
urls=()
for k in $(seq 1 $N); do urls+=("/api/tasks?project=$BIG_P&page=1"); done
curl_times page1 "" "${urls[@]}"
row "1 req: GET /api/tasks?page=1" "" "$C_MED" "" "$C_MAX" "median <10ms: $(lt "$C_MED" 10), max <10ms: $(lt "$C_MAX" 10)"
urls=()
for k in $(seq 1 $N); do urls+=("/api/tasks?project=$BIG_P&page=$pages"); done
curl_times pagelast "" "${urls[@]}"
row "1 req: GET /api/tasks?page=$pages (last)" "" "$C_MED" "" "$C_MAX" "median <10ms: $(lt "$C_MED" 10), max <10ms: $(lt "$C_MAX" 10)"
urls=()
for k in $(seq 1 $N); do urls+=("/api/tasks?project=$BIG_P&after=$((BIG_FIRST - 1 + (k * 7919 * 100) % BIG))"); done
curl_times after "" "${urls[@]}"
row "1 req: GET /api/tasks?after= (anywhere)" "" "$C_MED" "" "$C_MAX" "median <10ms: $(lt "$C_MED" 10), max <10ms: $(lt "$C_MAX" 10)"
urls=()
for k in $(seq 1 $N); do urls+=("/api/tasks/$((BIG_FIRST + (k * 104729) % BIG))"); done
curl_times one "" "${urls[@]}"
row "1 req: GET /api/tasks/{id} ($BIG tasks)" "" "$C_MED" "" "$C_MAX" ""
urls=()
for k in $(seq 1 $NEXT_USERS); do urls+=("/api/projects/$BIG_P/next"); done
curl_times next next_tokens "${urls[@]}"
row "1 req: GET /api/projects/{id}/next (50 users)" "" "$C_MED" "" "$C_MAX" "median <10ms: $(lt "$C_MED" 10), max <10ms: $(lt "$C_MAX" 10)"

HWM=$(hwm)
NOW=$(rss)
kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
SERVER=""

# ---- report ----------------------------------------------------------------------------------
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
echo
echo "annot serve ($(nproc) cores, request threads: one per core), wrk -t$WTHREADS -c$CONNS -d${DUR}s on the same machine (wrk and the server share the cores)"
echo "open-loop rows: bench/server/loadgen.c, one thread, $CONNS connections, requests due at a constant rate, latency from the due time; 1 s warm-up + ${DUR} s counted; req/s = answers/s; late = answers whose request waited for a free connection"
echo "CPU probe (bench/server/cpuprobe.c): a fixed piece of work timed by its own CPU time every 5 ms; slow = under half the run's best speed; a request met a slow window when one overlapped the time from its due time to its answer"
echo "import of the big project: $BIG tasks in $secs s"
printf '%-58s %10s %9s %9s %9s  %s\n' "benchmark" "req/s" "p50 ms" "p99 ms" "max ms" "target"
for r in "${ROWS[@]}"; do echo "$r"; done
echo "server peak RSS (VmHWM) over the whole run: $(mb "$HWM") MB (now $(mb "$NOW") MB); <100MB: $(lt "$(mb "$HWM")" 100)"
echo "1 req rows: $N requests one after another with curl (time_total: connect + request + answer); p50 = median"
echo "load average at the end (uptime):$(uptime | sed 's/.*load average://')"
