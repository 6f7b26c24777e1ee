#!/bin/sh
# Face detection speed (bench/README.md, "Detectors"): annot's C cascade evaluation on a
# 640x480 photograph against OpenCV's detectMultiScale on the same grey image with the same
# cascade (haarcascade_frontalface_default, scale 1.1, 3 neighbours).
#
# The machine is a noisy shared VM whose speed drifts from minute to minute, so annot and
# OpenCV alternate for ROUNDS rounds (annot, OpenCV with 1 thread, OpenCV with its default
# threads) and the fastest round of each is compared: annot / OpenCV (1 thread) is the ratio
# issue 5 asks about. The "face" model's three passes are measured once at the end.
# Needs a Release build:
#   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release && cmake --build build/rel --target annotlib
# usage: bench/detect.sh [BUILD_DIR] [SECONDS per measurement] [ROUNDS]
set -e
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build/rel}
SECS=${2:-5}
ROUNDS=${3:-3}
IMG=/usr/share/doc/opencv-doc/examples/data/basketball1.png
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PKGS="sqlite3 jansson libxml-2.0 libsodium libmicrohttpd libcurl libpcre2-8 libhs tesseract vips sndfile pocketsphinx sphinxbase"
cc -std=c11 -O2 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/detect_bench.c" "$BUILD/libannotlib.a" \
    $(pkg-config --cflags --libs $PKGS) -lpthread -lm -o "$TMP/detect_bench"
cat > "$TMP/opencv_bench.py" <<'PY'
import sys, time
import cv2
img, secs, threads = sys.argv[1], float(sys.argv[2]), sys.argv[3]
g = cv2.cvtColor(cv2.imread(img), cv2.COLOR_BGR2GRAY)
cc = cv2.CascadeClassifier("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")
n = cv2.getNumberOfCPUs() if threads == "default" else int(threads)
cv2.setNumThreads(n)
runs, t0 = 0, time.monotonic()
while time.monotonic() - t0 < secs or runs < 3:
    r = cc.detectMultiScale(g)
    runs += 1
dt = time.monotonic() - t0
print("OpenCV %s frontal, %d thread(s): %d runs in %.2f s = %.2f images/s (%d faces)"
      % (cv2.__version__, n, runs, dt, runs / dt, len(r)))
PY
rate() { sed -n 's/.* = \([0-9.]*\) images\/s.*/\1/p'; }
# best FILE: the largest rate in FILE
best() { sort -g "$1" | tail -n 1; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); image $(basename "$IMG"), $SECS s per measurement, $ROUNDS rounds"
: > "$TMP/annot"; : > "$TMP/cv1"; : > "$TMP/cvn"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    echo "round $r"
    "$TMP/detect_bench" "$IMG" "$SECS" frontal > "$TMP/out"
    sed 's/^/  /' "$TMP/out"; rate < "$TMP/out" >> "$TMP/annot"
    /usr/bin/python3 "$TMP/opencv_bench.py" "$IMG" "$SECS" 1 > "$TMP/out"
    sed 's/^/  /' "$TMP/out"; rate < "$TMP/out" >> "$TMP/cv1"
    /usr/bin/python3 "$TMP/opencv_bench.py" "$IMG" "$SECS" default > "$TMP/out"
    sed 's/^/  /' "$TMP/out"; rate < "$TMP/out" >> "$TMP/cvn"
    r=$((r + 1))
done
A=$(best "$TMP/annot"); C1=$(best "$TMP/cv1"); CN=$(best "$TMP/cvn")
echo "fastest round, images/s: annot $A, OpenCV 1 thread $C1, OpenCV default threads $CN"
awk -v a="$A" -v c1="$C1" -v cn="$CN" 'BEGIN {
    printf "annot / OpenCV (1 thread) = %.2f, annot / OpenCV (default threads) = %.2f\n", a / c1, a / cn }'
"$TMP/detect_bench" "$IMG" "$SECS" face
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
