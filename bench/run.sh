#!/bin/sh
# Times mmcat against GNU cat, in the same run, on deterministic text.
#
#   bench/run.sh [SIZE_MIB] [RUNS]      (defaults: 1024 MiB, 5 runs)
#
# Needs a built tree (./configure && make) and hyperfine; gnuplot for the
# plot.  The data goes to $BENCH_DIR (default /tmp/mmtools-bench); the
# page cache is warmed first, so this measures the tools, not the disk.
# Writes bench/results/mmcat.md (table: medians) and bench/results/mmcat.png.
set -eu

size_mib=${1:-1024}
runs=${2:-5}
. "$(dirname "$0")/lib.sh"
mmcat=$build/tools/mmcat
make -s -C "$build" tools/mmcat bench/mkdata

data=$work/text-${size_mib}M
if [ ! -s "$data" ]; then
    "$build/bench/mkdata" $((size_mib * 1024 * 1024)) > "$data.tmp"
    mv "$data.tmp" "$data"
fi
cat "$data" > /dev/null # warm the page cache

# case name | options | where the output goes
cases='plain, into /dev/null|-u|> /dev/null
plain, into a file|-u|> '"$work"'/out
plain, into a pipe|-u|| wc -c > /dev/null
-n|-n|> /dev/null
-b|-b|> /dev/null
-A|-A|> /dev/null
-s|-s|> /dev/null
-n, into a file|-n|> '"$work"'/out
-A, into a file|-A|> '"$work"'/out
-n, into a pipe|-n|| wc -c > /dev/null
-A, into a pipe|-A|| wc -c > /dev/null'

table=$work/table.md
plotdata=$work/plot.dat
: > "$plotdata"
{
    echo "| case | GNU cat (s) | mmcat (s) | mmcat speed-up |"
    echo "|---|---:|---:|---:|"
} > "$table"

echo "$cases" | while IFS='|' read -r name opts sink; do
    read -r peer ours <<EOT
$(time_pair "cat $name" "cat $opts $data $sink" "mmcat $name" "$mmcat $opts $data $sink")
EOT
    awk -v n="$name" -v p="$peer" -v o="$ours" 'BEGIN {
        printf "| %s | %.3f | %.3f | %.1fx |\n", n, p, o, p / o }' >> "$table"
    printf '"%s" %s %s\n' "$name" "$peer" "$ours" >> "$plotdata"
done

{
    echo "mmcat against GNU cat $(cat --version | sed -n '1s/.* //p'), ${size_mib} MiB of text"
    echo "(bench/mkdata), warm page cache, median of $runs runs after one warm-up, via hyperfine."
    echo
    machine_line
    echo
    echo "Command: \`bench/run.sh $size_mib $runs\`"
    echo
    cat "$table"
} > "$results/mmcat.md"

if command -v gnuplot > /dev/null; then
    gnuplot <<EOF
set terminal pngcairo size 900,450 noenhanced
set output "$results/mmcat.png"
set title "mmcat vs GNU cat, ${size_mib} MiB, warm cache (higher is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -20
set ylabel "MiB/s (log scale)"
set logscale y
set key top right
plot "$plotdata" using ($size_mib/\$2):xtic(1) title "GNU cat", \
     "" using ($size_mib/\$3) title "mmcat"
EOF
fi
cat "$results/mmcat.md"
