# Several processes writing one workspace at once queue for the writer: no "database is
# locked" errors, and nothing lost.
. "$(dirname "$0")/lib.sh"
$ANNOT project create c --config "$ANNOT_SRC/demo/configs/reviews.xml" >/dev/null
for k in 1 2 3; do
    $PY -c "
for i in range(20000):
    print('{\"data\":{\"text\":\"writer $k task %d\"}}' % i)
" >in$k.jsonl
done
$ANNOT import c in1.jsonl --batch-size 500 >o1 2>e1 &
p1=$!
$ANNOT import c in2.jsonl --batch-size 500 >o2 2>e2 &
p2=$!
$ANNOT import c in3.jsonl --batch-size 500 >o3 2>e3 &
p3=$!
wait $p1 || fail "writer 1 failed: $(cat e1)"
wait $p2 || fail "writer 2 failed: $(cat e2)"
wait $p3 || fail "writer 3 failed: $(cat e3)"
$ANNOT stats c --json >s.json
[ "$(json_get s.json 'j["tasks"]')" -eq 60000 ] || fail "expected 60000 tasks: $(cat s.json)"
echo ok
