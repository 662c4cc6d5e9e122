#!/bin/sh
# Times mmfractal with 1 and 2 workers, threads and then processes, each
# pair in the same hyperfine run.
#
#   bench/fractal.sh [SIZE] [RUNS]     (defaults: 4000 pixels square, 5 runs)
#
# Needs a built tree (./configure && make) and hyperfine.  The images go
# to $BENCH_DIR (default /tmp/mmtools-bench); before every timed run the
# output is removed and dirty pages are written back (sync).  The issue
# asks 2 workers to be at least 1.8 times as fast as 1 on a 2-core
# machine.  Writes bench/results/mmfractal.md (table: medians) and
# bench/results/mmfractal.png, the default image.
set -eu

size=${1:-4000}
runs=${2:-5}
. "$(dirname "$0")/lib.sh"
mmfractal=$build/tools/mmfractal
make -s -C "$build" tools/mmfractal

# Every kind and count of workers must draw the same image.
"$mmfractal" --size="${size}x$size" -j 1 "$work/one.bmp"
for kind in --threads --processes; do
    "$mmfractal" --size="${size}x$size" "$kind=2" "$work/out"
    cmp -s "$work/one.bmp" "$work/out" || { echo "bench: $kind=2 draws another image" >&2; exit 1; }
done
rm -f "$work/one.bmp"

table=$work/table.md
{
    echo "| workers | 1 (s) | 2 (s) | speed-up |"
    echo "|---|---:|---:|---:|"
} > "$table"
for kind in threads processes; do
    read -r one two <<EOT
$(time_pair "1 $kind" "$mmfractal --size=${size}x$size --$kind=1 $work/out" \
            "2 $kind" "$mmfractal --size=${size}x$size --$kind=2 $work/out")
EOT
    awk -v k="$kind" -v a="$one" -v b="$two" 'BEGIN {
        printf "| %s | %.3f | %.3f | %.2fx |\n", k, a, b, a / b }' >> "$table"
done

"$mmfractal" "$work/default.bmp"
python3 "$top/bench/bmp2png.py" "$work/default.bmp" "$results/mmfractal.png"

{
    echo "mmfractal, a ${size}x$size image of the default region (256 iterations), with 1"
    echo "and 2 workers of each kind; median of $runs runs after one warm-up, via hyperfine;"
    echo "the output removed and \`sync\` before every run."
    echo
    machine_line
    echo
    echo "Command: \`bench/fractal.sh $size $runs\`"
    echo
    cat "$table"
} > "$results/mmfractal.md"
cat "$results/mmfractal.md"
