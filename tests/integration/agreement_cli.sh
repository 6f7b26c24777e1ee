# annot agreement: the published Krippendorff (2011) example through the real binary, JSON
# output, per-pair values, and errors with their exit statuses (docs/cli.md).
. "$(dirname "$0")/lib.sh"

cat >k.csv <<'CSV'
A,B,C,D
1,1,,1
2,2,3,2
3,3,3,3
3,3,3,3
2,2,2,2
1,2,3,4
4,4,4,4
1,1,2,1
2,2,2,2
,5,5,5
,,1,1
,3,,
CSV

for pair in nominal:0.743 ordinal:0.815 interval:0.849 ratio:0.797; do
    level=${pair%%:*}
    want=${pair#*:}
    $ANNOT agreement --csv k.csv --metric alpha --level "$level" --json >a.json
    got=$(json_get a.json '"%.3f" % j["value"]')
    [ "$got" = "$want" ] || fail "alpha $level: got $got, expected $want"
done
[ "$(json_get a.json 'j["units"], j["coders"], j["metric"], j["level"]')" = "12 4 alpha ratio" ] ||
    fail "alpha JSON fields: $(cat a.json)"
$ANNOT agreement --csv k.csv --metric alpha --level ordinal | grep -q "^value  *0.815$" ||
    fail "text output"
# No workspace is needed or made.
[ ! -e "$ANNOT_DB" ] || fail "agreement created a workspace"

# Per-pair values for percent and cohen: six pairs of four coders.
$ANNOT agreement --csv k.csv --metric percent --json >p.json
[ "$(json_get p.json 'len(j["pairs"])')" = 6 ] || fail "percent pairs: $(cat p.json)"
[ "$(json_get p.json '[p["value"] for p in j["pairs"] if (p["a"],p["b"])==("B","D")][0]')" = 0.9 ] ||
    fail "percent B/D should be 9 of 10: $(cat p.json)"

# Cohen's kappa, Wikipedia's example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> 0.4.
{
    echo "r1,r2"
    i=0; while [ $i -lt 20 ]; do echo "yes,yes"; i=$((i + 1)); done
    i=0; while [ $i -lt 5 ]; do echo "yes,no"; i=$((i + 1)); done
    i=0; while [ $i -lt 10 ]; do echo "no,yes"; i=$((i + 1)); done
    i=0; while [ $i -lt 15 ]; do echo "no,no"; i=$((i + 1)); done
} >c.csv
$ANNOT agreement --csv c.csv --metric cohen --json >c.json
[ "$(json_get c.json 'round(j["value"], 6), j["pairs"][0]["units"]')" = "0.4 50" ] ||
    fail "cohen: $(cat c.json)"

# Fleiss with unequal ratings per unit: bad input, and the message suggests alpha.
expect_status 1 $ANNOT agreement --csv k.csv --metric fleiss
grep -q "alpha" err || fail "fleiss hint: $(cat err)"

# One category only: a clear error, never NaN printed as a number.
printf 'a,b\nx,x\nx,x\n' >same.csv
for m in cohen fleiss alpha ac1; do
    expect_status 1 $ANNOT agreement --csv same.csv --metric $m --json
    grep -qi nan out && fail "$m printed NaN: $(cat out)"
    json_get out 'j["error"]["code"]' | grep -q invalid || fail "$m JSON error: $(cat out)"
done
$ANNOT agreement --csv same.csv --metric percent --json >s.json
[ "$(json_get s.json 'j["value"]')" = 1.0 ] || fail "percent of identical codes"

# Interval alpha on text codes is bad input.
printf 'a,b\nlow,high\nhigh,high\n' >t.csv
expect_status 1 $ANNOT agreement --csv t.csv --metric alpha --level interval
grep -q "numbers" err || fail "interval on text: $(cat err)"

# A malformed file names file:line.
printf 'a,b\n1,2\n1,2,3\n' >bad.csv
expect_status 1 $ANNOT agreement --csv bad.csv --metric alpha
grep -q "bad.csv:3" err || fail "CSV error should name bad.csv:3: $(cat err)"

# Usage errors are exit 1; an unreadable file is exit 2.
expect_status 1 $ANNOT agreement --csv k.csv --metric kappa
expect_status 1 $ANNOT agreement --csv k.csv
expect_status 1 $ANNOT agreement --metric alpha
expect_status 1 $ANNOT agreement --csv k.csv --metric cohen --level ordinal
expect_status 1 $ANNOT agreement --csv k.csv --metric cohen --weights cubic
expect_status 2 $ANNOT agreement --csv nosuch.csv --metric alpha
$ANNOT agreement --help | grep -q "usage: annot agreement" || fail "agreement --help"

# --bootstrap: a 95 % percentile interval over resampled rows, the same for the same seed;
# resamples where alpha is undefined (only the agreeing rows drawn) are skipped and counted.
printf 'a,b\nx,x\nx,x\nx,y\n' >boot.csv
$ANNOT agreement --csv boot.csv --metric alpha --bootstrap 300 --seed 5 --json >b1.json
$ANNOT agreement --csv boot.csv --metric alpha --bootstrap 300 --seed 5 --json >b2.json
$ANNOT agreement --csv boot.csv --metric alpha --bootstrap 300 --json >b3.json
cmp -s b1.json b2.json || fail "bootstrap with one seed differs"
cmp -s b1.json b3.json && fail "bootstrap ignores the seed"
[ "$(json_get b1.json '(lambda c: (c["level"], c["resamples"], c["low"] <= c["high"], 40 < c["skipped"] < 150))(j["ci"])')" = \
  "(0.95, 300, True, True)" ] || fail "bootstrap JSON: $(cat b1.json)"
$ANNOT agreement --csv k.csv --metric alpha --bootstrap 100 | grep -q "^95% CI " || fail "CI text"
expect_status 1 $ANNOT agreement --csv k.csv --metric alpha --bootstrap x
expect_status 1 $ANNOT agreement --csv k.csv --metric alpha --bootstrap 2000000
expect_status 1 $ANNOT agreement --csv k.csv --metric alpha --seed 3
expect_status 1 $ANNOT agreement --csv k.csv --metric alpha --control c
echo ok
