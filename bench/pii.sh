#!/bin/sh
# PII scan throughput: `annot pii scan` over MB of mixed Chinese/English text (plain lines and
# JSON lines) against `grep -cE` of the same candidate patterns on the same file (GNU grep's
# DFA: no validation, no offsets, no context — a floor for "find the shapes").
#   bench/pii.sh [--mb N] [--build DIR] [--keep]
# Builds a Release tree (default build/bench-pii), generates the file in a temporary folder,
# prints one line per measurement with MB/s and the peak RSS of annot.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
MB=100
B=$SRC/build/bench-pii
KEEP=0
while [ $# -gt 0 ]; do
    case $1 in
    --mb) MB=$2; shift ;;
    --build) B=$2; shift ;;
    --keep) KEEP=1 ;;
    *) echo "usage: bench/pii.sh [--mb N] [--build DIR] [--keep]" >&2; exit 1 ;;
    esac
    shift
done
PY=/usr/bin/python3
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target annot >/dev/null
ANNOT=$B/annot
T=$(mktemp -d "${TMPDIR:-/tmp}/annot-pii.XXXXXX")
[ $KEEP = 1 ] || trap 'rm -rf "$T"' EXIT
# Mixed text: most lines hold no PII (as in real corpora); one in four holds one or two values.
$PY - "$T/mixed.txt" "$MB" <<'PY'
import json, random, sys
random.seed(7)
words = ("the model answer was checked by two annotators before export "
         "今天 天气 很好 我们 一起 去 公园 散步 然后 吃饭 数据 标注 质量 检查").split()
def idnum():
    body = "110105%04d%02d%02d%03d" % (random.randint(1950, 2005), random.randint(1, 12),
                                     random.randint(1, 28), random.randint(0, 999))
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11]
pii = [lambda: "手机 1%d%09d" % (random.randint(3, 9), random.randint(0, 10**9 - 1)),
       lambda: "身份证 " + idnum(),
       lambda: "email user%d@example.com" % random.randint(0, 99999),
       lambda: "ip 10.%d.%d.%d" % (random.randint(0, 255), random.randint(0, 255), random.randint(1, 254)),
       lambda: "车牌 京A%05d" % random.randint(0, 99999),
       lambda: "订单号 %012d" % random.randint(0, 10**12)]
target = int(sys.argv[2]) * 1000 * 1000
with open(sys.argv[1], "w", encoding="utf-8") as f:
    size = 0
    while size < target:
        s = " ".join(random.choice(words) for _ in range(random.randint(8, 30)))
        if random.random() < 0.25:
            s += "，" + random.choice(pii)()
        if random.random() < 0.2:
            s = json.dumps({"data": {"text": s}}, ensure_ascii=False)
        f.write(s + "\n")
        size += len(s.encode()) + 1
PY
bytes=$(wc -c <"$T/mixed.txt")
# The same shapes as the scanner's candidate patterns, as one ERE.
ERE='[0-9]{17}[0-9Xx]|1[3-9][0-9]{9}|0[0-9]{2,3}-[0-9]{7,8}|\+[1-9][0-9]{7,14}|(62|4|5[1-5]|3[47])[0-9]{11,17}|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}|[EG][0-9]{8}|(京|津|沪|粤)[A-Z][A-Z0-9]{5}'
rate() { $PY -c "import sys; print('%.1f' % (int(sys.argv[1]) / 1e6 / float(sys.argv[2])))" "$@"; }
# /usr/bin/time: wall, user and system seconds, peak RSS (KiB). CPU seconds (user + system)
# are the steadier figure on a machine shared with other work.
/usr/bin/time -f "%e %U %S %M" -o "$T/t_annot" "$ANNOT" pii scan "$T/mixed.txt" --json \
    >"$T/found.jsonl" 2>"$T/summary"
LC_ALL=C /usr/bin/time -f "%e %U %S %M" -o "$T/t_grep" grep -cE "$ERE" "$T/mixed.txt" \
    >"$T/grep.count" || true
read -r w_a u_a s_a m_a <"$T/t_annot"
read -r w_g u_g s_g m_g <"$T/t_grep"
c_a=$($PY -c "import sys; print('%.2f' % (float(sys.argv[1]) + float(sys.argv[2])))" "$u_a" "$s_a")
c_g=$($PY -c "import sys; print('%.2f' % (float(sys.argv[1]) + float(sys.argv[2])))" "$u_g" "$s_g")
echo "file: $bytes bytes, $(wc -l <"$T/mixed.txt") lines"
echo "annot pii scan --json: wall $w_a s, cpu $c_a s, $(rate "$bytes" "$c_a") MB/s per cpu-second, peak RSS $((m_a / 1024)) MB; $(cat "$T/summary")"
echo "grep -cE (same shapes, C locale): wall $w_g s, cpu $c_g s, $(rate "$bytes" "$c_g") MB/s per cpu-second, $(cat "$T/grep.count") matching lines"
echo "annot/grep cpu ratio: $($PY -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$c_a" "$c_g")"
