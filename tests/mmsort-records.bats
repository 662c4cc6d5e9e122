#!/usr/bin/env bats
# mmsort's record mode (--record-size): what mmsort(1) promises, one
# behaviour a test.  The expected bytes come from tests/records.pl, an
# independent reference in Perl's unpack and sort, on generated records
# with many equal keys (and NaNs, infinities and -0 for floats).

bats_require_minimum_version 1.5.0
load common

mmsort() { run_tool mmsort "$@"; }
records() { perl "$BATS_TEST_DIRNAME/records.pl" "$@"; }

TYPES="bytes u8 i8 u16le u16be i16le i16be u32le u32be i32le i32be u64le
u64be i64le i64be f32le f32be f64le f64be"

# The width of key type $1 (bytes: $2).
key_width() {
    case $1 in
        bytes) echo "$2" ;;
        *) echo $(( ${1//[^0-9]/} / 8 )) ;;
    esac
}

# Sorts COUNT ($1) generated records of 16 bytes with a key of type $2 at
# offset 3 with each combination of -r, -s and -u; fails unless every
# output is the reference's.
check_type() {
    local count=$1 type=$2 flags width opts
    width=$(key_width "$type" 5)
    records gen "$count" 16 3 "$type" 7 > "$T/in"
    for flags in - r s u rs ru su; do
        opts=()
        [[ $flags == *r* ]] && opts+=(-r)
        [[ $flags == *s* ]] && opts+=(-s)
        [[ $flags == *u* ]] && opts+=(-u)
        records sort 16 3 "$width" "$type" "$flags" "$T/in" > "$T/want"
        mmsort --record-size=16 --key-offset=3 --key-size="$width" \
            --key-type="$type" "${opts[@]}" "$T/in" > "$T/got" \
            || fail "--key-type=$type ${opts[*]}: status $?"
        cmp -s "$T/want" "$T/got" || fail "--key-type=$type ${opts[*]}: differs from the reference"
    done
}

# ---- ordering -------------------------------------------------------------------

@test "bytes keys, alone and with -r, -s, -u, as the reference sorts them" {
    check_type 3000 bytes
}

@test "unsigned and signed integers of every width and byte order" {
    local type
    for type in u8 i8 u16le u16be i16le i16be u32le u32be i32le i32be u64le u64be i64le i64be; do
        check_type 2000 "$type"
    done
}

@test "floats: NaN last, -0 equal to 0, infinities and denormals" {
    local type
    for type in f32le f32be f64le f64be; do
        check_type 2000 "$type"
    done
}

@test "a large input: the threads' first pass and deep buckets" {
    records gen 300000 16 3 bytes 5 > "$T/in"
    records sort 16 3 13 bytes - "$T/in" > "$T/want"
    mmsort --record-size=16 --key-offset=3 "$T/in" > "$T/got"
    assert_same_bytes "$T/want" "$T/got"
    mmsort --record-size=16 --key-offset=3 --parallel=1 "$T/in" > "$T/one"
    assert_same_bytes "$T/want" "$T/one"
    records sort 16 0 4 u32be r "$T/in" > "$T/want"
    mmsort --record-size=16 --key-type=u32be -r --parallel=2 "$T/in" > "$T/got"
    assert_same_bytes "$T/want" "$T/got"
}

@test "the key is the rest of the record by default; ties go by the whole record" {
    printf 'b2a1b1a2a1' > "$T/in"
    run mmsort --record-size=2 "$T/in"
    assert_output 'a1a1a2b1b2'
    run mmsort --record-size=2 --key-offset=1 "$T/in"
    assert_output 'a1a1b1a2b2'
    run mmsort --record-size=2 --key-size=1 -r "$T/in"
    assert_output 'b2b1a2a1a1'
}

@test "-s keeps records with equal keys in input order, -r too" {
    printf 'b2a9b1a2a1' > "$T/in"
    run mmsort --record-size=2 --key-size=1 -s "$T/in"
    assert_output 'a9a2a1b2b1'
    run mmsort --record-size=2 --key-size=1 -s -r "$T/in"
    assert_output 'b2b1a9a2a1'
}

@test "-u keeps the first record of each key in input order" {
    printf 'b2a9b1a2a1c0' > "$T/in"
    run mmsort --record-size=2 --key-size=1 -u "$T/in"
    assert_output 'a9b2c0'
    run mmsort --record-size=2 --key-size=1 -u -r "$T/in"
    assert_output 'c0b2a9'
}

# ---- inputs and outputs ---------------------------------------------------------

@test "-o copies several large inputs on threads, in order" {
    records gen 40000 100 0 bytes 2 > "$T/a"
    records gen 30001 100 0 bytes 3 > "$T/b"
    records sort 100 0 100 bytes s "$T/b" "$T/a" "$T/b" > "$T/want"
    mmsort --record-size=100 -s -o "$T/out" "$T/b" "$T/a" "$T/b"
    assert_same_bytes "$T/want" "$T/out"
}

@test "several files, - and a pipe: the sorted concatenation" {
    printf 'cc' > "$T/a"
    printf 'bbaa' > "$T/b"
    run bash -c "printf 'dd' | $(tool_command mmsort) --record-size=2 \"\$1\" - \"\$2\"" _ "$T/a" "$T/b"
    assert_success
    assert_output 'aabbccdd'
    run bash -c "printf 'zzyyxx' | $(tool_command mmsort) --record-size=2"
    assert_output 'xxyyzz'
}

@test "an empty file gives no output, and stays empty in place" {
    : > "$T/empty"
    run mmsort --record-size=100 "$T/empty"
    assert_success
    assert_output ''
    mmsort --record-size=100 -I "$T/empty"
    [ ! -s "$T/empty" ]
    mmsort --record-size=100 -o "$T/out" "$T/empty"
    [ -f "$T/out" ] && [ ! -s "$T/out" ]
}

@test "-I sorts each file in place, keeping its inode" {
    records gen 5000 100 0 bytes 3 > "$T/a"
    records gen 300 100 0 bytes 4 > "$T/b"
    records sort 100 0 10 bytes - "$T/a" > "$T/want-a"
    records sort 100 0 10 bytes - "$T/b" > "$T/want-b"
    local inode
    inode=$(stat -c %i "$T/a")
    mmsort --record-size=100 --key-size=10 -I "$T/a" "$T/b"
    assert_same_bytes "$T/want-a" "$T/a"
    assert_same_bytes "$T/want-b" "$T/b"
    [ "$(stat -c %i "$T/a")" = "$inode" ]
}

@test "-I -u shrinks the file to the records kept" {
    records gen 4000 8 0 u16be 9 > "$T/f"
    records sort 8 0 2 u16be u "$T/f" > "$T/want"
    mmsort --record-size=8 --key-type=u16be -u --in-place "$T/f"
    assert_same_bytes "$T/want" "$T/f"
    [ "$(stat -c %s "$T/f")" -lt 4000 ]
}

@test "-o writes a new file, or replaces an input atomically" {
    records gen 2000 12 4 i32le 6 > "$T/in"
    records sort 12 4 4 i32le - "$T/in" > "$T/want"
    mmsort --record-size=12 --key-offset=4 --key-type=i32le -o "$T/out" "$T/in"
    assert_same_bytes "$T/want" "$T/out"
    chmod 640 "$T/in"
    mmsort --record-size=12 --key-offset=4 --key-type=i32le -o "$T/in" "$T/in"
    assert_same_bytes "$T/want" "$T/in"
    # Windows: the new file takes the directory's ACL (libmmio(3)).
    [ -n "$MMTOOLS_RUNNER" ] || [ "$(stat -c %a "$T/in")" = 640 ]
    mmsort --record-size=12 --key-offset=4 --key-type=i32le -u -o "$T/uniq" "$T/in"
    records sort 12 4 4 i32le u "$T/in" > "$T/want"
    assert_same_bytes "$T/want" "$T/uniq"
}

@test "-o into something that is not a regular file writes to it" {
    require_posix "/dev/stdout"
    printf 'bbaa' > "$T/in"
    run mmsort --record-size=2 -o /dev/stdout "$T/in"
    assert_success
    assert_output 'aabb'
}

# ---- checking -------------------------------------------------------------------

@test "-c reports the first record out of order and exits 1; -C says nothing" {
    printf 'aabbaacc' > "$T/in"
    run --separate-stderr mmsort --record-size=2 -c "$T/in"
    assert_failure 1
    [ "$stderr" = "mmsort: $T/in: disorder: record 3" ]
    run --separate-stderr mmsort --record-size=2 -C "$T/in"
    assert_failure 1
    [ -z "$stderr" ]
    printf 'aabbcc' > "$T/sorted"
    run mmsort --record-size=2 -c "$T/sorted"
    assert_success
    assert_output ''
}

@test "-c: ties by the whole record, -s by the key alone, -u wants keys strictly rising" {
    printf 'a2a1b0' > "$T/in"
    run mmsort --record-size=2 --key-size=1 -c "$T/in"
    assert_failure 1
    run mmsort --record-size=2 --key-size=1 -c -s "$T/in"
    assert_success
    run --separate-stderr mmsort --record-size=2 --key-size=1 -c -u "$T/in"
    assert_failure 1
    [ "$stderr" = "mmsort: $T/in: disorder: record 2" ]
    run mmsort --record-size=2 --key-size=1 -C -r "$T/in"
    assert_failure 1
    printf '\x00\x00\x80\x3f\x00\x00\x80\x7f\x00\x00\xc0\x7f' > "$T/floats"
    run mmsort --record-size=4 --key-type=f32le -c "$T/floats"
    assert_success
}

@test "-c takes one input" {
    printf 'aa' > "$T/a"
    run --separate-stderr mmsort --record-size=2 -c "$T/a" "$T/a"
    assert_failure 2
    [ "$stderr" = "mmsort: extra operand '$T/a' not allowed with -c" ]
}

# ---- errors -----------------------------------------------------------------------

@test "a file that is not whole records: exit 2, the file untouched, no output" {
    printf 'aabbc' > "$T/in"
    cp "$T/in" "$T/orig"
    printf 'old' > "$T/out"
    local mode
    for mode in -I "-o $T/out" -c ""; do
        run --separate-stderr mmsort --record-size=2 $mode "$T/in"
        assert_failure 2
        [ "$stderr" = "mmsort: $T/in: 5 bytes are not a whole number of 2-byte records" ]
        [ -z "$output" ]
        assert_same_bytes "$T/orig" "$T/in"
        [ "$(cat "$T/out")" = old ]
    done
}

@test "bad values of the record options are errors, exit 2" {
    printf 'aaaa' > "$T/in"
    local args want
    while IFS='|' read -r args want; do
        run --separate-stderr mmsort $args "$T/in"
        assert_failure 2
        [ "${stderr%%$'\n'*}" = "mmsort: $want" ] || fail "$args: says '$stderr', not '$want'"
    done <<'EOF'
--record-size=0|invalid --record-size argument '0'
--record-size=x|invalid --record-size argument 'x'
--record-size=4 --key-offset=-1|invalid --key-offset argument '-1'
--record-size=4 --key-size=1Q|invalid --key-size argument '1Q'
--record-size=4 --key-offset=4|--key-offset=4 is not inside the 4-byte record
--record-size=4 --key-offset=2 --key-size=3|the key (3 bytes at offset 2) reaches past the 4-byte record
--record-size=4 --key-type=u32le --key-size=3|--key-type=u32le takes a 4-byte key, not 3
--record-size=4 --key-type=u32le --key-offset=1|the key (4 bytes at offset 1) reaches past the 4-byte record
--record-size=4 --key-type=u128|invalid --key-type argument 'u128' (one of bytes, u8, i8, u16le ... i64be, f32le, f32be, f64le, f64be)
--key-size=2|--key-offset, --key-size and --key-type need --record-size
--record-size=4 -k 1|option '-k' does not apply to records (--record-size)
--record-size=4 -n|option '-n' does not apply to records (--record-size)
--record-size=4 -i|option '-i' does not apply to records (--record-size)
--record-size=4 -bdf|option '-f' does not apply to records (--record-size)
--record-size=4 -t ,|option '-t' does not apply to records (--record-size)
--record-size=4 -z|option '-z' does not apply to records (--record-size)
--record-size=4 -m|option '-m' does not apply to records (--record-size)
--record-size=4 --sort=numeric|option '--sort' does not apply to records (--record-size)
--record-size=4 -I -o x|options '-Io' are incompatible
--record-size=4 -c -I|options '-cI' are incompatible
EOF
}

@test "a missing input or a directory: exit 2, nothing written" {
    printf 'old' > "$T/out"
    run --separate-stderr mmsort --record-size=2 -o "$T/out" "$T/missing"
    assert_failure 2
    assert_error "$stderr" "mmsort: cannot read: $T/missing" "No such file or directory"
    [ "$(cat "$T/out")" = old ]
    run --separate-stderr mmsort --record-size=2 -I "$T/missing"
    assert_failure 2
    assert_error "$stderr" "mmsort: open failed: $T/missing" "No such file or directory"
    run --separate-stderr mmsort --record-size=2 "$T"
    assert_failure 2
    assert_error "$stderr" "mmsort: read failed: $T" "Is a directory"
}

@test "-I goes on with the other files after one fails, and exits 2" {
    printf 'bbaa' > "$T/a"
    printf 'bba' > "$T/odd"
    run --separate-stderr mmsort --record-size=2 -I "$T/odd" "$T/a"
    assert_failure 2
    [ "$(cat "$T/a")" = aabb ]
    [ "$(cat "$T/odd")" = bba ]
    run --separate-stderr mmsort --record-size=2 -I - < "$T/a"
    assert_failure 2
    [ "$stderr" = "mmsort: standard input cannot be sorted in place" ]
}

@test "a write error is reported, exit 2" {
    require_posix "/dev/full"
    printf 'bbaa' > "$T/in"
    run --separate-stderr mmsort --record-size=2 -o /dev/full "$T/in"
    assert_failure 2
    [ "$stderr" = "mmsort: write failed: /dev/full: No space left on device" ]
    run --separate-stderr bash -c "$(tool_command mmsort) --record-size=2 \"\$1\" > /dev/full" _ "$T/in"
    assert_failure 2
    [ "$stderr" = "mmsort: write failed: 'standard output': No space left on device" ]
}

@test "a file truncated while it is mapped is an error, not a crash" {
    require_posix "FIFOs and truncate"
    # Sorted already: the sort writes nothing, the pages stay the file's.
    awk 'BEGIN { for (i = 0; i < 300000; i++) printf "%099d\n", i }' > "$T/shrinking"
    mkfifo "$T/fifo"
    ( rc=0; "$(tool_path mmsort)" --record-size=100 "$T/shrinking" > "$T/fifo" 2> "$T/err" || rc=$?
      echo $rc > "$T/status" ) &
    local writer=$!
    # Once head has read, mmsort waits on the full pipe, its input mapped.
    { head -c 1 > /dev/null; truncate -s 0 "$T/shrinking"; cat > /dev/null; } < "$T/fifo"
    wait "$writer"
    [ "$(cat "$T/status")" = 2 ]
    [ "$(cat "$T/err")" = "mmsort: read failed: $T/shrinking: file shrank while it was being read" ]
}

@test "SIGTERM during -o leaves the destination untouched and no temporary" {
    require_posix "signals"
    head -c 100000000 /dev/urandom > "$T/in"
    printf 'old' > "$T/out"
    local round status
    for round in 1 2 3; do
        "$(tool_path mmsort)" --record-size=100 -o "$T/out" "$T/in" &
        local pid=$!
        sleep "0.0$round"
        kill -TERM "$pid" 2> /dev/null || true # it may be done already
        status=0
        wait "$pid" || status=$?
        [ "$status" -eq 143 ] || [ "$status" -eq 0 ] || fail "status $status"
        [ "$status" -eq 0 ] || [ "$(cat "$T/out")" = old ] || fail "the destination changed"
        [ -z "$(ls -A "$T" | grep mmtools)" ] || fail "a temporary was left"
        printf 'old' > "$T/out"
    done
}

@test "SIGTERM during -I waits until every record is in place" {
    require_posix "signals"
    head -c 100000000 /dev/urandom > "$T/orig"
    mmsort --record-size=100 --key-size=10 -o "$T/sorted" "$T/orig"
    local round status
    for round in 1 2 3; do
        cp "$T/orig" "$T/f"
        "$(tool_path mmsort)" --record-size=100 --key-size=10 -I "$T/f" &
        local pid=$!
        sleep "0.0$round"
        kill -TERM "$pid" 2> /dev/null || true # it may be done already
        status=0
        wait "$pid" || status=$?
        [ "$status" -eq 143 ] || [ "$status" -eq 0 ] || fail "status $status"
        cmp -s "$T/f" "$T/sorted" || cmp -s "$T/f" "$T/orig" || fail "a half-sorted file"
    done
}

@test "a file-size limit on -o: exit 2, the destination untouched, no temporary" {
    require_posix "ulimit -f"
    head -c 200000 /dev/urandom > "$T/in"
    printf 'old' > "$T/out"
    run --separate-stderr bash -c "ulimit -f 100; $(tool_command mmsort) --record-size=100 -o \"\$1\" \"\$2\"" _ "$T/out" "$T/in"
    assert_failure 2
    [ "$stderr" = "mmsort: write failed: $T/out: File too large" ]
    [ "$(cat "$T/out")" = old ]
    [ -z "$(ls -A "$T" | grep mmtools)" ] || fail "a temporary was left"
}

@test "kill -9 during -o FILE FILE leaves FILE old or sorted, whole" {
    require_posix "signals"
    head -c 100000000 /dev/urandom > "$T/orig"
    mmsort --record-size=100 --key-size=10 -o "$T/sorted" "$T/orig"
    local round
    for round in 1 2 3; do
        cp "$T/orig" "$T/f"
        "$(tool_path mmsort)" --record-size=100 --key-size=10 -o "$T/f" "$T/f" &
        local pid=$!
        sleep "0.0$round"
        kill -KILL "$pid" 2> /dev/null || true # it may be done already
        wait "$pid" || true
        cmp -s "$T/f" "$T/sorted" || cmp -s "$T/f" "$T/orig" || fail "a half-written file"
    done
}
