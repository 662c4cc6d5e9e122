#!/usr/bin/env bats
# mmfractal: what mmfractal(1) promises, one behaviour a test.  Expected
# pixels come from tests/fractal-reference.pl, written from the man page.

bats_require_minimum_version 1.5.0
load common

mmfractal() { run_tool mmfractal "$@"; }

# The image the reference script draws: width $1, height $2, iterations
# $3, region $4 (X0,X1,Y0,Y1), into file $5.
reference() {
    local region
    IFS=, read -ra region <<< "$4"
    perl "$BATS_TEST_DIRNAME/fractal-reference.pl" "$1" "$2" "$3" "${region[@]}" > "$5"
}

# The header field of file $1 at offset $2, little-endian, of $3 bytes
# (2 or 4), unsigned.
field() {
    perl -e 'open my $f, "<:raw", $ARGV[0] or die; local $/; my $d = <$f>;
             print unpack($ARGV[2] == 2 ? "v" : "V", substr($d, $ARGV[1], $ARGV[2]))' "$@"
}

# Fails unless file $1 is a BMP header for a W x H ($2, $3) image whose
# rows take $4 bytes, and the file is as long as the header says.
assert_bmp_header() {
    local file=$1 width=$2 height=$3 stride=$4
    local size=$((54 + stride * height))
    [ "$(head -c 2 "$file")" = BM ] || fail "no BM signature"
    [ "$(field "$file" 2 4)" = "$size" ] || fail "file size field $(field "$file" 2 4), expected $size"
    [ "$(wc -c < "$file")" -eq "$size" ] || fail "$(wc -c < "$file") bytes, expected $size"
    [ "$(field "$file" 6 4)" = 0 ] || fail "reserved fields not 0"
    [ "$(field "$file" 10 4)" = 54 ] || fail "pixels not at 54"
    [ "$(field "$file" 14 4)" = 40 ] || fail "not a BITMAPINFOHEADER"
    [ "$(field "$file" 18 4)" = "$width" ] || fail "width $(field "$file" 18 4)"
    # A positive height: the rows are stored bottom-up.
    [ "$(field "$file" 22 4)" = "$height" ] || fail "height $(field "$file" 22 4)"
    [ "$(field "$file" 26 2)" = 1 ] || fail "planes"
    [ "$(field "$file" 28 2)" = 24 ] || fail "bits per pixel $(field "$file" 28 2)"
    [ "$(field "$file" 30 4)" = 0 ] || fail "compressed"
    [ "$(field "$file" 34 4)" = $((stride * height)) ] || fail "image size field"
    [ "$(field "$file" 38 4)" = 2835 ] && [ "$(field "$file" 42 4)" = 2835 ] || fail "resolution"
    [ "$(field "$file" 46 4)" = 0 ] && [ "$(field "$file" 50 4)" = 0 ] || fail "palette fields"
}

# Renders with each count of workers in $COUNTS after option $1
# (--threads=, --processes= or -j) and fails unless every image is file $T/want; the image's
# options are the remaining arguments.
assert_same_for_workers() {
    local kind=$1 count
    shift
    for count in ${COUNTS:-1 2 7 65}; do
        rm -f "$T/got.bmp"
        mmfractal "$kind$count" "$@" "$T/got.bmp" || fail "$kind$count: status $?"
        assert_same_bytes "$T/want" "$T/got.bmp"
    done
}

# No file in directory $1 but $2 (nothing, without $2).
assert_only_file() {
    [ "$(ls -A "$1")" = "${2:-}" ] || fail "in $1: $(ls -A "$1")"
}

# ---- the image --------------------------------------------------------------

@test "the default image is a 500x500 24-bit BMP whose header says so" {
    run mmfractal "$T/m.bmp"
    assert_success
    assert_output ''
    assert_bmp_header "$T/m.bmp" 500 500 1500
}

@test "rows are padded with zeros to a multiple of 4 bytes" {
    local width
    for width in 1 2 3 4 5 7; do
        mmfractal --size="${width}x3" "$T/m.bmp"
        local stride=$(((3 * width + 3) / 4 * 4))
        assert_bmp_header "$T/m.bmp" "$width" 3 "$stride"
        # The padding of each row, as bytes.
        run perl -e 'open my $f, "<:raw", $ARGV[0]; local $/; my $d = <$f>;
                     for my $r (0..2) { print unpack("H*", substr($d, 54 + $r * $ARGV[2] + 3 * $ARGV[1], $ARGV[2] - 3 * $ARGV[1])), "." }' \
            "$T/m.bmp" "$width" "$stride"
        local pad=$(printf '%*s' $((2 * (stride - 3 * width))) '' | tr ' ' 0)
        assert_output "$pad.$pad.$pad."
    done
}

@test "the pixels are the reference's, the default region at a smaller size" {
    mmfractal --size=100x100 "$T/m.bmp"
    reference 100 100 256 -1.5,0.496,-1.0,0.996 "$T/want"
    assert_same_bytes "$T/want" "$T/m.bmp"
}

@test "the pixels are the reference's for a region, a size and a count of iterations" {
    mmfractal -s 61x37 -i 1000 -r -0.7453,-0.7433,0.1127,0.1137 "$T/m.bmp"
    reference 61 37 1000 -0.7453,-0.7433,0.1127,0.1137 "$T/want"
    assert_same_bytes "$T/want" "$T/m.bmp"
    mmfractal --size=33x20 --iterations=40 --region=-2.5,1,-1.25,1.25 "$T/m.bmp"
    reference 33 20 40 -2.5,1,-1.25,1.25 "$T/want"
    assert_same_bytes "$T/want" "$T/m.bmp"
}

@test "an image one pixel wide or high samples the region's first edge" {
    mmfractal --size=1x9 --region=-0.75,2,-1,1 "$T/m.bmp"
    reference 1 9 256 -0.75,2,-1,1 "$T/want"
    assert_same_bytes "$T/want" "$T/m.bmp"
    mmfractal --size=9x1 --region=-2,0.5,0.1,7 "$T/m.bmp"
    reference 9 1 256 -2,0.5,0.1,7 "$T/want"
    assert_same_bytes "$T/want" "$T/m.bmp"
}

@test "the first row in the file is the bottom of the picture" {
    # The region's lower half is outside the set (two colours per row at
    # most there), the upper half holds it: the set shows in the top rows.
    mmfractal --size=4x2 --iterations=50 --region=-0.5,0,-3,0 "$T/m.bmp"
    run perl -e 'open my $f, "<:raw", $ARGV[0]; local $/; my $d = <$f>;
                 print unpack("H*", substr($d, 54, 12)), " ", unpack("H*", substr($d, 66, 12))' "$T/m.bmp"
    # Bottom row (y = -3): every point escapes after 1 iteration (colour 1,
    # 1a 07 19 as blue, green, red); top row (y = 0): inside, black.
    assert_output "1a07191a07191a07191a0719 000000000000000000000000"
}

# ---- workers ----------------------------------------------------------------

@test "the image is the same for 1, 2, 7 and 65 threads" {
    mmfractal --threads=1 --size=203x131 "$T/want"
    assert_same_for_workers --threads= --size=203x131
    COUNTS=3 assert_same_for_workers -j --size=203x131
    mmfractal --size=203x131 "$T/default.bmp"
    assert_same_bytes "$T/want" "$T/default.bmp"
}

@test "the image is the same for 1, 2, 7 and 65 worker processes, and threads" {
    mmfractal --threads=1 --size=203x131 "$T/want"
    assert_same_for_workers --processes= --size=203x131
}

@test "more workers than rows leaves some without work" {
    mmfractal --threads=1 --size=50x3 "$T/want"
    COUNTS="4 65" assert_same_for_workers --threads= --size=50x3
    COUNTS="4 65" assert_same_for_workers --processes= --size=50x3
}

@test "a worker killed by a signal fails the run, and no output is left" {
    mkdir "$T/out"
    $MMTOOLS_RUNNER "$(tool_path mmfractal)" --processes=2 --size=600x600 --iterations=20000 \
        "$T/out/m.bmp" 2> "$T/err" &
    local pid=$! worker tries=0
    # The last worker: the first process hears of it while worker 0 still
    # runs.  Under Wine it is a Linux process too.
    until worker=$(pgrep -f -- "--worker=1,.*$T/out/m.bmp"); do
        [ $((tries += 1)) -lt 1000 ] || fail "no worker"
        sleep 0.01
    done
    # Under Wine the process shows before CreateProcess has returned: a
    # kill then is a failure to start.  Let it start.
    [ -z "$MMTOOLS_RUNNER" ] || sleep 1
    kill -KILL "$worker"
    local status=0
    wait "$pid" || status=$?
    [ "$status" -eq 1 ] || fail "status $status"
    if [ -z "$MMTOOLS_RUNNER" ]; then
        [ "$(cat "$T/err")" = "mmfractal: worker 1: killed by signal 9 (Killed)" ] ||
            fail "stderr: $(cat "$T/err")"
    else
        # Wine gives the killed worker status 0: the count of workers
        # that finished tells.
        [ "$(cat "$T/err")" = "mmfractal: only 1 of 2 workers finished their rows" ] ||
            fail "stderr: $(cat "$T/err")"
    fi
    assert_only_file "$T/out"
    [ -z "$(pgrep -f -- "--worker=.*$T/out/m.bmp")" ] || fail "a worker outlived the run"
}

@test "the workers stop when the first process is killed" {
    mkdir "$T/out"
    $MMTOOLS_RUNNER "$(tool_path mmfractal)" --processes=2 --size=1000x1000 --iterations=100000 \
        "$T/out/m.bmp" &
    local launcher=$! first tries=0
    until [ "$(pgrep -c -f -- "--worker=.*$T/out/m.bmp")" -eq 2 ]; do
        [ $((tries += 1)) -lt 1000 ] || fail "no workers"
        sleep 0.01
    done
    # Under Wine the first process is not the launcher: found by its options.
    first=$(pgrep -f -- "--processes=2 .*$T/out/m.bmp" | grep -vx "$launcher" || echo "$launcher")
    [ -n "$MMTOOLS_RUNNER" ] || first=$launcher
    kill -KILL "$first"
    wait "$launcher" || true
    # Each worker looks between rows, a fraction of a second apart here;
    # without looking they would work on for half a minute.
    tries=0
    while pgrep -f -- "--worker=.*$T/out/m.bmp" > /dev/null; do
        [ $((tries += 1)) -lt 1000 ] || fail "the workers work on"
        sleep 0.01
    done
    # On Windows a process killed outright cannot remove its temporary.
    [ -z "$MMTOOLS_RUNNER" ] || rm -f "$T"/out/.mmtools.*
    assert_only_file "$T/out"
}

@test "a file cut short under the workers is an error, and no output is left" {
    require_posix "/proc"
    local kind
    mkdir "$T/out"
    for kind in --threads=2 --processes=2; do
        "$(tool_path mmfractal)" "$kind" --size=3000x3000 --iterations=1000 \
            "$T/out/m.bmp" 2> "$T/err" &
        local pid=$! fd= tries=0
        # The temporary output, unnamed until the commit.
        until fd=$(find "/proc/$pid/fd" -lname "$T/out/*" -printf '%f\n' | head -n 1) && [ -n "$fd" ]; do
            [ $((tries += 1)) -lt 500 ] || fail "no output opened"
            sleep 0.01
        done
        sleep 0.2
        truncate -s 100 "/proc/$pid/fd/$fd"
        local status=0
        wait "$pid" || status=$?
        [ "$status" -eq 1 ] || fail "$kind: status $status"
        head -n 1 "$T/err" | grep -q "^mmfractal: $T/out/m.bmp: " || fail "$kind: $(cat "$T/err")"
        assert_only_file "$T/out"
    done
}

@test "a worker told of a file that was not shared reports it" {
    run --separate-stderr mmfractal \
        --worker=0,1,77,2,2,10,bff8000000000000,3fdfbe76c8b43958,bff0000000000000,3fefdf3b645a1cac \
        "$T/m.bmp"
    assert_failure 1
    assert_error "$stderr" "mmfractal: $T/m.bmp" "Bad file descriptor"
    [ ! -e "$T/m.bmp" ]
}

# ---- the output -------------------------------------------------------------

@test "the output replaces a file as a whole: other links keep the old content" {
    printf 'old' > "$T/m.bmp"
    ln "$T/m.bmp" "$T/link"
    mmfractal --size=10x10 "$T/m.bmp"
    assert_bmp_header "$T/m.bmp" 10 10 32
    [ "$(cat "$T/link")" = old ]
    assert_only_file "$T" "$(printf 'link\nm.bmp')"
}

@test "an output that cannot be made is reported with the system's reason, exit 1" {
    run --separate-stderr mmfractal "$T/no/such/m.bmp"
    assert_failure 1
    assert_error "$stderr" "mmfractal: $T/no/such/m.bmp" "No such file or directory"
}

@test "an output directory that cannot be written is left empty" {
    require_posix "permissions"
    mkdir "$T/locked"
    chmod 555 "$T/locked"
    let_others_in
    run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$(tool_path mmfractal)" --processes=2 "$T/locked/m.bmp"
    assert_failure 1
    [ "$stderr" = "mmfractal: $T/locked/m.bmp: Permission denied" ]
    assert_only_file "$T/locked"
}

@test "an output that is not a regular file is refused" {
    require_posix "/dev/null"
    run --separate-stderr mmfractal /dev/null
    assert_failure 1
    [ "$stderr" = "mmfractal: /dev/null: not a regular file" ]
}

# ---- usage --------------------------------------------------------------------

@test "a bad size, region or count exits 2, writing nothing" {
    local args
    mkdir "$T/out"
    for args in --size=0x5 --size=5x0 --size=5 --size=x5 --size=5x --size=-5x5 \
                --size=5x5x5 --size=40000x40000 --size=2147483648x1 \
                --region=1,0,0,1 --region=0,1,1,1 --region=0,1,0 \
                --region=0,1,0,1,2 --region=nan,1,0,1 --region=0,inf,0,1 \
                --region=-1e308,1e308,0,1 --region=a,b,c,d --region=0,1,0,1x \
                --iterations=0 --iterations=-1 --iterations=4294967296 -i1x \
                -j0 -j1025 --threads= --processes=0 --processes=1025 \
                "-j 2 --processes=2" "--processes=2 -j2" --bogus; do
        # shellcheck disable=SC2086 # the arguments' words
        run --separate-stderr mmfractal $args "$T/out/m.bmp"
        [ "$status" -eq 2 ] || fail "'$args': status $status"
        [[ "$stderr" == *"Try 'mmfractal --help' for more information." ]] || fail "'$args': $stderr"
    done
    assert_only_file "$T/out"
}

@test "usage errors say what is wrong" {
    run --separate-stderr mmfractal --size=0x5 "$T/m.bmp"
    [ "${stderr%%$'\n'*}" = "mmfractal: invalid size: 0 (1 to 2147483647)" ]
    run --separate-stderr mmfractal --size=40000x40000 "$T/m.bmp"
    [ "${stderr%%$'\n'*}" = "mmfractal: invalid size: 40000x40000 (WxH, at most 4 GiB of BMP)" ]
    run --separate-stderr mmfractal --region=1,0,0,1 "$T/m.bmp"
    [ "${stderr%%$'\n'*}" = "mmfractal: invalid region: 1,0,0,1 (X0,X1,Y0,Y1 with X0 < X1, Y0 < Y1)" ]
    run --separate-stderr mmfractal -j 0 "$T/m.bmp"
    [ "${stderr%%$'\n'*}" = "mmfractal: invalid number of threads: 0 (1 to 1024)" ]
    run --separate-stderr mmfractal -j 2 --processes=3 "$T/m.bmp"
    [ "${stderr%%$'\n'*}" = "mmfractal: only one of --threads and --processes may be given" ]
    run --separate-stderr mmfractal
    assert_failure 2
    [ "${stderr%%$'\n'*}" = "mmfractal: missing file operand" ]
    run --separate-stderr mmfractal a b
    assert_failure 2
    [ "${stderr%%$'\n'*}" = "mmfractal: extra operand b" ]
}

@test "--help and --version" {
    run mmfractal --help
    assert_success
    assert_line --index 0 "Usage: mmfractal [OPTION]... OUTPUT"
    run mmfractal --version
    assert_success
    assert_output --regexp '^mmfractal \(mmtools\) [0-9.]+$'
}
