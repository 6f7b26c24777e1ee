#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS (default 15),
# starting from the seeds in tests/fuzz/seeds/<target>/. A crash fails the run and leaves
# the input as build/fuzz/crash-* for a regression test.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-15}
build="$top/build/fuzz"
CC=clang cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DANNOT_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 || { tail -n 30 "$build/build.log" >&2; exit 1; }
mkdir -p "$build/logs"
for bin in "$build"/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus="$build/corpus/$name"
    mkdir -p "$corpus"
    seeds="$top/tests/fuzz/seeds/$name"
    [ -d "$seeds" ] || seeds=""
    echo "fuzz: $name for ${secs}s"
    (cd "$build" && "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 \
        -print_final_stats=0 "$corpus" $seeds >"$build/logs/$name.log" 2>&1) || {
        tail -n 40 "$build/logs/$name.log" >&2
        echo "fuzz: $name found a failure; the input is in $build/crash-* " >&2
        exit 1
    }
done
echo "fuzz: all targets ran clean"
