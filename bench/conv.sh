#!/bin/sh
# Times mmconv against glibc's iconv, in the same run, on deterministic
# text: ASCII to UTF-16LE on SIZE_MIB, and mixed UTF-8 (characters of 1 to
# 4 bytes, bench/mkdata's utf8 mode) to UTF-16LE on half as much, each
# file into a file.
#
#   bench/conv.sh [SIZE_MIB] [RUNS]      (defaults: 1024 MiB, 5 runs)
#
# Needs a built tree (./configure && make) and hyperfine.  The data goes to
# $BENCH_DIR (default /tmp/mmtools-bench); the page cache is warmed first,
# and before every timed run the output is removed and dirty pages are
# written back (sync).  mmconv's output is checked against iconv's first.
# Writes bench/results/mmconv.md (table: medians).
set -eu

size_mib=${1:-1024}
runs=${2:-5}
. "$(dirname "$0")/lib.sh"
mmconv=$build/tools/mmconv
make -s -C "$build" tools/mmconv bench/mkdata

ascii=$work/text-${size_mib}M # bench/mkdata as it is, as run.sh uses it
mixed=$work/utf8-$((size_mib / 2))M
if [ ! -s "$ascii" ]; then
    "$build/bench/mkdata" $((size_mib * 1024 * 1024)) > "$ascii.tmp"
    mv "$ascii.tmp" "$ascii"
fi
if [ ! -s "$mixed" ]; then
    "$build/bench/mkdata" $((size_mib / 2 * 1024 * 1024)) utf8 > "$mixed.tmp"
    mv "$mixed.tmp" "$mixed"
fi
cat "$ascii" "$mixed" > /dev/null # warm the page cache
for case in "ASCII $ascii" "UTF-8 $mixed"; do
    set -- $case
    iconv -f "$1" -t UTF-16LE "$2" > "$work/want-$1"
    "$mmconv" -f "$1" -t UTF-16LE "$2" "$work/out"
    cmp -s "$work/want-$1" "$work/out" || { echo "bench: mmconv differs from iconv ($1)" >&2; exit 1; }
done
rm -f "$work/out"

# case name | iconv command | mmconv command
cases="ASCII to UTF-16LE, ${size_mib} MiB|iconv -f ASCII -t UTF-16LE $ascii > $work/out|$mmconv -f ASCII -t UTF-16LE $ascii $work/out
mixed UTF-8 to UTF-16LE, $((size_mib / 2)) MiB|iconv -f UTF-8 -t UTF-16LE $mixed > $work/out|$mmconv -f UTF-8 -t UTF-16LE $mixed $work/out"

table=$work/table.md
{
    echo "| case | iconv (s) | mmconv (s) | mmconv speed-up |"
    echo "|---|---:|---:|---:|"
} > "$table"

printf "%s\n" "$cases" | while IFS='|' read -r name peer ours; do
    read -r peer_s ours_s <<EOT
$(time_pair "iconv $name" "$peer" "mmconv $name" "$ours")
EOT
    awk -v n="$name" -v p="$peer_s" -v o="$ours_s" 'BEGIN {
        printf "| %s | %.3f | %.3f | %.1fx |\n", n, p, o, p / o }' >> "$table"
done

# What no converter can beat here: each case's output (iconv's, kept from
# the check above) copied into a new file by the kernel alone (cat uses
# copy_file_range), without and with the flush to disk that mmconv's
# atomic commit does.
floors=$work/floors.md
floor_cases=
for case in ASCII UTF-8; do
    out_mib=$(( $(wc -c < "$work/want-$case") / 1048576 ))
    floor_cases="$floor_cases${floor_cases:+
}$case case: its ${out_mib} MiB of output copied into a file (cat)|cat $work/want-$case > $work/out
$case case: the same, flushed (cat, then sync of the file)|cat $work/want-$case > $work/out && sync $work/out"
done
time_floors "$floor_cases" "$floors"
rm -f "$work/want-ASCII" "$work/want-UTF-8" "$work/out"

{
    echo "mmconv against $(iconv --version | sed -n 1p), file into file, text from bench/mkdata"
    echo "(ASCII, and its utf8 mode for mixed UTF-8), warm page cache, median of $runs runs"
    echo "after one warm-up, via hyperfine; the output removed and \`sync\` before every run."
    echo
    machine_line
    echo
    echo "Command: \`bench/conv.sh $size_mib $runs\`"
    echo
    cat "$table"
    echo
    echo "Floors, same data and runs:"
    echo
    cat "$floors"
} > "$results/mmconv.md"
cat "$results/mmconv.md"
