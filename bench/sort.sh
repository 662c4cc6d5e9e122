#!/bin/sh
# Times mmsort against GNU sort, in the same run, on deterministic text.
#
#   bench/sort.sh [SIZE_MIB] [RUNS]      (defaults: 1024 MiB, 3 runs)
#
# Needs a built tree (./configure && make) and hyperfine.  The data goes to
# $BENCH_DIR (default /tmp/mmtools-bench): random printable lines from
# bench/mkrandom and words from bench/mkdata; the page cache is warmed
# first.  GNU sort runs as `LC_ALL=C sort --parallel=2 -S 8G`, so that it
# sorts in memory on two threads, as mmsort does on this machine.
# Writes bench/results/mmsort.md (table: medians) and, with gnuplot,
# bench/results/mmsort.png.
set -eu

size_mib=${1:-1024}
runs=${2:-3}
. "$(dirname "$0")/lib.sh"
mmsort=$build/tools/mmsort
gnu="sort --parallel=2 -S 8G"
export LC_ALL=C
make -s -C "$build" tools/mmsort bench/mkdata bench/mkrandom

for kind in random text; do
    data=$work/$kind-${size_mib}M
    if [ ! -s "$data" ]; then
        prog=mkrandom
        [ $kind = text ] && prog=mkdata
        "$build/bench/$prog" $((size_mib * 1024 * 1024)) > "$data.tmp"
        mv "$data.tmp" "$data"
    fi
    cat "$data" > /dev/null # warm the page cache
done

# case name | data | options | where the output goes
cases="random lines, -o file|random||-o $work/out
random lines, into a file|random||> $work/out
random lines, -u, -o file|random|-u|-o $work/out
random lines, -t ' ' -k2,2, -o file|random|-t ' ' -k2,2|-o $work/out
words, -o file|text||-o $work/out
words, -k2,2 -k1n (general comparator), -o file|text|-k2,2 -k1n|-o $work/out"

table=$work/table.md
plotdata=$work/plot.dat
: > "$plotdata"
{
    echo "| case | GNU sort (s) | mmsort (s) | mmsort speed-up |"
    echo "|---|---:|---:|---:|"
} > "$table"

echo "$cases" | while IFS='|' read -r name kind opts sink; do
    data=$work/$kind-${size_mib}M
    read -r peer ours <<EOT
$(time_pair "sort $name" "$gnu $opts $data $sink" "mmsort $name" "$mmsort $opts $data $sink")
EOT
    awk -v n="$name" -v p="$peer" -v o="$ours" 'BEGIN {
        printf "| %s | %.3f | %.3f | %.1fx |\n", n, p, o, p / o }' >> "$table"
    printf '"%s" %s %s\n' "$name" "$peer" "$ours" >> "$plotdata"
done

# Peak memory on the first case: GNU sort's peak resident set (time -f
# %M) against mmsort's peak anonymous memory (RssAnon, sampled every 10
# ms: the mapped input and output are file pages, not counted).
peak_anon() {
    "$@" & pid=$!
    peak=0
    while kib=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2> /dev/null) && [ -n "$kib" ]; do
        [ "$kib" -gt "$peak" ] && peak=$kib
        sleep 0.01
    done
    wait "$pid"
    echo "$peak"
}
rm -f "$work/out"; sync
gnu_rss=$(/usr/bin/time -f %M $gnu -o "$work/out" "$work/random-${size_mib}M" 2>&1 > /dev/null | tail -n 1)
rm -f "$work/out"; sync
ours_anon=$(peak_anon "$mmsort" -o "$work/out" "$work/random-${size_mib}M")
rm -f "$work/out"

{
    echo "mmsort against GNU sort $(sort --version | sed -n '1s/.* //p') (\`$gnu\`, LC_ALL=C),"
    echo "${size_mib} MiB of random printable lines (bench/mkrandom) and of words (bench/mkdata),"
    echo "warm page cache, median of $runs runs after one warm-up, via hyperfine."
    echo "mmsort's -o replaces the file atomically and flushes it to disk first (fsync); GNU sort does not flush."
    echo
    machine_line
    echo
    echo "Command: \`bench/sort.sh $size_mib $runs\`"
    echo
    cat "$table"
    echo
    echo "Peak memory, random lines, -o file: GNU sort $((gnu_rss / 1024)) MiB resident (time -f %M),"
    echo "mmsort $((ours_anon / 1024)) MiB anonymous (RssAnon sampled every 10 ms; the mapped input is file pages)."
} > "$results/mmsort.md"
plot_times "mmsort vs GNU sort, ${size_mib} MiB, warm cache" "GNU sort" \
    "$plotdata" "$results/mmsort.png" mmsort
cat "$results/mmsort.md"
