#!/bin/sh
# Times mmsort's record mode against bsort, both sorting a file of
# 100-byte records with 10-byte keys in place, in the same hyperfine run.
#
#   BSORT=/tmp/bsort/bsort bench/records.sh [SIZE_MB] [RUNS]
#                                    (defaults: 1000 MB, 10,000,000 records; 5 runs)
#
# bsort (github.com/pelotoncycle/bsort) is built from its source, outside
# this tree:
#   git clone https://github.com/pelotoncycle/bsort /tmp/bsort
#   gcc -O2 -o /tmp/bsort/bsort /tmp/bsort/src/bsort.c
# The records come from `bench/mkrandom -r` (TeraSort's shape: a random
# 10-byte key, the record number, filler).  Before every run, outside the
# timing, a fresh copy of the unsorted file is made and written back
# (sync).  Both results are compared afterwards: with keys this random no
# two are equal, so both sorts must give the same bytes (with equal keys
# they would not: bsort leaves ties in any order, mmsort orders them by
# the whole record).  Writes bench/results/mmsort-records.md.
set -eu

size_mb=${1:-1000}
runs=${2:-5}
. "$(dirname "$0")/lib.sh"
bsort=${BSORT:-/tmp/bsort/bsort}
mmsort=$build/tools/mmsort
[ -x "$bsort" ] || { echo "bench: set BSORT to a built bsort (see the top of $0)" >&2; exit 1; }
make -s -C "$build" tools/mmsort bench/mkrandom

data=$work/records-${size_mb}M
if [ ! -s "$data" ]; then
    "$build/bench/mkrandom" -r $((size_mb * 1000000)) > "$data.tmp"
    mv "$data.tmp" "$data"
fi
cat "$data" > /dev/null # warm the page cache

prepare="cp $data $work/out; sync"
ours="$mmsort --record-size=100 --key-size=10 -I $work/out"
peer="$bsort -k 10 -r 100 $work/out"
read -r peer_s ours_s <<EOT
$(time_pair "bsort" "$peer" "mmsort -I" "$ours")
EOT

# The same bytes from both.
cp "$data" "$work/out" && $peer > /dev/null && mv "$work/out" "$work/out.bsort"
cp "$data" "$work/out" && $ours
cmp "$work/out" "$work/out.bsort" || { echo "bench: mmsort and bsort differ" >&2; exit 1; }
rm -f "$work/out" "$work/out.bsort"

{
    echo "mmsort's record mode against bsort ($(cd "$(dirname "$bsort")" && git rev-parse --short HEAD 2>/dev/null || echo "built from source")),"
    echo "$((size_mb * 10000)) records of 100 bytes with 10-byte random keys (bench/mkrandom -r), sorted in place,"
    echo "a fresh copy written back (sync) before every run, median of $runs runs after one warm-up, via hyperfine."
    echo "The two results are byte-identical (cmp)."
    echo
    machine_line
    echo
    echo "Command: \`BSORT=$bsort bench/records.sh $size_mb $runs\`"
    echo
    echo "| case | bsort (s) | mmsort (s) | mmsort speed-up |"
    echo "|---|---:|---:|---:|"
    awk -v p="$peer_s" -v o="$ours_s" 'BEGIN {
        printf "| in place, --record-size=100 --key-size=10 | %.3f | %.3f | %.1fx |\n", p, o, p / o }'
} > "$results/mmsort-records.md"
cat "$results/mmsort-records.md"
