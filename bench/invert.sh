#!/bin/sh
# Times mminvert against GNU tac (and tr for the complement), in the same
# run, on deterministic text.
#
#   bench/invert.sh [SIZE_MIB] [RUNS]      (defaults: 1024 MiB, 5 runs)
#
# Needs a built tree (./configure && make) and hyperfine.  The data goes to
# $BENCH_DIR (default /tmp/mmtools-bench): text from bench/mkdata with a
# final newline, so that tac and mminvert -l agree; the page cache is
# warmed first.  Before every timed run the output is removed and dirty
# pages are written back (sync).  The in-place case reverses the same
# file again and again: every run does the same work.
# Writes bench/results/mminvert.md (table: medians).
set -eu

size_mib=${1:-1024}
runs=${2:-5}
. "$(dirname "$0")/lib.sh"
mminvert=$build/tools/mminvert
make -s -C "$build" tools/mminvert bench/mkdata

data=$work/lines-${size_mib}M
if [ ! -s "$data" ]; then
    { "$build/bench/mkdata" $((size_mib * 1024 * 1024)); echo; } > "$data.tmp"
    mv "$data.tmp" "$data"
fi
cp "$data" "$work/inplace"
cat "$data" "$work/inplace" > /dev/null # warm the page cache
tac "$data" | cmp -s - "$data" && { echo "bench: tac changed nothing" >&2; exit 1; }
"$mminvert" -l -o "$work/out" "$data"
tac "$data" | cmp -s - "$work/out" || { echo "bench: mminvert -l differs from tac" >&2; exit 1; }

# tr's complement: every byte, mapped to the bytes from 255 down to 0.
down=$(awk 'BEGIN { for (i = 255; i >= 0; i--) printf "\\%03o", i }')

# case name | peer command | mminvert command
cases="lines, into a file|tac $data > $work/out|$mminvert -l -o $work/out $data
lines, in place|tac $data > $work/out|$mminvert -l $work/inplace
complement, into a file|tr '\\000-\\377' '$down' < $data > $work/out|$mminvert -c -o $work/out $data"

table=$work/table.md
{
    echo "| case | peer | peer (s) | mminvert (s) | mminvert speed-up |"
    echo "|---|---|---:|---:|---:|"
} > "$table"

printf "%s\n" "$cases" | while IFS='|' read -r name peer ours; do
    read -r peer_s ours_s <<EOT
$(time_pair "peer $name" "$peer" "mminvert $name" "$ours")
EOT
    awk -v n="$name" -v c="${peer%% *}" -v p="$peer_s" -v o="$ours_s" 'BEGIN {
        printf "| %s | %s | %.3f | %.3f | %.1fx |\n", n, c, p, o, p / o }' >> "$table"
done

# What no tool can beat here: the same number of bytes copied into a new
# file by the kernel alone (cat uses copy_file_range), without and with
# the flush to disk that mminvert's atomic -o does before its rename; the
# disk itself taking as many bytes past the page cache (O_DIRECT); and
# mminvert's cheapest change in place (-c: one pass over the bytes).
floors=$work/floors.md
floor_cases="copy into a file (cat: copy_file_range)|cat $data > $work/out
copy into a file, flushed (cat, then sync of the file)|cat $data > $work/out && sync $work/out
the disk alone (dd oflag=direct bs=4M of zeros)|dd if=/dev/zero of=$work/out bs=4M count=$((size_mib / 4)) oflag=direct status=none
complement in place (mminvert -c)|$mminvert -c $work/inplace"
time_floors "$floor_cases" "$floors"

{
    echo "mminvert against GNU tac $(tac --version | sed -n '1s/.* //p') and tr, ${size_mib} MiB of text"
    echo "(bench/mkdata, with a final newline), warm page cache, median of $runs runs after one"
    echo "warm-up, via hyperfine; the output removed and \`sync\` before every run."
    echo
    machine_line
    echo
    echo "Command: \`bench/invert.sh $size_mib $runs\`"
    echo
    cat "$table"
    echo
    echo "Floors, same data and runs:"
    echo
    cat "$floors"
} > "$results/mminvert.md"
cat "$results/mminvert.md"
