# Gold tasks in the queue: with a project's gold_share, GET …/next hands an annotator gold
# tasks (those with a ground-truth annotation) they have not done, never showing the ground
# truth; without it, never; the gold accuracy of annot consensus then scores them.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is needed (scripts/deps.sh --test installs it)"
$ANNOT user add mia --role manager >/dev/null
$ANNOT user add ann --role annotator >/dev/null
for u in mia ann; do eval "T_$u=\$($ANNOT token create $u)"; done
$ANNOT project create g --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
# Tasks 1-3 are gold (mia's ground truth), 4-8 are plain.
$PY - >tasks.json <<'EOF'
import json
ch = lambda c: [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [c]}}]
tasks = [{"data": {"text": "gold %d" % i}, "annotations": [{"completed_by": 1, "ground_truth": True, "result": ch("Positive")}]} for i in range(1, 4)]
tasks += [{"data": {"text": "plain %d" % i}} for i in range(4, 9)]
print(json.dumps(tasks))
EOF
$ANNOT import g tasks.json >/dev/null
for u in mia ann; do $ANNOT member add g $u; done

serve_start
answer() { # answer TASK CHOICE: ann annotates the task
    expect 201 ann POST "/api/tasks/$1/annotations" \
        "{\"result\": [{\"from_name\": \"sentiment\", \"to_name\": \"text\", \"type\": \"choices\", \"value\": {\"choices\": [\"$2\"]}}]}"
}

expect 400 mia PATCH /api/projects/1 '{"gold_share": 1.5}'
[ "$(json_get body.json 'j["error"]["field"]')" = gold_share ] || fail "bad share field: $(cat body.json)"
expect 403 ann PATCH /api/projects/1 '{"gold_share": 1}'

# gold_share 0 (the default): the queue never holds gold tasks (they have their annotation).
expect 200 ann GET /api/projects/1/next
t=$(json_get body.json 'j["id"]')
[ "$t" -ge 4 ] || fail "gold task $t handed out without gold_share"
answer "$t" Negative

# gold_share 1: every next is a gold task until ann has done them all, then plain ones.
expect 200 mia PATCH /api/projects/1 '{"gold_share": 1}'
[ "$(json_get body.json 'j["gold_share"]')" = 1.0 ] || fail "share not kept: $(cat body.json)"
seen=""
for k in 1 2 3; do
    expect 200 ann GET /api/projects/1/next
    t=$(json_get body.json 'j["id"]')
    [ "$t" -le 3 ] || fail "plain task $t while gold tasks are left"
    [ "$(json_get body.json 'len(j["annotations"])')" = 0 ] || fail "ground truth shown: $(cat body.json)"
    case " $seen " in *" $t "*) fail "gold task $t handed out twice" ;; esac
    seen="$seen $t"
    # ann gets gold 1 and 2 right, 3 wrong
    if [ "$t" = 3 ]; then answer "$t" Negative; else answer "$t" Positive; fi
done
expect 200 ann GET /api/projects/1/next
t=$(json_get body.json 'j["id"]')
[ "$t" -ge 4 ] || fail "gold task $t again after all were done"

# Gold accuracy: ann saw 3 gold tasks and got 2 right.
kill $server; wait $server 2>/dev/null; ON_EXIT=""
$ANNOT consensus g --method majority --json >cons.json || fail "consensus failed"
json_get cons.json '[(a["name"], a["gold"]["seen"], a["gold"]["correct"]) for a in j["annotators"] if a["name"] == "ann"]' |
    grep -qx "\[('ann', 3, 2)\]" || fail "gold accuracy: $(cat cons.json)"
echo ok
