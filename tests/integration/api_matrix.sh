# The role x endpoint matrix, for EVERY route of the server: the routes come from
# /api/openapi.json (generated from the route table), and the test fails when a route has no
# line below. Each non-public route must answer 401 without a credential; each role (admin,
# manager member, reviewer member, annotator member, annotator non-member) must get the
# status that the role matrix of service/auth.h gives:
#
#                     admin   manager    reviewer   annotator
#   VIEW_PROJECT      yes     member     member     member      (non-member: 404, not 403)
#   CREATE_PROJECT    yes     yes        no         no
#   MANAGE_PROJECT    yes     member     no         no
#   ANNOTATE          yes     member     member     member
#   REVIEW            yes     member     member     no
#   MANAGE_USERS      yes     no         no         no
#
# Blind annotation: an annotator reads only their own annotations; another's is 404 to them.
#
# Routes that destroy something get a fresh object for each call.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
cfg="$ANNOT_SRC/demo/configs/reviews.xml"
$ANNOT user add root --role admin >/dev/null
$ANNOT user add mia --role manager >/dev/null
$ANNOT user add rex --role reviewer >/dev/null
$ANNOT user add ann --role annotator >/dev/null
$ANNOT user add bea --role annotator >/dev/null
$ANNOT user add out --role annotator >/dev/null
$ANNOT user add tmp --role annotator >/dev/null
for u in root mia rex ann bea out; do eval "T_$u=\$($ANNOT token create $u)"; done
mkdir media
printf 'PNGDATA' >media/a.png
$ANNOT project create r --config "$cfg" >/dev/null
$ANNOT import r "$ANNOT_SRC/demo/tasks/reviews.json" >/dev/null
for u in mia rex ann bea; do $ANNOT member add r $u; done

serve_start --media-root "$T/media"

req() { # req USER METHOD PATH [BODY]: prints the status; the body goes to body.json
    if [ "$1" = none ]; then auth="X-None: 1"; else auth="Authorization: Token $(eval echo "\$T_$1")"; fi
    curl -s -o body.json -w '%{http_code}' -X "$2" -H "$auth" -H 'Content-Type: application/json' \
        ${4:+--data-binary "$4"} "$base$3"
}
must() { # must STATUS USER METHOD PATH [BODY]: set-up calls that have to work
    want=$1; shift
    got=$(req "$@")
    [ "$got" = "$want" ] || fail "set-up $* -> $got: $(cat body.json)"
}
good='{"result":[{"id":"a","from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Neutral"]}}]}'
# A counter kept in a file: the helpers run in subshells ($(...)).
echo 0 >counter
next_n() { n=$(($(cat counter) + 1)); echo $n >counter; }
fresh_task() { # imports a new task into project 1 and prints its id
    next_n
    must 201 root POST /api/projects/1/import "[{\"text\":\"fresh task $n $1\",\"image\":\"$T/media/a.png\"}]"
    req root GET "/api/tasks?project=1&page_size=1000" >/dev/null
    json_get body.json 'j["tasks"][-1]["id"]'
}
fresh_annotation() { # an annotation by bea (no role under test wrote it); prints its id
    t=$(fresh_task ann)
    must 201 bea POST /api/tasks/$t/annotations "$good"
    json_get body.json 'j["id"]'
}
fresh_project() { # a project with mia, rex, ann as members; prints its id
    next_n
    must 201 root POST /api/projects "{\"title\":\"fresh $n\",\"label_config\":\"<View><Text name=\\\"t\\\" value=\\\"\$text\\\"/></View>\"}"
    p=$(json_get body.json 'j["id"]')
    for u in mia rex ann; do must 201 root POST /api/projects/$p/members "{\"user\":\"$u\"}"; done
    echo "$p"
}
# Overlap 99 so that "next" always has a task to hand out.
must 200 root PATCH /api/projects/1 '{"overlap":99}'
TASK=$(fresh_task media)
must 201 bea POST /api/tasks/$TASK/annotations "$good"
ANN=$(json_get body.json 'j["id"]')
must 201 root POST /api/projects/1/exports '{"format":"ls-json"}'
EXP=$(json_get body.json 'j["id"]')
i=0
until [ "$(req root GET /api/projects/1/exports/$EXP; json_get body.json 'j["status"]')" = "200done" ]; do
    i=$((i + 1)); [ $i -lt 200 ] || fail "export did not finish: $(cat body.json)"; sleep 0.05
done
TMP=$(req root GET /api/users >/dev/null; json_get body.json '[u["id"] for u in j if u["username"]=="tmp"][0]')
# Webhooks to a public address, inactive: the matrix sends nothing anywhere.
HOOK_BODY='{"url":"http://93.184.216.34/hook","project":1,"is_active":false}'
fresh_hook() { # a webhook of project 1; prints its id
    must 201 root POST /api/webhooks "$HOOK_BODY"
    json_get body.json 'j["id"]'
}
HOOK=$(fresh_hook)
# ML backends at a public address with a short timeout (their /health is asked on create),
# and a prediction job (it fails in the background: project 1 has no trained model).
ML_BODY='{"url":"http://93.184.216.34/ml","project":1,"timeout":0.2}'
fresh_ml() { # an ML backend of project 1; prints its id
    must 201 root POST /api/ml "$ML_BODY"
    json_get body.json 'j["id"]'
}
ML=$(fresh_ml)
must 202 root POST /api/projects/1/predictions/jobs '{"model":"textcls"}'
JOB=$(json_get body.json 'j["id"]')

# The matrix: METHOD PATTERN, then the status for admin, manager, reviewer, annotator,
# non-member ("-" for public routes, which need no credential and are checked once).
matrix='
GET /health - 200
GET /metrics - 200
GET /api/openapi.json - 200
POST /api/auth/login - 400
POST /api/auth/logout 200 200 200 200 200
GET /api/current-user/whoami 200 200 200 200 200
GET /api/projects 200 200 200 200 200
POST /api/projects 201 201 403 403 403
POST /api/projects/validate 200 200 200 200 200
GET /api/projects/{id} 200 200 200 200 404
PATCH /api/projects/{id} 200 200 403 403 404
DELETE /api/projects/{id} 204 204 403 403 404
GET /api/projects/{id}/config 200 200 200 200 404
GET /api/projects/{id}/stats 200 200 200 200 404
POST /api/projects/{id}/import 201 201 403 403 404
GET /api/projects/{id}/next 200 200 200 200 404
GET /api/tasks 200 200 200 200 404
GET /api/tasks/{id} 200 200 200 200 404
PATCH /api/tasks/{id} 200 200 403 403 404
DELETE /api/tasks/{id} 204 204 403 403 404
GET /api/tasks/{id}/annotations 200 200 200 200 404
POST /api/tasks/{id}/annotations 201 201 201 201 404
GET /api/tasks/{id}/media/{field} 200 200 200 200 404
GET /api/annotations/{id} 200 200 200 404 404
PATCH /api/annotations/{id} 200 200 403 403 404
DELETE /api/annotations/{id} 204 204 403 403 404
POST /api/annotations/{id}/reviews 201 201 201 403 404
GET /api/annotations/{id}/reviews 200 200 200 200 404
GET /api/projects/{id}/annotations 200 200 200 403 404
POST /api/predictions 201 201 403 403 404
POST /api/projects/{id}/exports 201 201 403 403 404
GET /api/projects/{id}/exports 200 200 403 403 404
GET /api/projects/{id}/exports/{eid} 200 200 403 403 404
GET /api/projects/{id}/exports/{eid}/download 200 200 403 403 404
GET /api/projects/{id}/members 200 200 403 403 404
POST /api/projects/{id}/members 201 201 403 403 404
DELETE /api/projects/{id}/members/{user_id} 204 204 403 403 404
GET /api/users 200 200 403 403 403
POST /api/users 201 403 403 403 403
PATCH /api/users/{id} 200 403 403 403 403
POST /api/users/{id}/tokens 201 403 403 403 403
GET /api/audit 200 403 403 403 403
GET /api/projects/{id}/qc/rules 200 200 200 200 404
PUT /api/projects/{id}/qc/rules 200 200 403 403 404
GET /api/projects/{id}/qc/findings 200 200 200 200 404
POST /api/projects/{id}/qc/run 200 200 403 403 404
GET /api/projects/{id}/qc/report 200 200 200 403 404
GET /api/projects/{id}/qc/report.html 200 200 200 403 404
GET /api/webhooks 200 200 403 403 404
POST /api/webhooks 201 201 403 403 404
GET /api/webhooks/info 200 200 200 200 200
GET /api/webhooks/{id} 200 200 403 403 404
PATCH /api/webhooks/{id} 200 200 403 403 404
DELETE /api/webhooks/{id} 204 204 403 403 404
GET /api/ml 200 200 403 403 404
POST /api/ml 201 201 403 403 404
GET /api/ml/{id} 200 200 403 403 404
PATCH /api/ml/{id} 200 200 403 403 404
DELETE /api/ml/{id} 204 204 403 403 404
GET /api/projects/{id}/predictions/models 200 200 403 403 404
POST /api/projects/{id}/predictions/jobs 202 202 403 403 404
GET /api/projects/{id}/predictions/jobs/{jid} 200 200 403 403 404
'

# Every route of the server has a line, and every line is a route of the server.
req none GET /api/openapi.json >/dev/null
json_get body.json '"\n".join(sorted(m.upper()+" "+p for p in j["paths"] for m in j["paths"][p]))' >routes.txt
echo "$matrix" | awk 'NF {print $1" "$2}' | sort >covered.txt
sort routes.txt >routes.sorted
diff routes.sorted covered.txt >routes.diff || fail "routes and matrix differ (< route without a line, > line without a route):
$(cat routes.diff)"

# call USER METHOD PATTERN: makes the concrete path and body (fresh objects where the call
# destroys or must not repeat), prints the status.
call() {
    who=$1; method=$2; pattern=$3; body=""; path=$pattern; next_n; m=$n
    case "$method $pattern" in
    "POST /api/auth/login") body='{}' ;;
    "POST /api/projects") body="{\"title\":\"m$m\",\"label_config\":\"<View><Text name=\\\"t\\\" value=\\\"\$text\\\"/></View>\"}" ;;
    "POST /api/projects/validate") body="{\"label_config\":\"<View><Text name=\\\"t\\\" value=\\\"\$text\\\"/></View>\"}" ;;
    "PATCH /api/projects/{id}") path=/api/projects/1; body='{"overlap":99}' ;;
    "DELETE /api/projects/{id}") path=/api/projects/$(fresh_project) ;;
    "POST /api/projects/{id}/import") path=/api/projects/1/import; body="[{\"text\":\"import $m\"}]" ;;
    "GET /api/tasks") path="/api/tasks?project=1" ;;
    "PATCH /api/tasks/{id}") path=/api/tasks/$TASK; body="{\"meta\":{\"m\":$m}}" ;;
    "DELETE /api/tasks/{id}") path=/api/tasks/$(fresh_task del) ;;
    "POST /api/tasks/{id}/annotations") path=/api/tasks/$TASK/annotations; body=$good ;;
    "GET /api/tasks/{id}/media/{field}") path=/api/tasks/$TASK/media/image ;;
    "PATCH /api/annotations/{id}") path=/api/annotations/$ANN; body='{"lead_time":3}' ;;
    "DELETE /api/annotations/{id}") path=/api/annotations/$(fresh_annotation) ;;
    "POST /api/annotations/{id}/reviews") path=/api/annotations/$ANN/reviews; body='{"accepted":true}' ;;
    "POST /api/predictions") body="{\"task\":$TASK,\"result\":[]}" ;;
    "POST /api/projects/{id}/exports") path=/api/projects/1/exports; body='{"format":"csv"}' ;;
    "POST /api/projects/{id}/members") path=/api/projects/1/members; body='{"user":"tmp"}' ;;
    "DELETE /api/projects/{id}/members/{user_id}")
        must 201 root POST /api/projects/1/members '{"user":"tmp"}'
        path=/api/projects/1/members/$TMP ;;
    "POST /api/users") body="{\"username\":\"u$m\",\"role\":\"annotator\"}" ;;
    "PATCH /api/users/{id}") path=/api/users/$TMP; body='{"active":true}' ;;
    "POST /api/users/{id}/tokens") path=/api/users/$TMP/tokens ;;
    "PUT /api/projects/{id}/qc/rules") body='{"rules":[{"id":"fast","type":"lead_time"}]}' ;;
    "GET /api/webhooks") path="/api/webhooks?project=1" ;;
    "POST /api/webhooks") body=$HOOK_BODY ;;
    "PATCH /api/webhooks/{id}") path=/api/webhooks/$HOOK; body='{"is_active":false}' ;;
    "DELETE /api/webhooks/{id}") path=/api/webhooks/$(fresh_hook) ;;
    "GET /api/ml") path="/api/ml?project=1" ;;
    "POST /api/ml") body=$ML_BODY ;;
    "PATCH /api/ml/{id}") body='{"title":"t"}' ;;
    "DELETE /api/ml/{id}") path=/api/ml/$(fresh_ml) ;;
    "POST /api/projects/{id}/predictions/jobs") body='{"model":"fewshot","only_unlabeled":true}' ;;
    esac
    # Placeholders left in the path: the shared task, annotation, project 1, the export.
    case "$path" in
    /api/tasks/{id}*) id=$TASK ;;
    /api/annotations/{id}*) id=$ANN ;;
    /api/webhooks/{id}*) id=$HOOK ;;
    /api/ml/{id}*) id=$ML ;;
    *) id=1 ;;
    esac
    path=$(echo "$path" | sed "s|{id}|$id|; s|{eid}|$EXP|; s|{jid}|$JOB|")
    req "$who" "$method" "$path" "$body"
}

checked=0
echo "$matrix" | while read -r method pattern a b c d e; do
    [ -n "$method" ] || continue
    if [ "$a" = - ]; then
        got=$(call none "$method" "$pattern")
        [ "$got" = "$b" ] || fail "public $method $pattern -> $got, expected $b: $(cat body.json)"
        continue
    fi
    got=$(call none "$method" "$pattern")
    [ "$got" = 401 ] || fail "$method $pattern without credentials -> $got, expected 401"
    for pair in "root $a" "mia $b" "rex $c" "ann $d" "out $e"; do
        set -- $pair
        got=$(call "$1" "$method" "$pattern")
        [ "$got" = "$2" ] || fail "$method $pattern as $1 -> $got, expected $2: $(cat body.json)"
    done
done
echo ok
