#!/usr/bin/env bats
# mminvert: what mminvert(1) promises, one behaviour a test.  Expected bytes
# come from tac where it has the same behaviour, and otherwise from perl.

bats_require_minimum_version 1.5.0
load common

mminvert() { run_tool mminvert "$@"; }

# Writes the bytes perl makes of file $1 with expression $2 (on $_, the
# whole file) to file $3.
perl_of() {
    perl -0777 -pe "$2" < "$1" > "$3"
}

# Random bytes: $2 of them, from the seed $3, drawn from the characters of
# $4 (all 256 byte values without it), into file $1.
random_file() {
    perl -e 'srand($ARGV[1]); my @c = length $ARGV[2] ? split(//, $ARGV[2]) : map { chr } 0..255;
             print map { $c[int rand @c] } 1..$ARGV[0]' "$2" "$3" "${4:-}" > "$1"
}

# Fails unless mminvert with arguments "$@" (the file last) changes file
# $T/in into the bytes of $T/want, in place and with -o, with every window
# size (those in $WINDOWS, when set).
assert_inverts_to() {
    local window
    for window in ${WINDOWS:-2 3 7 64 1G}; do
        cp "$T/in" "$T/f"
        MMTOOLS_WINDOW=$window mminvert "$@" "$T/f" || fail "status $? with window $window"
        assert_same_bytes "$T/want" "$T/f"
        # The same into another file, which is made from FILE's windows.
        cp "$T/in" "$T/f"
        rm -f "$T/o"
        MMTOOLS_WINDOW=$window mminvert "$@" -o "$T/o" "$T/f" ||
            fail "-o: status $? with window $window"
        assert_same_bytes "$T/want" "$T/o"
        assert_same_bytes "$T/in" "$T/f"
        # And to standard output, a pipe.
        MMTOOLS_WINDOW=$window mminvert "$@" -o - "$T/f" | cat > "$T/o" ||
            fail "-o -: status $? with window $window"
        assert_same_bytes "$T/want" "$T/o"
        assert_same_bytes "$T/in" "$T/f"
    done
}

# ---- modes ------------------------------------------------------------------

@test "reverses the order of the bytes" {
    random_file "$T/in" 1000 1
    perl_of "$T/in" '$_ = reverse $_' "$T/want"
    assert_inverts_to
}

@test "-c replaces every byte by its complement" {
    random_file "$T/in" 1000 2
    perl_of "$T/in" '$_ = ~$_' "$T/want"
    assert_inverts_to -c
}

@test "-l reverses the lines as tac does" {
    printf 'first\n\nthird line\n\n\nlast\n' > "$T/in"
    tac "$T/in" > "$T/want"
    assert_inverts_to -l
    random_file "$T/in" 3000 3 $'ab\n'
    printf '\n' >> "$T/in"
    tac "$T/in" > "$T/want"
    assert_inverts_to --lines
}

@test "-l keeps a last line without a newline without one" {
    printf 'a\nbb\nccc' > "$T/in"
    printf 'ccc\nbb\na' > "$T/want"
    assert_inverts_to -l
}

@test "-l reverses a line longer than a window" {
    { head -c 100 /dev/zero | tr '\0' x; printf '\nshort\n'; } > "$T/in"
    tac "$T/in" > "$T/want"
    assert_inverts_to -l
}

@test "-z reverses lines that end in NUL" {
    printf 'one\0two\0three\0' > "$T/in"
    printf 'three\0two\0one\0' > "$T/want"
    assert_inverts_to -z
    tr '\0\n' '\n\0' < "$T/in" > "$T/nl"
    tac "$T/nl" | tr '\0\n' '\n\0' > "$T/want"
    assert_inverts_to --zero-terminated
}

@test "-r reverses the order of fixed-size records" {
    printf 'AAABBBCCCDDD' > "$T/in"
    printf 'DDDCCCBBBAAA' > "$T/want"
    assert_inverts_to -r 3
    random_file "$T/in" 1200 4
    perl_of "$T/in" '$_ = join "", reverse unpack "(a100)*", $_' "$T/want"
    assert_inverts_to --records=100
}

@test "--offset and --length restrict a mode to a region" {
    random_file "$T/in" 300 5
    perl_of "$T/in" 'substr($_, 54) = ~substr($_, 54)' "$T/want"
    assert_inverts_to -c --offset=54
    perl_of "$T/in" 'substr($_, 10, 100) = reverse substr($_, 10, 100)' "$T/want"
    assert_inverts_to --offset=10 --length=100
    perl_of "$T/in" 'substr($_, 20, 60) = join "", reverse unpack "(a6)*", substr($_, 20, 60)' "$T/want"
    assert_inverts_to -r 6 --offset 20 --length 60
}

@test "sizes take units" {
    random_file "$T/in" 3000 6
    perl_of "$T/in" 'substr($_, 1024) = reverse substr($_, 1024)' "$T/want"
    assert_inverts_to --offset=1K
    perl_of "$T/in" 'substr($_, 1000, 1024) = reverse substr($_, 1000, 1024)' "$T/want"
    assert_inverts_to --offset=1000 --length=1k
}

@test "files large enough for two threads give the same results" {
    # Windows of 1 GiB, and of 3 MB, so that both are cut between threads.
    WINDOWS="1G 3000001"
    random_file "$T/in" 4199999 9 $'abc\n'
    printf '\n' >> "$T/in"
    tac "$T/in" > "$T/want"
    assert_inverts_to -l
    perl_of "$T/in" '$_ = reverse $_' "$T/want"
    assert_inverts_to
    perl_of "$T/in" '$_ = ~$_' "$T/want"
    assert_inverts_to -c
    perl_of "$T/in" '$_ = join "", reverse unpack "(a7)*", $_' "$T/want"
    assert_inverts_to -r 7
    # A first line past where the threads' parts meet: after reversing
    # all bytes, it is the last run, with no line end after the split.
    { seq -s, 300000 | tr -d '\n'; printf '\nab\n'; } > "$T/in"
    tac "$T/in" > "$T/want"
    assert_inverts_to -l
}

@test "-l gives tac's lines whatever blocks, parts and windows they cross" {
    # Lines reversed as their bytes become final: short ones inside the
    # 64 KiB blocks, ones across blocks, and ones longer than a thread's
    # part or a window (no line end in a whole part), empty ones too.
    perl -e 'srand(7); my $text = join "", map { chr(97 + rand 26) } 1..1400000;
             for my $i (1..3000) {
                 my $r = rand; my $n = $r < 0.9 ? int rand 90 : $r < 0.997
                     ? 60000 + int rand 20000 : 1300000 + int rand 9;
                 print substr($text, rand(1400000 - $n), $n), "\n" }' > "$T/in"
    tac "$T/in" > "$T/want"
    WINDOWS="1G 3000001 1000003 65537" assert_inverts_to -l
    # The same through the portable code where the vector code is taken.
    MMTOOLS_NO_SIMD=1 WINDOWS="1G 1000003" assert_inverts_to -l
    # Without a final newline, and with NUL line ends.
    truncate -s -1 "$T/in"
    perl_of "$T/in" '$_ = join "\n", reverse split /\n/, $_, -1' "$T/want"
    WINDOWS="1G 1000003" assert_inverts_to -l
    tr '\n' '\0' < "$T/in" > "$T/z" && mv "$T/z" "$T/in"
    tr '\n' '\0' < "$T/want" > "$T/z" && mv "$T/z" "$T/want"
    WINDOWS="1G 1000003" assert_inverts_to -z
}

@test "every mode run twice restores the file" {
    local seed mode
    for seed in 1 2 3 4 5 6 7 8; do
        # A first line that is not empty: a file whose first line is
        # empty and whose last has no end is the exception (mminvert(1)).
        random_file "$T/random" $((seed * 97)) "$seed" $'ab\n\0'
        { printf zz; cat "$T/random"; } > "$T/orig"
        for mode in "" -c -l -z "-r 1" "--offset=1 -l" "--length=5 -c"; do
            cp "$T/orig" "$T/in"
            cp "$T/orig" "$T/want"
            # shellcheck disable=SC2086 # the mode's words
            MMTOOLS_WINDOW=5 mminvert $mode "$T/in"
            # shellcheck disable=SC2086
            MMTOOLS_WINDOW=3 mminvert $mode "$T/in"
            cmp -s "$T/in" "$T/want" || fail "'$mode' twice changed seed $seed"
        done
    done
}

@test "an empty file stays empty" {
    : > "$T/in"
    : > "$T/want"
    assert_inverts_to
    assert_inverts_to -l
    assert_inverts_to -r 4
}

# ---- in place and -o ------------------------------------------------------

@test "changes the file in place, keeping its inode" {
    require_posix "inode numbers"
    printf 'abc' > "$T/f"
    local before
    before=$(stat -c %i "$T/f")
    run mminvert "$T/f"
    assert_success
    [ "$(cat "$T/f")" = cba ]
    [ "$(stat -c %i "$T/f")" = "$before" ]
}

@test "changes several files in turn" {
    printf 'abc' > "$T/a"
    printf '123' > "$T/b"
    run mminvert "$T/a" "$T/b"
    assert_success
    [ "$(cat "$T/a")$(cat "$T/b")" = cba321 ]
}

@test "-o writes the result to OUTPUT and leaves FILE as it was" {
    printf 'one\ntwo\n' > "$T/f"
    printf 'old\n' > "$T/out"
    run mminvert -l -o "$T/out" "$T/f"
    assert_success
    [ "$(cat "$T/f")" = "$(printf 'one\ntwo')" ]
    [ "$(cat "$T/out")" = "$(printf 'two\none')" ]
    run mminvert --output="$T/new" -c --offset=1 "$T/f"
    assert_success
    perl_of "$T/f" 'substr($_, 1) = ~substr($_, 1)' "$T/want"
    assert_same_bytes "$T/want" "$T/new"
}

@test "-o sends the output on its way to disk as it is made" {
    require_posix "sync_file_range is Linux's"
    command -v strace > /dev/null || skip "strace is not installed"
    # 20 MB: the threads' parts each pass the 8 MiB after which the part
    # made so far goes on to disk, before the commit's flush.
    random_file "$T/in" 999 5 $'ab\n'
    printf '\n' >> "$T/in"
    for i in $(seq 20000); do cat "$T/in"; done > "$T/big"
    tac "$T/big" > "$T/want"
    # LeakSanitizer cannot work under ptrace.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        run strace -f -o "$T/trace" -e trace=sync_file_range \
        "$(tool_path mminvert)" -l -o "$T/o" "$T/big"
    assert_success
    assert_same_bytes "$T/want" "$T/o"
    grep -q 'sync_file_range(.*SYNC_FILE_RANGE_WRITE' "$T/trace" ||
        fail "no writeback started: $(cat "$T/trace")"
    # Not the scratch file of -o -, which is never kept.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -f -o "$T/trace" -e trace=sync_file_range \
        "$(tool_path mminvert)" -l -o - "$T/big" > "$T/o"
    assert_same_bytes "$T/want" "$T/o"
    ! grep -q 'sync_file_range(' "$T/trace" || fail "scratch sent to disk"
}

@test "-o may name FILE itself" {
    printf 'abc' > "$T/f"
    run mminvert -o "$T/f" "$T/f"
    assert_success
    [ "$(cat "$T/f")" = cba ]
}

@test "-o that cannot be written leaves nothing behind" {
    require_posix "permissions"
    mkdir "$T/locked"
    printf 'abc' > "$T/f"
    let_others_in
    chmod 555 "$T/locked" && chmod 644 "$T/f"
    run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$(tool_path mminvert)" -o "$T/locked/out" "$T/f"
    assert_failure 1
    [ "$stderr" = "mminvert: $T/locked/out: Permission denied" ]
    [ -z "$(ls -A "$T/locked")" ]
}

@test "-o into something that is not a regular file is refused" {
    require_posix "/dev/null"
    printf 'abc' > "$T/f"
    run --separate-stderr mminvert -o /dev/null "$T/f"
    assert_failure 1
    [ "$stderr" = "mminvert: /dev/null: not a regular file" ]
}

@test "an interrupted run leaves the file whole: as it was, or inverted" {
    require_posix "signals"
    head -c 200000000 /dev/urandom > "$T/orig"
    perl_of "$T/orig" '$_ = reverse $_' "$T/reversed"
    local round status
    for round in 1 2 3; do
        cp "$T/orig" "$T/f"
        "$(tool_path mminvert)" "$T/f" &
        local pid=$!
        # Most often the signal comes mid-run; whenever it comes, the file
        # must be whole.
        sleep "0.0$round"
        kill -TERM "$pid" 2> /dev/null || true # (SIGINT: ignored by background jobs here) it may be done already
        status=0
        wait "$pid" || status=$?
        [ "$status" -eq 0 ] || [ "$status" -eq 143 ] || fail "status $status"
        cmp -s "$T/f" "$T/orig" || cmp -s "$T/f" "$T/reversed" || fail "a half-changed file"
    done
}

@test "--progress changes nothing in the result and ends its line" {
    random_file "$T/in" 5000 7
    perl_of "$T/in" '$_ = reverse $_' "$T/want"
    run --separate-stderr mminvert --progress "$T/in"
    assert_success
    assert_same_bytes "$T/want" "$T/in"
    [[ "$stderr" != *$'\n'* ]] || fail "the progress line scrolled: $stderr"
}

# ---- errors -------------------------------------------------------------------

@test "a missing file is reported and the others are still changed" {
    printf 'abc' > "$T/a"
    run --separate-stderr mminvert "$T/missing" "$T/a"
    assert_failure 1
    assert_error "$stderr" "mminvert: $T/missing" "No such file or directory"
    [ "$(cat "$T/a")" = cba ]
}

@test "a directory is refused" {
    run --separate-stderr mminvert "$T"
    assert_failure 1
    assert_error "$stderr" "mminvert: $T" "Is a directory"
}

@test "a FIFO or a device is refused without blocking" {
    require_posix "FIFOs and devices"
    mkfifo "$T/fifo"
    run --separate-stderr timeout 10 "$(tool_path mminvert)" "$T/fifo"
    assert_failure 1
    [ "$stderr" = "mminvert: $T/fifo: not a regular file" ]
    run --separate-stderr mminvert /dev/zero
    assert_failure 1
    [ "$stderr" = "mminvert: /dev/zero: not a regular file" ]
}

@test "a read-only file is refused and left as it was" {
    require_posix "permissions"
    printf 'abc' > "$T/ro"
    chmod 444 "$T/ro"
    let_others_in
    run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$(tool_path mminvert)" "$T/ro"
    assert_failure 1
    [ "$stderr" = "mminvert: $T/ro: Permission denied" ]
    [ "$(cat "$T/ro")" = abc ]
}

@test "a size that is not a whole number of records is refused, the file untouched" {
    printf 'abcdefg' > "$T/f"
    run --separate-stderr mminvert -r 3 "$T/f"
    assert_failure 1
    [ "$stderr" = "mminvert: $T/f: 7 bytes are not a whole number of 3-byte records" ]
    [ "$(cat "$T/f")" = abcdefg ]
}

@test "a region past the end of the file is refused, the file untouched" {
    printf 'abcdefg' > "$T/f"
    run --separate-stderr mminvert --offset=8 "$T/f"
    assert_failure 1
    [ "$stderr" = "mminvert: $T/f: offset 8 is past the end of the file (7 bytes)" ]
    run --separate-stderr mminvert --offset=2 --length=6 "$T/f"
    assert_failure 1
    [ "$stderr" = "mminvert: $T/f: offset and length reach past the end of the file (7 bytes)" ]
    run --separate-stderr mminvert --length=18446744073709551615 "$T/f"
    assert_failure 1
    [ "$stderr" = "mminvert: $T/f: offset and length reach past the end of the file (7 bytes)" ]
    [ "$(cat "$T/f")" = abcdefg ]
}

@test "usage errors exit 2" {
    printf 'abc' > "$T/f"
    run --separate-stderr mminvert
    assert_failure 2
    [ "${stderr%%$'\n'*}" = "mminvert: missing file operand" ]
    local args
    for args in "-r 0" "-r x" "-r 3Q" "--offset=-1" "--length=" "-c -l" "-l -r 2" \
                "-o $T/out $T/f" "--bogus"; do
        # shellcheck disable=SC2086 # the arguments' words
        run --separate-stderr mminvert $args "$T/f"
        [ "$status" -eq 2 ] || fail "'$args': status $status"
        [[ "$stderr" == *"Try 'mminvert --help' for more information." ]] || fail "'$args': $stderr"
    done
    [ "$(cat "$T/f")" = abc ]
}

@test "--help and --version" {
    run mminvert --help
    assert_success
    assert_line --index 0 "Usage: mminvert [OPTION]... FILE..."
    run mminvert --version
    assert_success
    assert_output --regexp '^mminvert \(mmtools\) [0-9.]+$'
}

@test "-o - writes the result to standard output, a file or a pipe, and leaves nothing behind" {
    printf 'one\ntwo\nthree\n' > "$T/f"
    mkdir "$T/tmp"
    TMPDIR=$T/tmp mminvert -l -o - "$T/f" > "$T/o"
    tac "$T/f" > "$T/want"
    assert_same_bytes "$T/want" "$T/o"
    # Written at standard output's offset, after what came before.
    { printf 'head\n'; TMPDIR=$T/tmp mminvert -l -o - "$T/f"; printf 'tail\n'; } > "$T/o"
    { printf 'head\n'; tac "$T/f"; printf 'tail\n'; } > "$T/want"
    assert_same_bytes "$T/want" "$T/o"
    # (Wine keeps a directory of its own there.)
    [ -z "$(find "$T/tmp" -name '.mm*')" ]
}

@test "-o - refuses standard output that is FILE itself" {
    printf 'one\ntwo\n' > "$T/f"
    cp "$T/f" "$T/want"
    run --separate-stderr bash -c "$(tool_command mminvert) -l -o - \"\$1\" >> \"\$1\"" _ "$T/f"
    assert_failure 1
    [ "$stderr" = "mminvert: $T/f: input file is output file" ]
    assert_same_bytes "$T/want" "$T/f"
}

@test "-o - into a full device is a write error" {
    require_posix "/dev/full"
    printf 'one\ntwo\n' > "$T/f"
    run --separate-stderr bash -c "$(tool_command mminvert) -o - \"\$1\" > /dev/full" _ "$T/f"
    assert_failure 1
    [ "$stderr" = "mminvert: write error: No space left on device" ]
}
