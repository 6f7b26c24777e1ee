#!/bin/sh
# Creates the demo workspace (demo/annot.db) from the small data in demo/ when it is missing,
# then shows what it holds. Task files refer to media by absolute path, so the paths are
# filled in for this checkout first.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
annot="$top/build/release/annot"
db="$top/demo/annot.db"
work="$top/build/demo-tasks"

if [ ! -f "$db" ]; then
    mkdir -p "$work"
    for f in "$top"/demo/tasks/*.json; do
        sed "s|\\\$DEMO|$top/demo|g" "$f" > "$work/$(basename "$f")"
    done
    "$annot" --db "$db" user add admin --role admin >/dev/null
    "$annot" --db "$db" user add alice --role annotator >/dev/null
    "$annot" --db "$db" user add bob --role reviewer >/dev/null
    for p in reviews street speech captions; do
        "$annot" --db "$db" project create "$p" --config "$top/demo/configs/$p.xml" >/dev/null
        "$annot" --db "$db" import "$p" "$work/$p.json" >/dev/null
    done
    echo "created the demo workspace $db"
fi

echo
"$annot" --db "$db" project list
for p in reviews street speech captions; do
    echo
    "$annot" --db "$db" stats "$p"
done
cat <<EOF2

Try it:
  $annot --db $db export reviews --format ls-json
  $annot --db $db export street --format coco -o /tmp/street-coco.json
  $annot --help
EOF2
