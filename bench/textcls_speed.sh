#!/bin/sh
# textcls speed on one core: bench/textcls_speed.c against the library on N generated short
# texts (default 100,000): featurising, predicting (features + scoring, no store; and the
# predict op with its result JSON), training (the whole train op with 1 epoch, and the cost
# of one more epoch). The end-to-end `annot predict` rate (with the store) is bench/predict.sh.
#   bench/textcls_speed.sh [--texts N] [--build DIR]
# Builds a Release tree (default build/bench-textcls), pins the driver to one core and times
# CPU seconds (best of three), so that other work on the machine inflates the figures less.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
N=100000
B=$SRC/build/bench-textcls
while [ $# -gt 0 ]; do
    case $1 in
    --texts) N=$2; shift ;;
    --build) B=$2; shift ;;
    *) echo "usage: bench/textcls_speed.sh [--texts N] [--build DIR]" >&2; exit 1 ;;
    esac
    shift
done
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j2 --target annotlib >/dev/null
LIBS=$(pkg-config --libs sqlite3 jansson libxml-2.0 libsodium libmicrohttpd libcurl libpcre2-8 \
    libhs tesseract vips sndfile pocketsphinx sphinxbase)
cc -std=c11 -O2 -D_GNU_SOURCE -I"$SRC/src" $(pkg-config --cflags jansson) -o "$B/textcls_speed" \
    "$SRC/bench/textcls_speed.c" "$B/libannotlib.a" $LIBS -lpthread -lm
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(cc --version | head -1)"
taskset -c 0 "$B/textcls_speed" "$N" | awk '
    NF == 4 { printf "%-12s %8.3f s  %7d texts  %9d texts/s\n", $1, $2, $3, $4; next }
    { print }'
