#!/bin/sh
# Creates the demo workspace (demo/annot.db) from the small data in demo/ when it is missing,
# shows what it holds, and serves it (ANNOT_PORT, default 8080). Task files refer to media by
# absolute path, so the paths are filled in for this checkout first. The demo accounts'
# passwords are printed below: they are for trying annot on this machine only.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
annot="$top/build/release/annot"
db="$top/demo/annot.db"
port=${ANNOT_PORT:-8080}
password="annot-demo"
work="$top/build/demo-tasks"

if [ ! -f "$db" ]; then
    mkdir -p "$work"
    for f in "$top"/demo/tasks/*.json; do
        sed "s|\\\$DEMO|$top/demo|g" "$f" > "$work/$(basename "$f")"
    done
    "$annot" --db "$db" user add admin --role admin >/dev/null
    "$annot" --db "$db" user add alice --role annotator >/dev/null
    "$annot" --db "$db" user add bob --role reviewer >/dev/null
    for u in admin alice bob; do
        echo "$password" | "$annot" --db "$db" user passwd "$u"
    done
    for p in reviews street speech captions; do
        "$annot" --db "$db" project create "$p" --config "$top/demo/configs/$p.xml" >/dev/null
        "$annot" --db "$db" import "$p" "$work/$p.json" >/dev/null
        "$annot" --db "$db" member add "$p" alice
        "$annot" --db "$db" member add "$p" bob
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

Serving the demo at http://127.0.0.1:$port/ — log in as admin (or alice, an annotator; bob,
a reviewer) with the password $password. Stop with Ctrl-C.
API scripts: TOKEN=\$($annot --db $db token create admin); curl -H "Authorization: Token \$TOKEN" http://127.0.0.1:$port/api/projects
EOF2
exec "$annot" --db "$db" serve --port "$port" --media-root "$top/demo/data"
