#!/bin/sh
# Face detection speed (bench/README.md, "Detectors"): annot's C cascade evaluation on a
# 640x480 photograph against OpenCV's detectMultiScale on the same grey image, one thread
# each (and OpenCV with its default threads too). Needs a Release build:
#   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release && cmake --build build/rel --target annotlib
# usage: bench/detect.sh [BUILD_DIR] [SECONDS]
set -e
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build/rel}
SECS=${2:-5}
IMG=/usr/share/doc/opencv-doc/examples/data/basketball1.png
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PKGS="sqlite3 jansson libxml-2.0 libsodium libmicrohttpd libcurl libpcre2-8 libhs tesseract vips sndfile pocketsphinx sphinxbase"
cc -std=c11 -O2 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/detect_bench.c" "$BUILD/libannotlib.a" \
    $(pkg-config --cflags --libs $PKGS) -lpthread -lm -o "$TMP/detect_bench"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$TMP/detect_bench" "$IMG" "$SECS"
/usr/bin/python3 - "$IMG" "$SECS" <<'PY'
import sys, time
import cv2
img, secs = sys.argv[1], float(sys.argv[2])
g = cv2.cvtColor(cv2.imread(img), cv2.COLOR_BGR2GRAY)
cc = cv2.CascadeClassifier("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")
for threads in (1, cv2.getNumberOfCPUs()):
    cv2.setNumThreads(threads)
    runs, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < secs or runs < 3:
        r = cc.detectMultiScale(g)
        runs += 1
    dt = time.monotonic() - t0
    print("OpenCV %s frontal, %d thread(s): %d runs in %.2f s = %.1f images/s (%d faces)"
          % (cv2.__version__, threads, runs, dt, runs / dt, len(r)))
PY
