# What the bench scripts share; sourced after `set -eu`, with SIZE_MIB and
# RUNS as the script's arguments and their defaults.

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top}
work=${BENCH_DIR:-/tmp/mmtools-bench}
results=$top/bench/results

command -v hyperfine > /dev/null || { echo "bench: needs hyperfine" >&2; exit 1; }
mkdir -p "$work" "$results"

# The median of the Nth command ($2) in hyperfine's JSON file $1.
median() {
    grep -o '"median": *[0-9.e+-]*' "$1" | sed -n "$2p" | sed 's/.*: *//'
}

# Times command $2 (named $1) and command $4 (named $3) in one hyperfine
# run; before every run, outside the timing, $work/out goes and dirty
# pages are written back, so no run pays for the one before ($prepare,
# when set, is run instead).  Prints the two medians.
time_pair() {
    hyperfine --style none --warmup 1 --runs "$runs" --export-json "$work/case.json" \
        --prepare "${prepare:-rm -f $work/out; sync}" \
        --command-name "$1" "$2" --command-name "$3" "$4" > /dev/null
    echo "$(median "$work/case.json" 1) $(median "$work/case.json" 2)"
}

# Times each "name|command" line of $1 alone, as a floor: what the tool
# against the peer cannot beat here.  Writes the table of medians, with
# its header, to file $2.
time_floors() {
    {
        echo "| floor | median (s) |"
        echo "|---|---:|"
    } > "$2"
    printf "%s\n" "$1" | while IFS='|' read -r name cmd; do
        hyperfine --style none --warmup 1 --runs "$runs" --export-json "$work/case.json" \
            --prepare "rm -f $work/out; sync" --command-name "$name" "$cmd" > /dev/null
        awk -v n="$name" -v t="$(median "$work/case.json" 1)" 'BEGIN {
            printf "| %s | %.3f |\n", n, t }' >> "$2"
    done
}

# The line that says what machine the figures come from.
machine_line() {
    echo "Machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)," \
         "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
         "Linux $(uname -r), $(date -u +%Y-%m-%d)."
}

# Draws $4 (a PNG) from the data file $3, whose lines are
# "case name" PEER_SECONDS OUR_SECONDS: the time of each, side by side.
# $1 is the title, $2 the peer's name, $5 ours.  Quietly nothing without
# gnuplot.
plot_times() {
    command -v gnuplot > /dev/null || return 0
    gnuplot <<EOT
set terminal pngcairo size 900,560 noenhanced
set output "$4"
set title "$1 (lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by 20 right
set bmargin 12
set ylabel "seconds (log scale)"
set logscale y
set key top left
plot "$3" using 2:xtic(1) title "$2", "" using 3 title "$5"
EOT
}
