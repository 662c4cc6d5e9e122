#!/usr/bin/env bats
# mmsort: what mmsort(1) promises, one behaviour a test.  The expected
# bytes, exit status and messages come from GNU sort in the C locale, run
# on the same input, and from fixed expectations.

bats_require_minimum_version 1.5.0
load common

mmsort() { run_tool mmsort "$@"; }

# Mixed fields for keys: words, signed and decimal numbers, numbers with
# commas, human sizes, months, versions, blanks in front and between,
# separators, duplicate lines, and no final newline.
make_mixed() {
    awk 'BEGIN {
        srand(7)
        n = split("apple Banana cherry date fig grape 10 9 -3 +4 1,000 " \
                  "12,5 1.5 -0.0 0 007 .5 1e3 0x10 inf -inf 2K 1M 3G 500 " \
                  "1k -2M jan FEB Mar apr dec xyz 1.2.3 1.10 1.9 v2.0~rc1 " \
                  "v2.0 a.tar.gz a.tar .hidden - --1 1- 1.0e-2 ~x", w, " ")
        split(" |\t|:|  | \t", sep, "|")
        split("| |  |\t|", lead, "|")
        for (i = 0; i < 300; i++) {
            line = lead[int(rand() * 5) + 1]
            s = sep[int(rand() * 5) + 1]
            fields = int(rand() * 6)
            for (f = 0; f < fields; f++)
                line = line (f ? s : "") w[int(rand() * n) + 1]
            lines[i] = line
            print line
        }
        for (i = 0; i < 30; i++)
            print lines[i * 7]
        printf "last line without newline"
    }' > "$1"
}

# Every byte value in lines of random length, a few of them repeated.
make_binary() {
    awk 'BEGIN {
        srand(11)
        for (i = 0; i < 2000; i++) {
            len = int(rand() * 12)
            for (j = 0; j < len; j++)
                printf "%c", int(rand() * 255) + 1
            printf "%s", (i % 97 ? "\n" : "\0\n")
        }
    }' > "$1"
}

# Numbers every which way: signs, leading zeros, decimals, exponents,
# units, blanks and commas.
make_numbers() {
    awk 'BEGIN {
        srand(5)
        n = split("0 0 0 1 2 3 4 5 6 7 8 9 . . - - + , K k M G T P E Y x e E", c, " ")
        c[n + 1] = " "; c[n + 2] = "\t"
        for (i = 0; i < 3000; i++) {
            len = int(rand() * 9)
            line = ""
            for (j = 0; j < len; j++)
                line = line c[int(rand() * (n + 2)) + 1]
            print line
        }
    }' > "$1"
}

# Version strings and month names.
make_versions() {
    awk 'BEGIN {
        srand(3)
        n = split(". . ~ ~ a b z 0 0 1 9 - A _", c, " ")
        for (i = 0; i < 3000; i++) {
            len = int(rand() * 8)
            line = ""
            for (j = 0; j < len; j++)
                line = line c[int(rand() * n) + 1]
            print line
        }
        m = split("jan Feb MAR apr may JUN jul aug sep oct nov dec ja xyz DECEMBER", month, " ")
        for (i = 0; i < 300; i++)
            print (i % 3 ? " " : "") month[int(rand() * m) + 1] (i % 2 ? " 1" : "")
    }' > "$1"
}

# Runs mmsort and LC_ALL=C sort with the same arguments (a string, for
# quoting); fails unless standard output, the exit status and standard
# error (with "sort:" for "mmsort:") agree.
same_as_sort() {
    local want got
    (cd "$T" && eval "LC_ALL=C sort $1") > "$T/want" 2> "$T/want.err" && want=0 || want=$?
    (cd "$T" && eval "mmsort $1") > "$T/got" 2> "$T/got.err" && got=0 || got=$?
    sed -i 's/^mmsort:/sort:/; s/mmsort --help/sort --help/' "$T/got.err"
    cmp -s "$T/want" "$T/got" || fail "mmsort $1: output differs from sort's"
    [ "$want" -eq "$got" ] || fail "mmsort $1: exit status $got, sort gave $want"
    cmp -s "$T/want.err" "$T/got.err" \
        || fail "mmsort $1: says '$(cat "$T/got.err")', sort says '$(cat "$T/want.err")'"
}

# ---- ordering ---------------------------------------------------------------

@test "sorts bytewise, as sort in the C locale, and adds a final newline" {
    make_binary "$T/bin"
    same_as_sort "bin"
    make_mixed "$T/mixed"
    same_as_sort "mixed"
    [ "$(tail -c 1 "$T/got" | od -An -c | tr -d ' ')" = '\n' ]
}

@test "many lines that share long beginnings, and end where 8-byte words do" {
    local count
    for count in 40 300 20000; do
        awk -v count=$count 'BEGIN {
            srand(13)
            split("|abcdefg|abcdefgh|abcdefghi|abcdefghijklmnop|abcdefghijklmnopq", p, "|")
            for (i = 0; i < count; i++) {
                line = p[int(rand() * 6) + 1]
                len = int(rand() * 18)
                for (j = 0; j < len; j++)
                    line = line substr("ab\001 z", int(rand() * 5) + 1, 1)
                print line
            }
        }' > "$T/shared"
        for opts in "" -r -u -ru -s "--parallel=1" "--parallel=3"; do
            same_as_sort "$opts shared"
        done
    done
}

@test "last-resort comparison, reversed by a global -r" {
    printf 'b 1\na 1\nc 0\n' > "$T/in"
    run mmsort -k2,2 "$T/in"
    assert_output "$(printf 'c 0\na 1\nb 1')"
    run mmsort -r -k2,2 "$T/in"
    assert_output "$(printf 'b 1\na 1\nc 0')"
    run mmsort -k2,2r "$T/in"
    assert_output "$(printf 'a 1\nb 1\nc 0')"
}

@test "-s keeps equal keys in input order" {
    printf 'b 1\na 1\nc 0\n' > "$T/in"
    run mmsort -s -k2,2 "$T/in"
    assert_output "$(printf 'c 0\nb 1\na 1')"
    run mmsort -s -r -k2,2 "$T/in"
    assert_output "$(printf 'b 1\na 1\nc 0')"
}

@test "-u keeps the first of equal lines, by key" {
    printf 'b x\nA y\na z\nB w\na z\n' > "$T/in"
    run mmsort -u -f -k1,1 "$T/in"
    assert_output "$(printf 'A y\nb x')"
    run mmsort -u "$T/in"
    assert_output "$(printf 'A y\nB w\na z\nb x')"
    same_as_sort "-u -f -k1,1 in"
}

@test "every global ordering option, alone and with -r, -s and -u, as sort" {
    make_mixed "$T/mixed"
    make_numbers "$T/numbers"
    make_versions "$T/versions"
    for opt in -b -d -f -g -h -i -M -n -r -V -bf -df -di -fi -fn -bg -fM -fV; do
        for extra in "" -r -s -u -ru; do
            for file in mixed numbers versions; do
                same_as_sort "$opt $extra $file"
            done
        done
    done
}

@test "long options and --sort=WORD" {
    make_mixed "$T/mixed"
    for opt in --ignore-leading-blanks --dictionary-order --ignore-case \
               --general-numeric-sort --human-numeric-sort --ignore-nonprinting \
               --month-sort --numeric-sort --reverse --version-sort --stable \
               --unique --zero-terminated "--key=2,2n" "--field-separator=: -k2" \
               --sort=numeric --sort=month --sort=human-numeric \
               --sort=general-numeric --sort=version --sort=v; do
        same_as_sort "$opt mixed"
    done
}

@test "keys: fields, characters, per-key letters, -t, blanks" {
    make_mixed "$T/mixed"
    for key in "-k2" "-k2,2" "-k2n" "-k2,2n -k1,1r" "-k1.2,1.4" "-k1.2b,1.4b" \
               "-b -k2" "-k2b,2" "-k2,2b" "-k3,3r -k1" "-k2.2b,3.1" "-k2.3,2.1" \
               "-k1,1.0" "-k5" "-k2,1" "-k2,2f -k1,1d" "-k1,1V" "-k2M" "-k2h" \
               "-k2g" "-t: -k2,2 -k1" "-t: -k3V" "-t: -k2n,2" "-t ' ' -k2" \
               "-t \"\$(printf '\\t')\" -k2,2" "-t a -k2" "-k2,2 -u" "-k2,2 -s" \
               "-k 2,2 -k 3,3n -k 1" "-r -k2,2 -k1,1" "-n -k2,2 -k1,1r" \
               "-k1.3V" "-k2.1,2.1" "-k1,2.3n"; do
        same_as_sort "$key mixed"
    done
}

@test "a differential run over many combinations of options and keys" {
    local combo letters=bdfghiMnrV i k
    make_mixed "$T/mixed"
    grep -v -e inf -e nan "$T/mixed" > "$T/finite" || true
    RANDOM=2026
    for i in $(seq 300); do
        combo=
        ((RANDOM % 2)) && combo="-${letters:RANDOM % 10:1}${letters:RANDOM % 10:1}"
        ((RANDOM % 4)) || combo="$combo -s"
        ((RANDOM % 4)) || combo="$combo -u"
        ((RANDOM % 4)) || combo="$combo -t:"
        for k in $(seq $((RANDOM % 3))); do
            combo="$combo -k$((RANDOM % 4 + 1))"
            ((RANDOM % 2)) && combo="$combo.$((RANDOM % 5 + 1))"
            ((RANDOM % 2)) && combo="$combo${letters:RANDOM % 10:1}"
            ((RANDOM % 2)) && combo="$combo,$((RANDOM % 5 + 1))"
            ((RANDOM % 3)) || combo="$combo${letters:RANDOM % 10:1}"
        done
        same_as_sort "$combo finite"
    done
}

@test "-z: lines end with NUL, newlines are blanks inside them" {
    printf 'b 2\nx\0a 10\0c 1' > "$T/in"
    mmsort -z "$T/in" > "$T/out"
    printf 'a 10\0b 2\nx\0c 1\0' > "$T/want"
    assert_same_bytes "$T/want" "$T/out"
    same_as_sort "-z -k2n in"
    same_as_sort "-z -n in"
}

@test "an empty input gives no output; empty lines sort first" {
    : > "$T/empty"
    run mmsort "$T/empty" "$T/empty"
    assert_success
    assert_output ""
    printf 'b\n\na\n\n' > "$T/in"
    same_as_sort "in"
    same_as_sort "-r in"
}

@test "one huge line, and lines longer than the output buffer" {
    awk 'BEGIN { srand(1); for (i = 0; i < 700000; i++) printf "%c", 97 + int(rand() * 26) }' > "$T/huge"
    printf 'b\na\n' >> "$T/huge"
    same_as_sort "huge"
    same_as_sort "-r huge"
    same_as_sort "-k1.5 huge"
    # -o: each thread gathers into a buffer of 1 MiB; a longer line goes
    # out directly, between what came before and after it.
    { seq 1 200000; head -c 1500000 /dev/zero | tr '\0' y; echo; seq 3 9; } > "$T/mixed"
    run mmsort -o "$T/got" "$T/mixed"
    assert_success
    LC_ALL=C sort "$T/mixed" | cmp -s - "$T/got" || fail "-o with a line past the buffer"
}

@test "reads standard input for no operand and for -, among files" {
    printf 'c\na\n' > "$T/a"
    run mmsort <<< "b"
    assert_output "b"
    run mmsort "$T/a" - "$T/a" <<< "b"
    assert_output "$(printf 'a\na\nb\nc\nc')"
}

@test "the same order on any number of threads" {
    awk 'BEGIN { srand(2); for (i = 0; i < 60000; i++) print int(rand() * 100000), rand() }' > "$T/many"
    LC_ALL=C sort "$T/many" > "$T/want"
    for n in 1 2 3 4 7; do
        mmsort --parallel=$n "$T/many" > "$T/out"
        assert_same_bytes "$T/want" "$T/out"
    done
    same_as_sort "--parallel=3 -k2n -k1,1r many"
    same_as_sort "--parallel=2 -u -k1,1n many"
}

@test "a first key of plain bytes: ties, empty keys, many inputs, long runs" {
    # 200,000 lines: most second fields empty or one of a few words, so
    # that runs of equal keys are long (past 65,536 lines) and short.
    awk 'BEGIN {
        srand(17)
        n = split("x|y|abcdefgh|abcdefghi|abcdefgh\001", w, "|")
        for (i = 0; i < 200000; i++) {
            line = int(rand() * 1000)
            r = rand()
            if (r < 0.5) line = line " " w[int(rand() * n) + 1] " " int(rand() * 50)
            else if (r < 0.6) line = line " "
            print line
        }
        printf "end without newline"
    }' > "$T/keys"
    head -c 50000 "$T/keys" > "$T/part1"
    printf 'tail 1' > "$T/part2" # no final newline, then another input
    for opts in "-k2,2" "-t ' ' -k2,2" "-s -k2,2" "-u -k2,2" "-k2,2 -k1n" \
                "-s -k2,2 -k3,3n" "-u -t ' ' -k2,2 -k3n" "-k2" "-k2.3,2.5" \
                "--parallel=1 -k2,2" "--parallel=3 -k2,2"; do
        same_as_sort "$opts keys"
        same_as_sort "$opts part2 part1 part2 - < part1"
    done
    tr '\n' '\0' < "$T/keys" > "$T/keys0"
    same_as_sort "-z -k2,2 keys0"
}

# ---- in place -------------------------------------------------------------------

@test "-I sorts each file where it is, as sort would, keeping its inode" {
    make_mixed "$T/mixed"
    local opts inode
    for opts in "" "-r" "-k2,2" "-t: -k2n -k1,1" "-s -k3" "-f -u" "-z"; do
        cp "$T/mixed" "$T/a"
        printf 'b\na\n\nc' > "$T/b"
        # shellcheck disable=SC2086 # the options are words
        LC_ALL=C sort $opts "$T/a" > "$T/want.a"
        # shellcheck disable=SC2086
        LC_ALL=C sort $opts "$T/b" > "$T/want.b"
        inode=$(stat -c %i "$T/a")
        # shellcheck disable=SC2086
        run --separate-stderr mmsort -I $opts "$T/a" "$T/b"
        assert_success
        [ -z "$output" ] || fail "-I $opts wrote '$output'"
        assert_same_bytes "$T/want.a" "$T/a"
        assert_same_bytes "$T/want.b" "$T/b"
        [ "$(stat -c %i "$T/a")" = "$inode" ] || fail "-I $opts: a new inode"
    done
}

@test "-I grows a file by the final newline it lacked, shrinks it by -u" {
    printf 'b\na\nb\na' > "$T/f"
    run mmsort --in-place "$T/f"
    assert_success
    [ "$(od -An -c "$T/f" | tr -d ' ')" = 'a\na\nb\nb\n' ]
    run mmsort -I -u "$T/f"
    assert_success
    [ "$(od -An -c "$T/f" | tr -d ' ')" = 'a\nb\n' ]
    : > "$T/empty"
    run mmsort -I "$T/empty"
    assert_success
    [ ! -s "$T/empty" ]
}

@test "-I refuses standard input, other outputs, FIFOs and directories, exit 2" {
    printf 'b\na\n' > "$T/f"
    run --separate-stderr mmsort -I
    assert_failure 2
    [ "$stderr" = "mmsort: standard input cannot be sorted in place" ]
    run --separate-stderr mmsort -I - < "$T/f"
    assert_failure 2
    local opt
    for opt in -o -c -m; do
        [ $opt = -o ] && opt="-o $T/out"
        # shellcheck disable=SC2086
        run --separate-stderr mmsort -I $opt "$T/f"
        assert_failure 2
        [ "$stderr" = "mmsort: options '-I${opt:1:1}' are incompatible" ] || fail "said '$stderr'"
    done
    [ "$(cat "$T/f")" = "$(printf 'b\na')" ]
    [ ! -e "$T/out" ]
    run --separate-stderr mmsort -I "$T/missing"
    assert_failure 2
    assert_error "$stderr" "mmsort: open failed: $T/missing" "No such file or directory"
    mkdir "$T/dir"
    run --separate-stderr mmsort -I "$T/dir"
    assert_failure 2
    assert_error "$stderr" "mmsort: open failed: $T/dir" "Is a directory"
    require_posix "FIFOs"
    mkfifo "$T/fifo"
    run --separate-stderr timeout 10 "$(tool_path mmsort)" -I "$T/fifo"
    assert_failure 2
    [ "$stderr" = "mmsort: open failed: $T/fifo: not a regular file" ] || fail "said '$stderr'"
}

@test "-I reports a file it cannot sort and still sorts the others, exit 2" {
    printf 'b\na\n' > "$T/a"
    printf 'd\nc\n' > "$T/b"
    mkdir "$T/dir"
    run --separate-stderr mmsort -I "$T/a" "$T/missing" "$T/dir" - "$T/b"
    assert_failure 2
    [ "$(cat "$T/a")" = "$(printf 'a\nb')" ]
    [ "$(cat "$T/b")" = "$(printf 'c\nd')" ]
    [ "${#stderr_lines[@]}" -eq 3 ] || fail "said: $stderr"
    assert_error "${stderr_lines[0]}" "mmsort: open failed: $T/missing" "No such file or directory"
    assert_error "${stderr_lines[1]}" "mmsort: open failed: $T/dir" "Is a directory"
    [ "${stderr_lines[2]}" = "mmsort: standard input cannot be sorted in place" ]
}

@test "-I on a file it may read but not write: exit 2, file untouched" {
    require_posix "POSIX permissions"
    command -v setpriv > /dev/null || skip "setpriv is not installed"
    printf 'b\na\n' > "$T/f"
    chmod 644 "$T/f"
    chmod 755 "$T"
    run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$(tool_path mmsort)" -I "$T/f"
    assert_failure 2
    [ "$stderr" = "mmsort: open failed: $T/f: Permission denied" ]
    [ "$(cat "$T/f")" = "$(printf 'b\na')" ]
}

@test "a SIGTERM while -I writes the file back waits until the file is whole" {
    require_posix "signals"
    command -v strace > /dev/null || skip "strace is not installed"
    # strace sends SIGTERM as mmsort flushes the sorted bytes: before the
    # file has shrunk (-u) or after it grew (a final newline added).
    printf 'b\na\nb\na\n' > "$T/shrinks"
    printf 'b\na' > "$T/grows"
    local f
    for f in shrinks grows; do
        run strace -o /dev/null -e inject=msync:signal=TERM \
            "$(tool_path mmsort)" -I -u "$T/$f"
        [ "$status" -eq 143 ] || fail "$f: status $status"
        [ "$(od -An -c "$T/$f" | tr -d ' ')" = 'a\nb\n' ] || fail "$f: $(od -An -c "$T/$f")"
    done
}

# ---- past the memory budget ------------------------------------------------------

# 340,000 lines of mixed fields with many duplicates: with -S 64K (runs of
# 1,337 lines) 255 runs, merged 16 at a time as they come and then in
# stages before the last merge.
make_budget_input() {
    awk 'BEGIN {
        srand(29)
        n = split("a b c d apple Banana 10 -3 2K x", w, " ")
        for (i = 0; i < 340000; i++) {
            f = int(rand() * 4)
            line = int(rand() * 3000)
            for (j = 0; j < f; j++)
                line = line " " w[int(rand() * n) + 1]
            print line
        }
        printf "no newline"
    }' > "$1"
}

@test "past the -S budget: sorted runs in -T merged as sort would, none left" {
    make_budget_input "$T/big"
    mkdir "$T/tmp"
    local opts
    for opts in "" "-u" "-r" "-k2,2" "-t ' ' -k2,2 -k1n" "-s -k3" "-n -u" \
                "-k2,2 -u" "--parallel=1"; do
        same_as_sort "-S 64K -T tmp $opts big"
        [ -z "$(ls -A "$T/tmp")" ] || fail "-S 64K $opts left $(ls "$T/tmp")"
    done
    head -c 1000000 "$T/big" > "$T/part"
    same_as_sort "-S 64K -T tmp -T . part big - < part"
    tr '\n' '\0' < "$T/big" > "$T/big0"
    same_as_sort "-S 64K -z -k2 big0"
    [ -z "$(ls -A "$T/tmp")" ] || fail "temporaries left: $(ls "$T/tmp")"
    # Runs are merged as they come, so that few files are open at once.
    require_posix "a limit on open files"
    run bash -c 'ulimit -n 40 && exec "$@"' _ "$(tool_path mmsort)" -S 64K -T "$T/tmp" -o "$T/limited" "$T/big"
    assert_success
    LC_ALL=C sort "$T/big" | cmp -s - "$T/limited" || fail "with 40 files open at most"
}

@test "past the budget, a pipe is sorted as it comes, in runs, as sort would" {
    make_budget_input "$T/big"
    mkdir "$T/tmp"
    head -c 300000 /dev/zero | tr '\0' x > "$T/long" # longer than the buffer
    cat "$T/big" "$T/long" "$T/big" > "$T/mixed"
    local opts
    for opts in "" "-u" "-k2,2" "-t ' ' -k2,2 -k1n" "-s -k3"; do
        same_as_sort "-S 64K -T tmp $opts - < <(cat mixed)"
        [ -z "$(ls -A "$T/tmp")" ] || fail "-S 64K $opts left $(ls "$T/tmp")"
    done
    same_as_sort "-S 64K -T tmp big - long < <(cat big)"
    same_as_sort "-S 64K -T tmp -z - < <(tr '\n' '\0' < big)"
}

@test "past the budget, a pipe is never held whole in memory" {
    require_posix "/proc/PID/status"
    local pid peak
    head -c 36000000 /dev/urandom | base64 > "$T/in" # 48 MB of lines
    mkfifo "$T/fifo"
    cat "$T/in" > "$T/fifo" &
    # The sanitizers' quarantine would keep what is freed.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 \
        "$(tool_path mmsort)" -S 1M -T "$T" -o "$T/out" < "$T/fifo" &
    pid=$!
    peak=$(peak_rss_anon "$pid")
    wait "$pid" || fail "mmsort: status $?"
    LC_ALL=C sort "$T/in" | cmp -s - "$T/out" || fail "not sorted as sort does"
    [ "$peak" -le $((12 * 1024)) ] || fail "peak RssAnon ${peak} KiB for 48 MB"
}

@test "past the budget, -o may name the input; a bad -T is GNU's error" {
    make_budget_input "$T/big"
    cp "$T/big" "$T/f"
    LC_ALL=C sort "$T/big" > "$T/sorted"
    run mmsort -S 64K -o "$T/f" "$T/f"
    assert_success
    assert_same_bytes "$T/sorted" "$T/f"
    run --separate-stderr mmsort -S 64K -T "$T/nodir" -o "$T/f" "$T/big"
    assert_failure 2
    assert_error "$stderr" "mmsort: cannot create temporary file in '$T/nodir'" \
        "No such file or directory"
    assert_same_bytes "$T/sorted" "$T/f"
}

@test "past the budget, a full temporary directory: exit 2, nothing left" {
    require_posix "tmpfs"
    [ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
    make_budget_input "$T/big"
    printf 'old\n' > "$T/out"
    mkdir "$T/tiny"
    mount -t tmpfs -o size=256k tmpfs "$T/tiny" || skip "cannot mount a tmpfs here"
    run --separate-stderr mmsort -S 64K -T "$T/tiny" -o "$T/out" "$T/big"
    local left
    left=$(ls -A "$T/tiny")
    umount "$T/tiny"
    assert_failure 2
    [ "$stderr" = "mmsort: write failed: $T/tiny: No space left on device" ] || fail "said '$stderr'"
    [ -z "$left" ] || fail "temporaries left: $left"
    [ "$(cat "$T/out")" = old ]
}

@test "SIGTERM past the budget leaves no temporaries and the output as it was or whole" {
    require_posix "signals"
    make_budget_input "$T/big"
    mkdir "$T/tmp"
    mmsort -S 64K -T "$T/tmp" -o "$T/sorted" "$T/big"
    printf 'old\n' > "$T/out"
    local round status
    for round in 1 3 6; do
        "$(tool_path mmsort)" -S 64K -T "$T/tmp" -o "$T/out" "$T/big" &
        local pid=$!
        sleep "0.$round"
        kill -TERM "$pid" 2> /dev/null || true
        status=0
        wait "$pid" || status=$?
        [ -z "$(ls -A "$T/tmp")" ] || fail "temporaries left: $(ls "$T/tmp")"
        if [ "$status" -eq 143 ]; then
            # Untouched, or whole when the signal came after the rename.
            [ "$(cat "$T/out")" = old ] || cmp -s "$T/sorted" "$T/out" ||
                fail "the output changed"
        else
            [ "$status" -eq 0 ] || fail "status $status"
            printf 'old\n' > "$T/out"
        fi
    done
}

@test "README's GNU parallel recipe: shards sorted apart, merged by -m" {
    require_posix "GNU parallel runs shell commands"
    command -v parallel > /dev/null || skip "GNU parallel is not installed"
    make_budget_input "$T/big"
    printf '\n' >> "$T/big" # --pipepart cuts after line ends
    LC_ALL=C sort -k2,2 "$T/big" > "$T/whole"
    cd "$T"
    # The recipe, word for word but for --will-cite and the tool's path.
    parallel --will-cite --pipepart -a big --block -4 -k --files \
        "$(tool_command mmsort) -k2,2" > shards
    [ "$(wc -l < shards)" -ge 4 ] || fail "only $(wc -l < shards) shards"
    # shellcheck disable=SC2046 # one word per shard
    run mmsort -m -k2,2 -o sorted $(cat shards)
    assert_success
    # shellcheck disable=SC2046
    rm $(cat shards)
    assert_same_bytes whole sorted
}

@test "--progress changes nothing in the result and clears its line" {
    make_budget_input "$T/big"
    LC_ALL=C sort "$T/big" > "$T/sorted"
    local opts
    for opts in "" "-S 64K"; do
        # shellcheck disable=SC2086
        run --separate-stderr mmsort --progress $opts -o "$T/out" "$T/big"
        assert_success
        assert_same_bytes "$T/sorted" "$T/out"
        [[ "$stderr" != *$'\n'* ]] || fail "the progress line scrolled: $stderr"
        [ -z "$(printf '%s' "${stderr##*$'\r'}" | tr -d ' ')" ] || fail "not cleared: '$stderr'"
    done
    run --separate-stderr mmsort --progress --record-size=2 "$T/big"
    assert_failure 2
    [ "$stderr" = "mmsort: option '--progress' does not apply to records (--record-size)" ]
}

@test "kill -9 during -o FILE FILE leaves FILE old or sorted, whole" {
    require_posix "signals"
    make_budget_input "$T/orig"
    LC_ALL=C sort "$T/orig" > "$T/sorted"
    local round opts
    for round in 1 2 3 4; do
        opts=""
        [ $((round % 2)) = 0 ] && opts="-S 64K -T $T" # through runs too
        cp "$T/orig" "$T/f"
        # shellcheck disable=SC2086
        "$(tool_path mmsort)" $opts -o "$T/f" "$T/f" &
        local pid=$!
        sleep "0.0$round"
        kill -KILL "$pid" 2> /dev/null || true
        wait "$pid" || true
        cmp -s "$T/f" "$T/sorted" || cmp -s "$T/f" "$T/orig" || fail "a half-written file"
    done
}

# ---- merging ------------------------------------------------------------------

@test "-m merges sorted inputs, equal lines from the earlier input first" {
    printf 'a 1\nc 1\n' > "$T/x"
    printf 'a 2\nb 2\nc 2\n' > "$T/y"
    run mmsort -m -k1,1 -s "$T/y" "$T/x"
    assert_output "$(printf 'a 2\na 1\nb 2\nc 2\nc 1')"
    same_as_sort "-m x y"
    same_as_sort "-m -u -k1,1 y x"
}

@test "-m does not sort: inputs out of order are merged as sort merges them" {
    printf 'b\nB\na\n' > "$T/x"
    printf 'a\nb\nb\n' > "$T/y"
    run mmsort -m "$T/x" "$T/y"
    assert_output "$(printf 'a\nb\nB\na\nb\nb')"
    same_as_sort "-m -f x y"
}

@test "-m merges many inputs" {
    local i
    make_versions "$T/v"
    for i in $(seq 40); do
        sed -n "${i}~40p" "$T/v" | LC_ALL=C sort -V > "$T/part$i"
    done
    same_as_sort "-m -V part*"
    same_as_sort "-m -u -V part*"
    same_as_sort "-m part*"
}

# ---- checking ------------------------------------------------------------------

@test "-m merges past the open-file limit, 16 inputs at a time" {
    local i
    for i in $(seq 300); do
        seq "$i" 7 2000 > "$T/s$i"
        # Out of order too: merged by the first lines in front, ties to
        # the earlier input, the groups change nothing, as with GNU's.
        awk -v s="$i" 'BEGIN { srand(s); for (j = 0; j < 20; j++) print int(rand() * 100) }' > "$T/u$i"
    done
    (cd "$T" && LC_ALL=C sort -m s* > want.s && LC_ALL=C sort -m u* > want.u &&
        LC_ALL=C sort -m -u -n u* > want.un)
    run bash -c 'cd "$1" && shift && "$@" s* > got.s && "$@" u* > got.u && "$@" -u -n u* > got.un' \
        _ "$T" $(tool_command mmsort) -m
    assert_success
    assert_same_bytes "$T/want.s" "$T/got.s"
    assert_same_bytes "$T/want.u" "$T/got.u"
    assert_same_bytes "$T/want.un" "$T/got.un"
    require_posix "a limit on open files"
    run bash -c 'ulimit -n 64 && cd "$1" && shift && exec "$@" s*' _ "$T" "$(tool_path mmsort)" -m -o "$T/limited"
    assert_success
    assert_same_bytes "$T/want.s" "$T/limited"
}

@test "-c reports the first line out of order and exits 1" {
    printf 'a\nc\nb\na\n' > "$T/in"
    run --separate-stderr mmsort -c "$T/in"
    assert_failure 1
    assert_output ""
    [ "$stderr" = "mmsort: $T/in:3: disorder: b" ] || fail "said '$stderr'"
    run --separate-stderr mmsort -c < "$T/in"
    [ "$stderr" = "mmsort: -:3: disorder: b" ] || fail "said '$stderr'"
    same_as_sort "-c in"
}

@test "-C says nothing; -c and -C pass sorted input; -u wants it strict" {
    printf 'a\nb\nb\n' > "$T/in"
    run --separate-stderr mmsort -C "$T/in"
    assert_success
    run --separate-stderr mmsort -c "$T/in"
    assert_success
    run --separate-stderr mmsort -Cu "$T/in"
    assert_failure 1
    [ -z "$stderr" ] || fail "-C said '$stderr'"
    run --separate-stderr mmsort -cu "$T/in"
    assert_failure 1
    [ "$stderr" = "mmsort: $T/in:3: disorder: b" ] || fail "said '$stderr'"
    for opt in -c -C -cu -Cu --check=quiet --check=silent --check=diagnose-first \
               "-c -n" "-c -r" "-c -k2" "-c -z"; do
        same_as_sort "$opt in"
    done
}

@test "-c takes one input" {
    printf 'a\n' > "$T/in"
    same_as_sort "-c in in"
    same_as_sort "-cC in"
    same_as_sort "-c -o out in"
    same_as_sort "-C -o out in"
    same_as_sort "--check=bogus in"
}

# ---- output files ----------------------------------------------------------------

@test "-o replaces an input atomically, keeping its permission bits" {
    require_posix "POSIX permission bits"
    make_mixed "$T/mixed"
    cp "$T/mixed" "$T/file"
    chmod 640 "$T/file"
    LC_ALL=C sort "$T/mixed" > "$T/want"
    mmsort -o "$T/file" "$T/file"
    assert_same_bytes "$T/want" "$T/file"
    [ "$(stat -c %a "$T/file")" = 640 ]
    run ls -A "$T"
    refute_output --partial .mmtools
}

@test "-o writes a new file, and may name one of several inputs" {
    printf 'b\nd\n' > "$T/x"
    printf 'c\na\n' > "$T/y"
    run mmsort -o "$T/new" "$T/x" "$T/y"
    assert_success
    assert_output ""
    assert_equal "$(cat "$T/new")" "$(printf 'a\nb\nc\nd')"
    mmsort -m -o "$T/x" "$T/x" "$T/x"
    assert_equal "$(cat "$T/x")" "$(printf 'b\nb\nd\nd')"
    : > "$T/empty"
    mmsort -o "$T/y" "$T/empty"
    [ ! -s "$T/y" ]
}

@test "a missing input leaves -o FILE untouched and writes nothing" {
    printf 'keep\n' > "$T/out"
    run --separate-stderr mmsort -o "$T/out" "$T/out" "$T/nosuch"
    assert_failure 2
    assert_error "$stderr" "mmsort: cannot read: $T/nosuch" "No such file or directory"
    assert_equal "$(cat "$T/out")" "keep"
    run --separate-stderr mmsort "$T/out" "$T/nosuch"
    assert_output ""
}

@test "an output file that cannot be created is an error, exit 2" {
    printf 'a\n' > "$T/in"
    run --separate-stderr mmsort -o "$T/nodir/out" "$T/in"
    assert_failure 2
    assert_output ""
    assert_error "$stderr" "mmsort: open failed: $T/nodir/out" "No such file or directory"
}

@test "a write error is reported, exit 2" {
    require_posix "/dev/full"
    printf 'a\n' > "$T/in"
    run --separate-stderr mmsort -o /dev/full "$T/in"
    assert_failure 2
    assert_equal "$stderr" "mmsort: write failed: /dev/full: No space left on device"
    run --separate-stderr bash -c "$(tool_command mmsort) \"\$1\" > /dev/full" _ "$T/in"
    assert_failure 2
    assert_equal "$stderr" "mmsort: write failed: 'standard output': No space left on device"
}

# ---- errors ------------------------------------------------------------------------

@test "-o on a full disk or past a file-size limit: exit 2, the file untouched" {
    require_posix "tmpfs and ulimit -f"
    seq 1 100000 > "$T/in"
    printf 'old\n' > "$T/out"
    run --separate-stderr bash -c "ulimit -f 100; $(tool_command mmsort) -o \"\$1\" \"\$2\"" _ "$T/out" "$T/in"
    assert_failure 2
    assert_equal "$stderr" "mmsort: write failed: $T/out: File too large"
    assert_equal "$(cat "$T/out")" old
    [ -z "$(ls -A "$T" | grep mmtools)" ] || fail "a temporary was left"
    [ "$(id -u)" = 0 ] || skip "mounting a small tmpfs needs root"
    mkdir "$T/tiny"
    mount -t tmpfs -o size=256k tmpfs "$T/tiny" || skip "cannot mount a tmpfs here"
    printf 'old\n' > "$T/tiny/out"
    run --separate-stderr mmsort -o "$T/tiny/out" "$T/in"
    local left old
    left=$(ls -A "$T/tiny")
    old=$(cat "$T/tiny/out")
    umount "$T/tiny"
    assert_failure 2
    assert_equal "$stderr" "mmsort: write failed: $T/tiny/out: No space left on device"
    assert_equal "$old" old
    assert_equal "$left" out
}

@test "a missing input or a directory: GNU's message, exit 2, no output" {
    printf 'a\n' > "$T/in"
    mkdir "$T/dir"
    run --separate-stderr mmsort "$T/in" "$T/nosuch"
    assert_failure 2
    assert_output ""
    assert_error "$stderr" "mmsort: cannot read: $T/nosuch" "No such file or directory"
    run --separate-stderr mmsort "$T/dir"
    assert_failure 2
    assert_error "$stderr" "mmsort: read failed: $T/dir" "Is a directory"
}

@test "file names in messages are quoted as sort quotes them" {
    cd "$T"
    local name
    for name in 'a b' "it's" 'plain' ''; do
        run --separate-stderr mmsort "$name"
        assert_failure 2
        LC_ALL=C sort "$name" 2> "$T/want" || true
        assert_error "$stderr" "$(sed -n 's/^sort: \(.*\): [^:]*$/mmsort: \1/p' "$T/want")" \
            "No such file or directory"
    done
}

@test "a file truncated while it is mapped is an error, not a crash" {
    require_posix "FIFOs and truncate"
    awk 'BEGIN { for (i = 0; i < 300000; i++) printf "%099d\n", i }' > "$T/shrinking"
    mkfifo "$T/fifo"
    ( rc=0; "$(tool_path mmsort)" "$T/shrinking" > "$T/fifo" 2> "$T/err" || rc=$?
      echo $rc > "$T/status" ) &
    local writer=$!
    # Once head has read, mmsort waits on the full pipe, its input mapped.
    { head -c 1 > /dev/null; truncate -s 0 "$T/shrinking"; cat > /dev/null; } < "$T/fifo"
    wait "$writer"
    [ "$(cat "$T/status")" = 2 ]
    [ "$(cat "$T/err")" = "mmsort: read failed: $T/shrinking: file shrank while it was being read" ]
}

@test "bad key specifications, as sort words them" {
    printf 'a\n' > "$T/in"
    for spec in 0 1.0 1,0 0,1 1x 1,2x a 1,x 1.x ,1 "1.1,1.1Q" 1b,1z; do
        same_as_sort "-k '$spec' in"
    done
    run --separate-stderr mmsort -k 0 "$T/in"
    assert_failure 2
    assert_equal "$stderr" "mmsort: field number is zero: invalid field specification '0'"
    run --separate-stderr mmsort -k 1.0 "$T/in"
    assert_equal "$stderr" "mmsort: character offset is zero: invalid field specification '1.0'"
    same_as_sort "-k 1,1.0 in"
}

@test "incompatible orderings and separators" {
    printf 'a\n' > "$T/in"
    for opts in -gn -dn -hM -in -gV -nV "-k1,1nM" "-k1gbr" "-b -k1dn" -rgi \
                "-t ab" "-t ''" "-t : -t ," "-t : -t :" "-t '\\0'"; do
        same_as_sort "$opts in"
    done
    run --separate-stderr mmsort -k1,1nMr "$T/in"
    assert_failure 2
    assert_equal "$stderr" "mmsort: options '-Mn' are incompatible"
}

@test "-S sizes with GNU's suffixes; bad ones are errors, exit 2" {
    printf 'b\na\n' > "$T/in"
    for size in 0 1 10% 1b 5K 5k 2M 2m 1G 1g 1T 1t 1P 1E " 7" +7; do
        same_as_sort "-S '$size' in"
    done
    for size in 12Q abc 1KB -1 1p 1e "" 99999999999999999999999 100000000000000000K; do
        same_as_sort "-S '$size' in"
    done
    run --separate-stderr mmsort -S 12Q "$T/in"
    assert_failure 2
    assert_equal "$stderr" "mmsort: invalid suffix in -S argument '12Q'"
}

@test "--parallel and -T are checked and accepted" {
    printf 'b\na\n' > "$T/in"
    for opts in --parallel=1 --parallel=0 \
                --parallel=x --parallel=2x "-T $T" "-T $T/nodir"; do
        same_as_sort "$opts in"
    done
}

@test "unknown options are usage errors, exit 2" {
    run --separate-stderr mmsort -x
    assert_failure 2
    assert_equal "$stderr" "$(printf "mmsort: invalid option -- 'x'\nTry 'mmsort --help' for more information.")"
    run --separate-stderr mmsort --sort=bogus
    assert_failure 1
}

@test "--help and --version" {
    run mmsort --help
    assert_success
    assert_line --index 0 "Usage: mmsort [OPTION]... [FILE]..."
    run mmsort --version
    assert_success
    assert_output --regexp '^mmsort \(mmtools\) [0-9]'
}
