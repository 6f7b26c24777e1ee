#!/bin/sh
# Installs the Debian packages annot needs to build, test and run, when any is missing.
# This is the one list of system dependencies.
#   scripts/deps.sh         what building and running needs (make, make run)
#   scripts/deps.sh --test  that, plus what the tests, fuzzers and benchmarks need (make test)
set -eu
# libcurl makes the server's outbound requests (webhooks), through an address guard; PCRE2
# runs the regular expressions of QC rules; Hyperscan finds PII candidates in one pass.
PACKAGES="gcc make cmake pkg-config libsqlite3-dev libjansson-dev libxml2-dev libsodium-dev libmicrohttpd-dev libcurl4-openssl-dev libpcre2-dev libhyperscan-dev"
# Pre-annotation and redaction on the pretrained models Debian ships: Tesseract (English and
# Simplified Chinese), PocketSphinx (US English), OpenCV's cascade files (faces, plates),
# libvips for images and libsndfile for audio.
PACKAGES="$PACKAGES libtesseract-dev tesseract-ocr-eng tesseract-ocr-chi-sim libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us opencv-data libvips-dev libsndfile1-dev"
if [ "${1:-}" = "--test" ]; then
    # cmocka runs the unit tests; python3 checks outputs in integration tests; clang builds
    # the libFuzzer targets; sqlite3 is the benchmarks' baseline; libcurl and curl are the
    # HTTP clients of the server tests; scikit-learn, statsmodels and numpy cross-check the
    # agreement and consensus figures and are the QC benchmarks' baseline.
    PACKAGES="$PACKAGES libcmocka-dev python3 clang libclang-rt-14-dev sqlite3 curl wrk nginx"
    PACKAGES="$PACKAGES python3-numpy python3-sklearn python3-statsmodels"
    # GNU time measures the peak memory of runs in tests and benchmarks (/usr/bin/time -f %M).
    PACKAGES="$PACKAGES time"
    # Test media made on the spot: speech from espeak-ng, text rendered with Pillow in DejaVu
    # and WenQuanYi fonts; OpenCV's Python module and its sample photographs are the
    # reference for the cascade detector.
    PACKAGES="$PACKAGES espeak-ng python3-pil fonts-dejavu-core fonts-wqy-zenhei python3-opencv opencv-doc"
    # Debian's chromium and Node.js run the web UI's browser tests (tests/browser). Debian
    # ships npm apart from nodejs; other builds of nodejs bring their own npm.
    PACKAGES="$PACKAGES chromium nodejs"
    PACKAGES="$PACKAGES ripgrep" # bench/pii.sh: the grep baseline of the PII scan
    command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "annot: installing missing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them only when an install fails.
if ! $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
