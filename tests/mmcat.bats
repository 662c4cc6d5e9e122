#!/usr/bin/env bats
# mmcat: what mmcat(1) promises, one behaviour a test.  Where GNU cat has
# the same behaviour the expected bytes come from cat itself as well.

bats_require_minimum_version 1.5.0
load common

mmcat() { run_tool mmcat "$@"; }

# A sample with every byte value, blank runs, tabs, CRLF and no final newline.
make_sample() {
    {
        printf 'first line\n\n\n\nafter three blanks\n'
        printf 'tab\there\r\ncrlf\r\n\r\n'
        printf '\x00\x01\x1f\x7f\x80\x9f\xa0\xfe\xff\n'
        awk 'BEGIN { for (i = 0; i < 256; i++) printf "%c", i }'
        printf '\nno final newline'
    } > "$1"
}

# Runs mmcat and GNU cat with the same arguments; fails unless the bytes
# and the exit status agree.
same_as_cat() {
    local want got
    cat "$@" > "$T/want" 2>/dev/null && want=0 || want=$?
    mmcat "$@" > "$T/got" 2>/dev/null && got=0 || got=$?
    assert_same_bytes "$T/want" "$T/got"
    [ "$want" -eq "$got" ] || fail "exit status $got, cat gave $want"
}

# ---- copying ----------------------------------------------------------------

@test "copies a file byte for byte" {
    make_sample "$T/s"
    mmcat "$T/s" > "$T/out"
    assert_same_bytes "$T/s" "$T/out"
}

@test "concatenates files in order" {
    printf 'one\n' > "$T/a"
    printf 'two' > "$T/b"
    run mmcat "$T/a" "$T/b" "$T/a"
    assert_success
    assert_output "$(printf 'one\ntwoone')"
}

@test "reads standard input without operands" {
    run mmcat <<< "from stdin"
    assert_success
    assert_output "from stdin"
}

@test "reads standard input for - between files" {
    printf 'a\n' > "$T/a"
    run mmcat "$T/a" - "$T/a" <<< "middle"
    assert_output "$(printf 'a\nmiddle\na')"
}

@test "reads files whose names are not ASCII" {
    printf 'utf\n' > "$T/café ü.txt"
    run --separate-stderr mmcat -n "$T/café ü.txt" "$T/nové ü"
    assert_failure 1
    assert_output "     1	utf"
    assert_error "$stderr" "mmcat: '$T/nové ü'" "No such file or directory"
}

@test "an empty file gives no output" {
    : > "$T/empty"
    run mmcat "$T/empty" "$T/empty"
    assert_success
    assert_output ""
}

@test "copies into a regular file, a pipe and /dev/null" {
    make_sample "$T/s"
    mmcat "$T/s" "$T/s" > "$T/file"
    cat "$T/s" "$T/s" > "$T/want"
    assert_same_bytes "$T/want" "$T/file"
    mmcat "$T/s" "$T/s" | cat > "$T/piped"
    assert_same_bytes "$T/want" "$T/piped"
    mmcat "$T/s" > /dev/null
}

@test "appends to a file opened for appending" {
    printf 'old\n' > "$T/out"
    printf 'new\n' > "$T/a"
    mmcat "$T/a" >> "$T/out"
    mmcat -n "$T/a" >> "$T/out"
    printf 'old\nnew\n     1\tnew\n' > "$T/want"
    assert_same_bytes "$T/want" "$T/out"
}

@test "copies a large file through a pipe unchanged" {
    head -c 5000000 /dev/urandom > "$T/big"
    mmcat "$T/big" | cat > "$T/out"
    assert_same_bytes "$T/big" "$T/out"
}

@test "standard input that is a file is read from its current position" {
    printf 'skip-rest\nmore\n' > "$T/f"
    { dd bs=1 count=5 of=/dev/null status=none; mmcat; } < "$T/f" > "$T/plain"
    { dd bs=1 count=5 of=/dev/null status=none; mmcat -n; } < "$T/f" > "$T/numbered"
    printf 'rest\nmore\n' > "$T/want"
    assert_same_bytes "$T/want" "$T/plain"
    printf '     1\trest\n     2\tmore\n' > "$T/want"
    assert_same_bytes "$T/want" "$T/numbered"
}

@test "reads a /proc file whose reported size is 0" {
    require_posix "/proc"
    same_as_cat /proc/self/mounts
    run mmcat -n /proc/version
    assert_output "$(cat -n /proc/version)"
}

# ---- options ------------------------------------------------------------------

@test "-n numbers every line" {
    printf 'a\n\nb\n' > "$T/f"
    mmcat -n "$T/f" > "$T/out"
    printf '     1\ta\n     2\t\n     3\tb\n' > "$T/want"
    assert_same_bytes "$T/want" "$T/out"
}

@test "-b numbers nonempty lines and overrides -n" {
    printf 'a\n\nb\n' > "$T/f"
    printf '     1\ta\n\n     2\tb\n' > "$T/want"
    mmcat -b "$T/f" > "$T/out"
    assert_same_bytes "$T/want" "$T/out"
    mmcat -nb "$T/f" > "$T/out"
    assert_same_bytes "$T/want" "$T/out"
}

@test "-s keeps at most one empty line in a row" {
    printf '\n\n\na\n\n\n\nb\n\n' > "$T/f"
    mmcat -s "$T/f" > "$T/out"
    printf '\na\n\nb\n\n' > "$T/want"
    assert_same_bytes "$T/want" "$T/out"
}

@test "-E ends lines with \$ and shows the CR of a CRLF as ^M" {
    printf 'a\r\nb\rc\n\r' > "$T/f"
    mmcat -E "$T/f" > "$T/out"
    printf 'a^M$\nb\rc$\n\r' > "$T/want"
    assert_same_bytes "$T/want" "$T/out"
}

@test "-E joins a CR at the end of one file to the LF starting the next" {
    printf 'a\r' > "$T/a"
    printf '\nb\n' > "$T/b"
    run mmcat -E "$T/a" "$T/b"
    assert_output "$(printf 'a^M$\nb$')"
}

@test "-T shows tabs as ^I" {
    run mmcat -T <<< "$(printf 'a\tb')"
    assert_output "a^Ib"
}

@test "-v shows control and high bytes in ^ and M- notation" {
    printf '\x01\t\x7f\x80\x89\xff\xe9\n' > "$T/f"
    mmcat -v "$T/f" > "$T/out"
    printf '^A\t^?M-^@M-^IM-^?M-i\n' > "$T/want"
    assert_same_bytes "$T/want" "$T/out"
}

@test "-A -e -t combine -v with -E and -T" {
    printf '\x01\t\r\n' > "$T/f"
    run mmcat -A "$T/f"
    assert_output '^A^I^M$'
    run mmcat -e "$T/f"
    assert_output "$(printf '^A\t^M$')"
    run mmcat -t "$T/f"
    assert_output '^A^I^M'
}

@test "long options mean the same as short ones" {
    make_sample "$T/s"
    mmcat --number --squeeze-blank --show-ends --show-tabs --show-nonprinting "$T/s" > "$T/long"
    mmcat -nsETv "$T/s" > "$T/short"
    assert_same_bytes "$T/short" "$T/long"
    mmcat --show-all --number-nonblank "$T/s" > "$T/long"
    mmcat -Ab "$T/s" > "$T/short"
    assert_same_bytes "$T/short" "$T/long"
}

@test "-u changes nothing" {
    make_sample "$T/s"
    mmcat -u "$T/s" > "$T/out"
    assert_same_bytes "$T/s" "$T/out"
}

@test "numbering and squeezing carry on across files" {
    printf 'a\n\n' > "$T/a"
    printf '\n\nb' > "$T/b"
    printf 'c\n' > "$T/c"
    mmcat -ns "$T/a" "$T/b" "$T/c" > "$T/out"
    printf '     1\ta\n     2\t\n     3\tbc\n' > "$T/want"
    assert_same_bytes "$T/want" "$T/out"
}

@test "line numbers count through every carry and widen past 999999" {
    # Every third line empty, the others of 1 to 7 digits: up to 32 line
    # ends in 64 bytes, and each count from 9s to the next number.
    awk 'BEGIN { for (i = 0; i < 1000002; i++) print (i % 3 ? i : "") }' > "$T/f"
    same_as_cat -n "$T/f"
    run mmcat -n "$T/f"
    [ "${lines[999998]}" = "999999	999998" ]
    [ "${lines[999999]}" = "1000000	" ]
    [ "${lines[1000001]}" = "1000002	1000001" ]
    MMTOOLS_FORCE_LANES=1 same_as_cat -n "$T/f"
    same_as_cat -n "$T/f" "$T/f" # the second file goes on from 1000003
    # Eight digits, the most the count in registers takes.
    head -c 10000002 /dev/zero | tr '\0' '\n' > "$T/f"
    cmp <(cat -n "$T/f") <(mmcat -n "$T/f")
}

@test "every option combination matches GNU cat on every byte value" {
    make_sample "$T/s"
    printf '\n\n' > "$T/blank"
    local opts
    for opts in -A -b -e -E -n -s -t -T -u -v -bs -ns -nE -bE -sE -nT -nv -An -Ab -As -Ens -vET -bsA; do
        same_as_cat "$opts" "$T/s" "$T/blank" "$T/s"
    done
}

@test "options match GNU cat on a very long line" {
    { head -c 3000000 /dev/zero | tr '\0' 'x'; printf '\t\r\n\n\n'; } > "$T/long"
    local opts
    for opts in -n -b -s -E -T -v -A; do
        same_as_cat "$opts" "$T/long" "$T/long"
    done
}

@test "options match GNU cat on a file large enough for two threads" {
    # Over 4 MiB: into /dev/null (here: forced), mmcat cuts it into chunks
    # formatted by two threads.
    awk 'BEGIN { srand(7); for (i = 0; i < 400000; i++) {
        r = rand()
        if (r < 0.2) printf "\n\n\n"
        else if (r < 0.25) printf "crlf\r\n"
        else if (r < 0.3) printf "%c\t\n", int(rand() * 255) + 1
        else printf "line %d of words\n", i } }' > "$T/big"
    local opts
    for opts in -n -b -s -ns -bs -E -A -sE -nA -v -T; do
        same_as_cat "$opts" "$T/big" "$T/big"
        MMTOOLS_FORCE_LANES=1 same_as_cat "$opts" "$T/big" "$T/big"
    done
}

@test "chunk boundaries inside CRLFs, empty-line runs and lines change nothing" {
    # The two threads cut at 2 MiB steps (and 7/16 of that when numbering):
    # put awkward bytes across each of those cuts.
    yes 'word word' | head -c 8000000 > "$T/f"
    place() { printf "$2" | dd of="$T/f" bs=1 seek="$1" conv=notrunc status=none; }
    place $((2097152 - 1)) '\r\n'
    place $((3014656 - 2)) '\n\n\n\n'
    place $((4194304 - 2)) '\r\n\n\n'
    place $((5111808 - 1)) 'xy'
    place $((6029312 - 1)) '\n\n'
    place $((6291456 - 1)) '\rx'
    local opts
    for opts in -n -b -s -ns -bs -E -nE -sE -A -bA -T; do
        same_as_cat "$opts" "$T/f" "$T/f"
        MMTOOLS_FORCE_LANES=1 same_as_cat "$opts" "$T/f" "$T/f"
    done
}

@test "options match GNU cat on input arriving through a pipe in pieces" {
    make_sample "$T/s"
    for i in 1 2 3 4 5 6 7 8; do cat "$T/s"; done > "$T/s8"
    local opts
    for opts in -n -b -s -E -A -vT; do
        cat "$opts" "$T/s8" > "$T/want"
        dd if="$T/s8" bs=1021 status=none | mmcat "$opts" > "$T/got"
        assert_same_bytes "$T/want" "$T/got"
    done
}

@test "-- ends the options" {
    printf 'dash\n' > "$T/-n"
    cd "$T"
    run mmcat -- -n
    assert_success
    assert_output "dash"
}

# ---- --help, --version, usage errors ----------------------------------------

@test "--help prints usage on standard output and exits 0" {
    run --separate-stderr mmcat --help
    assert_success
    assert_line --index 0 "Usage: mmcat [OPTION]... [FILE]..."
    [ -z "$stderr" ]
}

@test "--version prints the name and version and exits 0" {
    run mmcat --version
    assert_success
    assert_output --regexp '^mmcat \(mmtools\) [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "an unknown option is a usage error with status 2" {
    run --separate-stderr mmcat -z
    assert_failure 2
    [ -z "$output" ]
    [ "$stderr" = "$(printf "mmcat: invalid option -- 'z'\nTry 'mmcat --help' for more information.")" ]
}

@test "an unknown long option is a usage error with status 2" {
    run --separate-stderr mmcat --frobnicate
    assert_failure 2
    [ "${stderr_lines[0]}" = "mmcat: unrecognized option '--frobnicate'" ]
}

# ---- failures ---------------------------------------------------------------------

@test "a missing file is reported and the other files are still copied" {
    printf 'a\n' > "$T/a"
    printf 'b\n' > "$T/b"
    run --separate-stderr mmcat "$T/a" "$T/missing" "$T/b"
    assert_failure 1
    assert_output "$(printf 'a\nb')"
    assert_error "$stderr" "mmcat: $T/missing" "No such file or directory"
}

@test "a directory is reported and the other files are still copied" {
    printf 'a\n' > "$T/a"
    mkdir "$T/dir"
    for opts in -u -n; do
        run --separate-stderr mmcat "$opts" "$T/dir" "$T/a"
        assert_failure 1
        [ "$stderr" = "mmcat: $T/dir: Is a directory" ]
    done
}

@test "an unreadable file is reported" {
    require_posix "POSIX permissions"
    command -v setpriv > /dev/null || skip "setpriv is not installed"
    printf 'secret\n' > "$T/secret"
    chmod 600 "$T/secret"
    chmod 755 "$T"
    run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$(tool_path mmcat)" "$T/secret"
    assert_failure 1
    [ "$stderr" = "mmcat: $T/secret: Permission denied" ]
}

@test "a file is not appended to itself" {
    printf 'content\n' > "$T/f"
    run --separate-stderr bash -c "$(tool_command mmcat) \"\$1\" >> \"\$1\"" _ "$T/f"
    assert_failure 1
    [ "$stderr" = "mmcat: $T/f: input file is output file" ]
    [ "$(cat "$T/f")" = "content" ]
}

# Runs bash script $1, in which mmcat is a command, with the remaining
# arguments as "$@" and the file-size limit low, so that output read back
# in cannot fill the disk.
run_bounded() {
    local script=$1
    shift
    run --separate-stderr bash -c "ulimit -f 1000; mmcat() { $(tool_command mmcat) \"\$@\"; }; $script" _ "$@"
}

@test "an input that is the output is refused after earlier files wrote to it" {
    printf 'a\n' > "$T/a"
    for opts in -u -n; do
        : > "$T/f"
        run_bounded 'mmcat "$@" >> "$3"' "$opts" "$T/a" "$T/f"
        assert_failure 1
        [ "$stderr" = "mmcat: $T/f: input file is output file" ]
        cat "$opts" "$T/a" > "$T/want"
        assert_same_bytes "$T/want" "$T/f"
    done
    : > "$T/f"
    run_bounded 'mmcat "$@" 1<> "$3"' -E "$T/a" "$T/f"
    assert_failure 1
    [ "$stderr" = "mmcat: $T/f: input file is output file" ]
    [ "$(cat "$T/f")" = 'a$' ]
}

@test "an empty input that is the output is read as empty" {
    : > "$T/f"
    run_bounded 'mmcat "$@" >> "$2"' -n "$T/f"
    assert_success
    [ -z "$stderr" ]
    [ ! -s "$T/f" ]
}

@test "each file's output is written before the next file is opened" {
    printf 'a\n' > "$T/a"
    printf 'b\n' > "$T/b"
    run mmcat -n "$T/a" "$T/missing" "$T/b"
    assert_failure 1
    assert_line --index 0 "     1	a"
    assert_error "${lines[1]}" "mmcat: $T/missing" "No such file or directory"
    assert_line --index 2 "     2	b"
}

@test "a write error ends mmcat before it opens the next file" {
    require_posix "/dev/full and FIFOs"
    printf 'a\n' > "$T/a"
    mkfifo "$T/fifo"
    # The FIFO has no writer: opening it would block for ever.
    run --separate-stderr timeout 10 bash -c '"$@" > /dev/full' _ \
        "$(tool_path mmcat)" -n "$T/a" "$T/missing" "$T/fifo" "$T/a"
    assert_failure 1
    [ "$stderr" = "mmcat: write error: No space left on device" ]
    # A pipe whose reader has gone: SIGPIPE, before the FIFO is opened.
    mkfifo "$T/pipe"
    run timeout 10 bash -c 'exec 3<> "$1" 4> "$1" 3<&-; exec "$2" -n "$3" "$4" >&4' \
        _ "$T/pipe" "$(tool_path mmcat)" "$T/a" "$T/fifo"
    [ "$status" -eq $((128 + 13)) ]
}

# Runs mmcat on file $3, plain and formatted, in bash script $1 (which
# gets mmcat's command line as "$@"); fails unless each run reports write
# error $2 and exits 1.
expect_write_error() {
    local opts
    for opts in -u -n; do
        run --separate-stderr bash -c "$1" _ "$(tool_path mmcat)" "$opts" "$3"
        assert_failure 1
        [ "$stderr" = "mmcat: write error: $2" ]
    done
}

@test "a full output device is a write error, plain and formatted" {
    require_posix "/dev/full"
    printf 'a\n' > "$T/a"
    expect_write_error '"$@" > /dev/full' "No space left on device" "$T/a"
    # Large enough for the helper lane, which runs into a device.
    head -c 3000000 /dev/zero > "$T/z"
    expect_write_error '"$@" > /dev/full' "No space left on device" "$T/z"
}

@test "a file-size limit is a write error, not a killing signal" {
    require_posix "ulimit -f"
    head -c 100000 /dev/zero > "$T/z"
    expect_write_error "ulimit -f 10; \"\$@\" > '$T/out'" "File too large" "$T/z"
}

@test "a reader that goes away ends mmcat without a message" {
    head -c 3000000 /dev/zero > "$T/z"
    for opts in -u -n; do
        # SIGPIPE ignored (and on Windows, which has none): EPIPE ends
        # mmcat quietly with status 1, also with the helper lane formatting.
        run --separate-stderr bash -c "trap '' PIPE; set -o pipefail; $(tool_command mmcat) $opts \"\$1\" | head -c 1 > /dev/null" _ "$T/z"
        assert_failure 1
        [ -z "$stderr" ]
        run --separate-stderr bash -c "trap '' PIPE; set -o pipefail; MMTOOLS_FORCE_LANES=1 $(tool_command mmcat) $opts \"\$1\" | head -c 1 > /dev/null" _ "$T/z"
        assert_failure 1
        [ -z "$stderr" ]
        [ -z "$MMTOOLS_RUNNER" ] || continue
        # SIGPIPE as most shells leave it: the signal ends mmcat quietly.
        run --separate-stderr bash -c "set -o pipefail; $(tool_command mmcat) $opts \"\$1\" | head -c 1 > /dev/null" _ "$T/z"
        [ "$status" -eq 141 ]
        [ -z "$stderr" ]
    done
}

# Runs mmcat with options $1 on a large file, then the files $2...,
# truncated from this side (truncate works while a Wine process maps the
# file) once mmcat waits on a full FIFO with its window mapped; fails
# unless mmcat reports the shrinking and exits 1.  The output from the
# second byte on is left in $T/out.
expect_shrank_error() {
    head -c 30000000 /dev/zero | tr '\0' 'x' | fold -w 99 > "$T/shrinking"
    rm -f "$T/fifo"
    mkfifo "$T/fifo"
    ( rc=0; $MMTOOLS_RUNNER "$(tool_path mmcat)" $1 "$T/shrinking" "${@:2}" > "$T/fifo" 2> "$T/err" || rc=$?
      echo $rc > "$T/status" ) &
    local writer=$!
    { head -c 1 > /dev/null; truncate -s 0 "$T/shrinking"; cat > "$T/out"; } < "$T/fifo"
    wait "$writer"
    [ "$(cat "$T/status")" = 1 ] || fail "mmcat $1: status $(cat "$T/status"): $(head -c 300 "$T/err")"
    [ "$(head -n 1 "$T/err")" = "mmcat: $T/shrinking: file shrank while it was being read" ] ||
        fail "mmcat $1: $(head -c 300 "$T/err")"
}

@test "a file truncated while it is read is an error, not a crash" {
    local opts
    for opts in -n -v -nA; do
        expect_shrank_error "$opts"
        MMTOOLS_FORCE_LANES=1 expect_shrank_error "$opts"
    done
}

@test "numbering goes on past every line printed from a file that shrank" {
    printf 'SECOND\n' > "$T/second"
    local opts last before
    for opts in -n -nA; do
        for lanes in '' 1; do
            MMTOOLS_FORCE_LANES=$lanes expect_shrank_error "$opts" "$T/second"
            last=$(tail -n 1 "$T/out")
            [[ $last =~ ^\ *([0-9]+)$'\t'SECOND ]] || fail "mmcat $opts: ends in '$last'"
            before=$(head -n -1 "$T/out" |
                awk -F '\t' '$1 + 0 > max { max = $1 + 0 } END { print max + 0 }')
            [ "${BASH_REMATCH[1]}" -gt "$before" ] ||
                fail "mmcat $opts: SECOND is line ${BASH_REMATCH[1]}, after line $before"
        done
    done
}

@test "a file truncated during a plain copy is an error, not a crash" {
    # Natively the kernel copies (splice into the FIFO), and it takes the
    # new end for the end, as cat's reads do.
    [ -n "$MMTOOLS_RUNNER" ] || skip "the kernel's copy sees no error (native)"
    expect_shrank_error -u
}

# Runs mmcat with its arguments and standard output a non-blocking pipe
# that nobody reads until mmcat has ended.
run_into_nonblocking_pipe() {
    mkfifo "$T/ended"
    run --separate-stderr bash -c '
        { perl -MFcntl -e "fcntl(STDOUT, F_SETFL, fcntl(STDOUT, F_GETFL, 0) | O_NONBLOCK) or die; exec @ARGV" "${@:2}"
          echo $? > "$1.status"; echo > "$1"; } | { read -r _ < "$1"; cat > /dev/null; }
        exit "$(cat "$1.status")"' _ "$T/ended" "$(tool_path mmcat)" "$@"
}

@test "a pipe that cannot take more is a write error, plain and formatted" {
    require_posix "non-blocking pipes"
    head -c 3000000 /dev/zero | tr '\0' 'y' | fold -w 60 > "$T/big"
    for opts in -u -n; do
        rm -f "$T/ended"
        run_into_nonblocking_pipe "$opts" "$T/big"
        assert_failure 1
        [ "$stderr" = "mmcat: write error: Resource temporarily unavailable" ]
    done
}

@test "a SIGBUS sent by another process is not taken for a shrunken file" {
    require_posix "signals"
    head -c 3000000 /dev/zero | tr '\0' 'x' | fold -w 99 > "$T/big"
    mkfifo "$T/fifo"
    ulimit -c 0
    "$(tool_path mmcat)" -n "$T/big" > "$T/fifo" 2> "$T/err" &
    local pid=$! status=0
    # Once head has read, mmcat waits on the full pipe, inside its guard.
    { head -c 1 > /dev/null; kill -BUS "$pid"; cat > /dev/null; } < "$T/fifo"
    wait "$pid" || status=$?
    [ "$status" -eq $((128 + 7)) ]
    [ ! -s "$T/err" ]
}

@test "a closed standard input is reported" {
    run --separate-stderr bash -c "$(tool_command mmcat) <&-"
    assert_failure 1
    assert_error "${stderr_lines[0]}" "mmcat: -" "Bad file descriptor"
}

# ---- Pipes: the output stream's writer thread under every kind of reader ----

# A text of about 3 MiB (more than the pipe and the stream's buffers
# hold), with tabs, control bytes and blank lines for -A and -n.
make_pipe_text() {
    perl -e 'for (1 .. 60000) { print "line $_\twith a tab\x01 and some text after it\n"; print "\n" if $_ % 7 == 0 }' > "$1"
}

# Runs mmcat with options $1 on file $2 into reader command $3 (a bash
# script reading standard input, writing standard output); fails unless
# what the reader passed on is GNU cat's output.
expect_through_reader() {
    cat $1 "$2" > "$T/want"
    bash -c "$(tool_command mmcat) $1 \"\$1\" | $3" _ "$2" > "$T/got"
    assert_same_bytes "$T/want" "$T/got"
}

@test "a slow reader gets every byte, in order" {
    make_pipe_text "$T/text"
    for opts in -n -A -u; do
        expect_through_reader "$opts" "$T/text" \
            "perl -e 'while (sysread(STDIN, \$b, 65536)) { select(undef, undef, undef, 0.005); print \$b }'"
    done
}

@test "a reader that takes one byte at a time gets every byte, in order" {
    perl -e 'for (1 .. 40000) { print "l$_\t\x02\n" }' > "$T/text"
    expect_through_reader -n "$T/text" \
        "perl -e '\$| = 1; while (sysread(STDIN, \$b, 1)) { print \$b }'"
}

@test "a reader that exits early gets GNU cat's first bytes, and mmcat dies of SIGPIPE" {
    require_posix "SIGPIPE"
    make_pipe_text "$T/text"
    cat -n "$T/text" | head -c 1500000 > "$T/want"
    local lanes
    for lanes in "" 1; do
        run bash -c "set -o pipefail; MMTOOLS_FORCE_LANES=$lanes $(tool_command mmcat) -n \"\$1\" | head -c 1500000 > \"\$2\"" _ "$T/text" "$T/got"
        [ "$status" -eq 141 ]
        assert_same_bytes "$T/want" "$T/got"
    done
}

@test "a writer or a reader that is stopped and resumed loses nothing" {
    require_posix "SIGSTOP"
    make_pipe_text "$T/text"
    cat -A "$T/text" > "$T/want"
    mkfifo "$T/fifo"
    "$(tool_path mmcat)" -A "$T/text" > "$T/fifo" &
    local writer=$!
    { head -c 100000; kill -STOP "$writer"; sleep 0.2; kill -CONT "$writer"; cat; } < "$T/fifo" > "$T/got" &
    local reader=$!
    sleep 0.1
    # Stop the reader whatever it is doing: the writer waits on a full pipe.
    kill -STOP "$reader"
    sleep 0.2
    kill -CONT "$reader"
    wait "$writer"
    wait "$reader"
    assert_same_bytes "$T/want" "$T/got"
}

@test "standard output keeps what came before and after mmcat, as with cat" {
    make_pipe_text "$T/text"
    { printf head; cat -n "$T/text"; printf tail; } > "$T/want"
    { printf head; mmcat -n "$T/text"; printf tail; } > "$T/got"
    assert_same_bytes "$T/want" "$T/got"
    # A file longer than the output: the rest stays, and the offset is
    # after the output, as cat leaves them.
    head -c 4000000 /dev/zero | tr '\0' z > "$T/want"
    cp "$T/want" "$T/got"
    bash -c 'cat -n "$1"; printf "<end>"' _ "$T/text" 1<> "$T/want"
    bash -c "$(tool_command mmcat) -n \"\$1\"; printf '<end>'" _ "$T/text" 1<> "$T/got"
    assert_same_bytes "$T/want" "$T/got"
}

@test "a reader that splices the pipe's pages on into a pipe of its own gets GNU cat's bytes" {
    require_posix "splice"
    local reader=$MMTOOLS_BIN/../tests/unit/splice_reader
    [ -x "$reader" ] || skip "no $reader (make check builds it)"
    make_pipe_text "$T/text"
    for opts in -n -A; do
        expect_through_reader "$opts" "$T/text" "$reader"
    done
}
