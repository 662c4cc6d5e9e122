#!/usr/bin/env bats
# mmconv: what mmconv(1) promises, one behaviour a test.  Valid input is
# compared with glibc's iconv on the same bytes; invalid input with fixed
# messages, and with the position iconv reports.

bats_require_minimum_version 1.5.0
load common

mmconv() { run_tool mmconv "$@"; }

UTFS="UTF-8 UTF-16LE UTF-16BE UTF-32LE UTF-32BE UTF-16 UTF-32"

# Every Unicode scalar value (U+0000 to U+10FFFF without the surrogates)
# in each UTF, all 256 bytes, and the 128 of ASCII; the characters of
# Latin-1 and ASCII in each UTF.
setup_file() {
    export D=$BATS_FILE_TMPDIR
    perl -CO -e 'print chr for 0 .. 0xd7ff, 0xe000 .. 0x10ffff' > "$D/all.UTF-8"
    perl -e 'print map { chr } 0 .. 255' > "$D/bytes"
    head -c 128 "$D/bytes" > "$D/ascii"
    iconv -f ISO-8859-1 -t UTF-8 "$D/bytes" > "$D/latin1.UTF-8"
    cp "$D/ascii" "$D/ascii.UTF-8"
    local e
    for e in $UTFS; do
        [ "$e" = UTF-8 ] && continue
        iconv -f UTF-8 -t "$e" "$D/all.UTF-8" > "$D/all.$e"
        iconv -f UTF-8 -t "$e" "$D/latin1.UTF-8" > "$D/latin1.$e"
        iconv -f UTF-8 -t "$e" "$D/ascii.UTF-8" > "$D/ascii.$e"
    done
}

# Fails unless mmconv -f $1 -t $2 makes of file $3 what iconv makes of it:
# file into file, standard input into standard output, and in windows of
# 64 bytes (the paths of files larger than the address space; 65539 for
# files over 64 KiB, which would take too long otherwise).
assert_like_iconv() {
    local window=64
    [ "$(wc -c < "$3")" -le 65536 ] || window=65539
    iconv -f "$1" -t "$2" "$3" > "$T/want" || fail "iconv -f $1 -t $2 failed"
    rm -f "$T/out"
    mmconv -f "$1" -t "$2" "$3" "$T/out" || fail "$1 to $2: status $?"
    assert_same_bytes "$T/want" "$T/out"
    mmconv -f "$1" -t "$2" < "$3" > "$T/out" || fail "$1 to $2, streaming: status $?"
    assert_same_bytes "$T/want" "$T/out"
    rm -f "$T/out"
    MMTOOLS_WINDOW=$window mmconv -f "$1" -t "$2" "$3" "$T/out" ||
        fail "$1 to $2 in windows: status $?"
    assert_same_bytes "$T/want" "$T/out"
}

# Fails unless the last run failed with status 1, message "mmconv: $1",
# and left no file $T/out.
assert_refused() {
    assert_failure 1
    [ "$stderr" = "mmconv: $1" ] || fail "message '$stderr', expected 'mmconv: $1'"
    [ ! -e "$T/out" ] || fail "an output was left behind"
}

# ---- valid input, as iconv converts it ---------------------------------------

@test "every Unicode scalar value converts between every pair of UTFs as iconv converts it" {
    local from to
    for from in $UTFS; do
        for to in $UTFS; do
            assert_like_iconv "$from" "$to" "$D/all.$from"
        done
    done
}

@test "all 256 bytes of Latin-1 convert to every encoding as iconv converts them" {
    local to
    for to in ISO-8859-1 $UTFS; do
        assert_like_iconv ISO-8859-1 "$to" "$D/bytes"
    done
}

@test "ASCII converts to every encoding as iconv converts it" {
    local to
    for to in ASCII ISO-8859-1 $UTFS; do
        assert_like_iconv ASCII "$to" "$D/ascii"
    done
}

@test "the characters of Latin-1 and ASCII convert from every UTF into them as iconv converts them" {
    local from
    for from in $UTFS; do
        assert_like_iconv "$from" ISO-8859-1 "$D/latin1.$from"
        assert_like_iconv "$from" ASCII "$D/ascii.$from"
    done
}

@test "an empty file converts to an empty file, without a byte-order mark" {
    local from to
    : > "$T/empty"
    # From every encoding into the ones with a mark, and from UTF-8 into all.
    for from in ASCII ISO-8859-1 $UTFS; do
        for to in UTF-16 UTF-32; do
            assert_like_iconv "$from" "$to" "$T/empty"
            [ ! -s "$T/out" ] || fail "$from to $to: not empty"
        done
    done
    for to in ASCII ISO-8859-1 $UTFS; do
        assert_like_iconv UTF-8 "$to" "$T/empty"
        [ ! -s "$T/out" ] || fail "UTF-8 to $to: not empty"
    done
}

@test "the default is ASCII into UTF-16LE, standard input into standard output" {
    printf 'hello' > "$T/in"
    run_tool mmconv < "$T/in" > "$T/out"
    [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = 680065006c006c006f00 ]
    mmconv - - < "$T/in" > "$T/out2"
    assert_same_bytes "$T/out" "$T/out2"
    mmconv -o "$T/out3" "$T/in"
    assert_same_bytes "$T/out" "$T/out3"
}

@test "files large enough for both processors convert as iconv converts them" {
    # Mixed text of 1 to 4 byte characters, 3 MiB: cut into parts.
    perl -CO -e 'srand(5); my @c = (0x41, 0xe9, 0x3b1, 0x4e2d, 0x1f600, 0x0a);
                 print map { chr $c[int rand @c] } 1 .. 1200000' > "$T/big.UTF-8"
    assert_like_iconv UTF-8 UTF-16LE "$T/big.UTF-8"
    iconv -f UTF-8 -t UTF-16BE "$T/big.UTF-8" > "$T/big.UTF-16BE"
    assert_like_iconv UTF-16BE UTF-8 "$T/big.UTF-16BE"
    head -c 3000000 "$D/bytes" > /dev/null
    perl -e 'srand(6); print map { chr(32 + int rand 95) } 1 .. 3000000' > "$T/big.ascii"
    assert_like_iconv ASCII UTF-16LE "$T/big.ascii"
    assert_like_iconv ASCII UTF-32BE "$T/big.ascii"
}

@test "a character split between two reads of a pipe converts whole" {
    require_posix "timed writes into a pipe"
    run bash -c "{ printf 'x\\342'; sleep 0.3; printf '\\202'; sleep 0.3; printf '\\254y'; } |
                 $(tool_command mmconv) -f UTF-8 -t UTF-16BE | od -An -tx1"
    assert_success
    assert_output " 00 78 20 ac 00 79"
    run bash -c "{ printf '\\376'; sleep 0.3; printf '\\377\\000'; sleep 0.3; printf 'a'; } |
                 $(tool_command mmconv) -f UTF-16 -t UTF-8"
    assert_output "a"
}

@test "a file whose size is not known (/proc) is converted as it streams" {
    require_posix "/proc"
    iconv -f ASCII -t UTF-32LE /proc/self/mountinfo > /dev/null
    mmconv -t UTF-32LE /proc/self/mountinfo "$T/out"
    [ -s "$T/out" ]
    [ $(( $(stat -c %s "$T/out") % 4 )) -eq 0 ]
}

# ---- byte-order marks -----------------------------------------------------------

@test "UTF-16 and UTF-32 input: a byte-order mark decides, little-endian without one (as iconv)" {
    printf '\377\376a\000' > "$T/le"
    printf '\376\377\000a' > "$T/be"
    printf 'a\000' > "$T/none"
    printf 'a\000\377\376b\000' > "$T/middle"
    local f
    for f in le be none middle; do
        assert_like_iconv UTF-16 UTF-8 "$T/$f"
    done
    [ "$(cat "$T/out")" = "a"$'\xef\xbb\xbf'"b" ] # a mark further on is U+FEFF
    printf '\000\000\376\377\000\000\000a' > "$T/be32"
    printf 'a\000\000\000' > "$T/none32"
    for f in be32 none32; do
        assert_like_iconv UTF-32 UTF-8 "$T/$f"
    done
    # UTF-16LE input keeps a mark as the character U+FEFF.
    assert_like_iconv UTF-16LE UTF-8 "$T/le"
}

@test "UTF-16 and UTF-32 output is little-endian after a byte-order mark (as iconv)" {
    printf 'a' > "$T/a"
    mmconv -f ASCII -t UTF-16 "$T/a" "$T/out"
    [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = fffe6100 ]
    mmconv -f ASCII -t UTF-32 < "$T/a" > "$T/out"
    [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = fffe000061000000 ]
}

@test "--bom starts UTF-8, UTF-16 and UTF-32 output with a byte-order mark" {
    printf 'a' > "$T/a"
    local to want
    while read -r to want; do
        rm -f "$T/out"
        mmconv --bom -f ASCII -t "$to" "$T/a" "$T/out"
        [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = "$want" ] || fail "$to: $(od -An -tx1 "$T/out")"
        mmconv --bom -f ASCII -t "$to" < "$T/a" > "$T/out"
        [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = "$want" ] || fail "$to, streaming"
    done <<'EOF'
UTF-8 efbbbf61
UTF-16LE fffe6100
UTF-16BE feff0061
UTF-32LE fffe000061000000
UTF-32BE 0000feff00000061
UTF-16 fffe6100
EOF
    : > "$T/empty"
    mmconv --bom -t UTF-8 "$T/empty" "$T/out"
    [ ! -s "$T/out" ] # no character, no mark: as iconv's UTF-16
}

@test "--bom is refused for ASCII and Latin-1 output" {
    printf 'a' > "$T/a"
    run --separate-stderr mmconv --bom -t latin1 "$T/a" "$T/out"
    assert_failure 2
    [ "${stderr%%$'\n'*}" = "mmconv: --bom: ISO-8859-1 has no byte-order mark" ]
    [ ! -e "$T/out" ]
}

# ---- invalid input ----------------------------------------------------------------

@test "every kind of invalid input stops with its byte offset, status 1 and no output" {
    local from bytes message
    while IFS='|' read -r from bytes message; do
        printf "$bytes" > "$T/in"
        rm -f "$T/out"
        run --separate-stderr mmconv -f "$from" -t UTF-32LE "$T/in" "$T/out"
        assert_refused "$T/in: $message"
        # Streaming, the message is the same.
        run --separate-stderr mmconv -f "$from" -t UTF-32LE - "$T/out" < "$T/in"
        assert_refused "-: $message"
        # iconv refuses the same input too.
        ! iconv -f "$from" -t UTF-32LE "$T/in" > /dev/null 2>&1 || fail "iconv took $bytes"
    done <<'EOF'
ASCII|ab\200c|invalid ASCII byte at byte offset 2
UTF-8|ab\300\200|invalid UTF-8 sequence at byte offset 2
UTF-8|a\340\200\200|invalid UTF-8 sequence at byte offset 1
UTF-8|a\360\200\200\200|invalid UTF-8 sequence at byte offset 1
UTF-8|a\355\240\200b|invalid UTF-8 sequence at byte offset 1
UTF-8|a\364\220\200\200|invalid UTF-8 sequence at byte offset 1
UTF-8|a\365\200\200\200|invalid UTF-8 sequence at byte offset 1
UTF-8|a\377|invalid UTF-8 sequence at byte offset 1
UTF-8|abc\200|invalid UTF-8 sequence at byte offset 3
UTF-8|a\342\202b|invalid UTF-8 sequence at byte offset 1
UTF-8|ab\342\202|incomplete UTF-8 sequence at byte offset 2
UTF-8|\360\237\230|incomplete UTF-8 sequence at byte offset 0
UTF-8|a\340\200|incomplete UTF-8 sequence at byte offset 1
UTF-8|\355\240|incomplete UTF-8 sequence at byte offset 0
UTF-8|ab\364\220\200|incomplete UTF-8 sequence at byte offset 2
UTF-8|\365\200\200|incomplete UTF-8 sequence at byte offset 0
UTF-8|\370\200\200\200|incomplete UTF-8 sequence at byte offset 0
UTF-8|a\374\200\200\200\200|incomplete UTF-8 sequence at byte offset 1
UTF-8|\370\200\200\200\200|invalid UTF-8 sequence at byte offset 0
UTF-8|\340\200A|invalid UTF-8 sequence at byte offset 0
UTF-8|\300|invalid UTF-8 sequence at byte offset 0
UTF-8|\376\200|invalid UTF-8 sequence at byte offset 0
UTF-16LE|a\000\000\330b\000|unpaired UTF-16LE surrogate at byte offset 2
UTF-16LE|a\000\000\334|unpaired UTF-16LE surrogate at byte offset 2
UTF-16BE|\000a\334\000\000b|unpaired UTF-16BE surrogate at byte offset 2
UTF-16LE|a\000b|incomplete UTF-16LE character at byte offset 2
UTF-16LE|a\000\000\330|incomplete UTF-16LE character at byte offset 2
UTF-16|\376\377\000a\330\000|incomplete UTF-16BE character at byte offset 4
UTF-32LE|a\000\000\000\000\000\021\000|invalid UTF-32LE character at byte offset 4
UTF-32BE|\000\000\330\000|invalid UTF-32BE character at byte offset 0
UTF-32LE|a\000\000\000b\000|incomplete UTF-32LE character at byte offset 4
EOF
}

@test "the offset of an invalid sequence is the position iconv reports" {
    local from bytes at
    while IFS='|' read -r from bytes; do
        printf "$bytes" > "$T/in"
        at=$(iconv -f "$from" -t UTF-16LE "$T/in" 2>&1 >/dev/null | sed -n 's/.*at position //p')
        run --separate-stderr mmconv -f "$from" "$T/in" "$T/out"
        assert_failure 1
        [[ "$stderr" == *" at byte offset $at" ]] || fail "$bytes: '$stderr', iconv: $at"
    done <<'EOF'
ASCII|hello\377world
UTF-8|h\303\251llo\300\257
UTF-8|\342\202\254\355\277\277
UTF-8|ab\361\200\200\300
UTF-16LE|a\000b\000\000\334
UTF-32BE|\000\000\000a\000\021\000\000
EOF
}

# Mixed UTF-8 of 1 to 4 bytes a character, $1 characters of it: what the
# 16-characters-at-a-time path takes.
mixed_utf8() {
    perl -CO -e 'no warnings; my @c = (0x41, 0x7e, 0xe9, 0x3b1, 0x7ff, 0x800, 0x20ac, 0xd7ff,
                          0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff);
                 srand(11); print map { chr $c[rand @c] } 1 .. $ARGV[0]' "$1"
}

@test "UTF-8 into UTF-16LE: a fault inside long valid text is found where iconv finds it, with or without vector code" {
    local bad at offset simd
    mixed_utf8 300 > "$T/text"
    for bad in '\300\200' '\301\277' '\340\237\277' '\360\217\277\277' '\355\240\200' \
               '\355\277\277' '\364\220\200\200' '\365\200\200\200' '\371\200\200\200' \
               '\377' '\200' '\342\202A' '\342A' '\360\237\230A'; do
        for at in 0 1 63 64 100 127 201; do
            # AT characters of text, the fault, and more text.
            { perl -CSD -ne "no warnings; print substr(\$_, 0, $at)" "$T/text"; printf "$bad"
              cat "$T/text"; } > "$T/in"
            offset=$(iconv -f UTF-8 -t UTF-16LE "$T/in" 2>&1 >/dev/null | sed -n 's/.*at position //p')
            for simd in "" 1; do
                rm -f "$T/out"
                MMTOOLS_NO_SIMD=$simd run --separate-stderr mmconv -f UTF-8 "$T/in" "$T/out"
                assert_refused "$T/in: invalid UTF-8 sequence at byte offset $offset"
            done
        done
    done
    # Every fault at once, skipped (-c) and replaced: the same bytes both ways.
    for at in 0 5 60 64 129 250; do
        perl -CSD -ne "no warnings; print substr(\$_, $at, 40)" "$T/text"
        printf '\300\200\355\240\200\364\220\200\200\377\200\342\202A\370\210\200\200'
    done > "$T/in"
    iconv -c -f UTF-8 -t UTF-16LE "$T/in" > "$T/want" 2>/dev/null || true
    for simd in "" 1; do
        MMTOOLS_NO_SIMD=$simd mmconv -c -f UTF-8 "$T/in" "$T/out" || fail "-c: status $?"
        assert_same_bytes "$T/want" "$T/out"
        MMTOOLS_NO_SIMD=$simd mmconv --replace -f UTF-8 "$T/in" "$T/replaced$simd" ||
            fail "--replace: status $?"
    done
    assert_same_bytes "$T/replaced1" "$T/replaced"
}

@test "a character the target cannot represent stops with its code point and offset" {
    printf 'a\303\251b' > "$T/in"
    run --separate-stderr mmconv -f UTF-8 -t ASCII "$T/in" "$T/out"
    assert_refused "$T/in: character U+00E9 at byte offset 1 cannot be represented in ASCII"
    printf 'ab\360\237\230\200' > "$T/in"
    run --separate-stderr mmconv -f UTF-8 -t LATIN1 "$T/in" "$T/out"
    assert_refused "$T/in: character U+1F600 at byte offset 2 cannot be represented in ISO-8859-1"
    printf 'a\351' > "$T/in"
    run --separate-stderr mmconv -f latin1 -t ascii "$T/in" "$T/out"
    assert_refused "$T/in: character U+00E9 at byte offset 1 cannot be represented in ASCII"
}

@test "invalid input far into a large file, and past a window, gives its offset" {
    perl -e 'print "x" x 3000000, "\xff", "y" x 1000' > "$T/in"
    run --separate-stderr mmconv -f UTF-8 -t UTF-16LE "$T/in" "$T/out"
    assert_refused "$T/in: invalid UTF-8 sequence at byte offset 3000000"
    run --separate-stderr mmconv -f ASCII -t UTF-16LE "$T/in" "$T/out"
    assert_refused "$T/in: invalid ASCII byte at byte offset 3000000"
    perl -e 'print "x" x 1000, "\xe2\x82\xac" x 100, "\xe2\x82"' > "$T/in"
    MMTOOLS_WINDOW=64 run --separate-stderr mmconv -f UTF-8 "$T/in" "$T/out"
    assert_refused "$T/in: incomplete UTF-8 sequence at byte offset 1300"
    # Cut by the end, and across the 64 MiB step a file is converted in:
    # iconv still calls FC and 4 continuation bytes incomplete.
    perl -e 'print "x" x (64 * 1048576 - 4), "\xfc\x80\x80\x80\x80"' > "$T/in"
    run --separate-stderr mmconv -f UTF-8 "$T/in" "$T/out"
    assert_refused "$T/in: incomplete UTF-8 sequence at byte offset 67108860"
}

@test "a file OUTPUT is sent on its way to disk as it is made" {
    require_posix "sync_file_range is Linux's"
    command -v strace > /dev/null || skip "strace is not installed"
    printf 'plain ASCII text\n' > "$T/in"
    # LeakSanitizer cannot work under ptrace.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        run strace -f -o "$T/trace" -e trace=sync_file_range \
        "$(tool_path mmconv)" -t UTF-16LE "$T/in" "$T/out"
    assert_success
    iconv -f ASCII -t UTF-16LE "$T/in" | cmp - "$T/out"
    grep -q 'sync_file_range(.*SYNC_FILE_RANGE_WRITE' "$T/trace" ||
        fail "no writeback started: $(cat "$T/trace")"
}

@test "an OUTPUT that existed keeps its content when the input is invalid" {
    mkdir "$T/d"
    printf 'old content' > "$T/d/out"
    printf 'ab\200' > "$T/d/in"
    run --separate-stderr mmconv "$T/d/in" "$T/d/out"
    assert_failure 1
    [ "$(cat "$T/d/out")" = "old content" ]
    # and no temporary file is left beside it
    [ "$(ls -A "$T/d" | tr '\n' ' ')" = "in out " ] || fail "left: $(ls -A "$T/d")"
}

@test "standard output gets what came before invalid input, as from iconv" {
    printf 'ab\200c' > "$T/in"
    run --separate-stderr mmconv -f ASCII -t UTF-8 "$T/in"
    assert_failure 1
    [ "$output" = ab ]
    [ "$stderr" = "mmconv: $T/in: invalid ASCII byte at byte offset 2" ]
}

# ---- -c and --replace ---------------------------------------------------------------

@test "-c leaves out what is invalid or unrepresentable, as iconv -c, and exits 0" {
    local from to bytes
    while IFS='|' read -r from to bytes; do
        printf "$bytes" > "$T/in"
        iconv -c -f "$from" -t "$to" "$T/in" > "$T/want" 2>/dev/null || true
        rm -f "$T/out"
        mmconv -c -f "$from" -t "$to" "$T/in" "$T/out" || fail "$bytes: status $?"
        assert_same_bytes "$T/want" "$T/out"
        mmconv -c -f "$from" -t "$to" < "$T/in" > "$T/out" || fail "$bytes: status $?"
        assert_same_bytes "$T/want" "$T/out"
    done <<'EOF'
ASCII|UTF-16LE|a\200b\377c
UTF-8|UTF-16LE|a\342\202b\300\200c\355\240\200d\364\220\200\200e\200\377f
UTF-8|UTF-16LE|a\360\237\230\303\251\342A
UTF-8|ASCII|a\303\251b\342\202\254c
UTF-8|ISO-8859-1|a\303\251b\342\202\254c
UTF-16LE|UTF-8|\000\330a\000\000\334b\000
UTF-32LE|UTF-8|\000\330\000\000a\000\000\000\000\000\021\000b\000\000\000
UTF-8|UTF-16|\200a
UTF-8|UTF-16|\200
UTF-8|UTF-32|\355\240\200
EOF
}

@test "-c also leaves out a character cut by the end of the input, and exits 0" {
    printf 'ab\342\202' > "$T/in"
    run --separate-stderr mmconv -c -f UTF-8 -t UTF-8 "$T/in" "$T/out"
    assert_success
    [ "$(cat "$T/out")" = ab ]
    printf 'a\000b' > "$T/in"
    run --separate-stderr mmconv -c -f UTF-16LE -t UTF-8 "$T/in" "$T/out"
    assert_success
    [ "$(cat "$T/out")" = a ]
}

@test "--replace writes U+FFFD for each invalid part, '?' in ASCII and Latin-1" {
    printf 'a\342\202b\300\200c\355\240\200' > "$T/in"
    mmconv --replace -f UTF-8 -t UTF-8 "$T/in" "$T/out"
    [ "$(cat "$T/out")" = "a�b��c���" ]
    mmconv --replace -f UTF-8 -t UTF-8 < "$T/in" > "$T/out"
    [ "$(cat "$T/out")" = "a�b��c���" ]
    printf 'a\303\251b\342\202\254\200' > "$T/in"
    mmconv --replace -f UTF-8 -t ASCII "$T/in" "$T/out"
    [ "$(cat "$T/out")" = "a?b??" ]
    mmconv --replace -f UTF-8 -t ISO-8859-1 "$T/in" "$T/out"
    [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = 61e9623f3f ]
    printf 'a\000\000\330' > "$T/in"
    mmconv --replace -f UTF-16LE -t UTF-16BE "$T/in" "$T/out"
    [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = 0061fffd ]
}

# ---- names ------------------------------------------------------------------------------

@test "encoding names are iconv's, in any case" {
    printf 'caf\351' > "$T/in"
    local name
    for name in latin1 ISO-8859-1 iso8859-1 L1 ISO_8859-1:1987 CP819 Latin1//; do
        mmconv -f "$name" -t utf8 "$T/in" "$T/out" || fail "$name"
        [ "$(cat "$T/out")" = café ]
    done
    for name in utf-16le UTF16LE Utf-16Le; do
        mmconv -f latin1 -t "$name" "$T/in" "$T/out" || fail "$name"
        [ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = 630061006600e900 ]
    done
}

@test "-l lists the encodings, and iconv knows every name" {
    run mmconv -l
    assert_success
    assert_line --index 0 --partial "ASCII US-ASCII"
    assert_line --index 2 "UTF-8 UTF8"
    [ "${#lines[@]}" -eq 9 ]
    local name
    for name in $output; do
        printf '' | iconv -f "$name" -t UTF-8 > /dev/null || fail "iconv does not know $name"
    done
    run mmconv --list
    assert_success
}

@test "an unknown encoding is a usage error" {
    printf 'a' > "$T/in"
    run --separate-stderr mmconv -f EBCDIC-US "$T/in" "$T/out"
    assert_failure 2
    [ "${stderr%%$'\n'*}" = "mmconv: unknown source encoding: EBCDIC-US (see 'mmconv --list')" ]
    run --separate-stderr mmconv -t 'utf 8' "$T/in" "$T/out"
    assert_failure 2
    [ "${stderr%%$'\n'*}" = "mmconv: unknown target encoding: 'utf 8' (see 'mmconv --list')" ]
    [ ! -e "$T/out" ]
}

# ---- files ------------------------------------------------------------------------------

@test "INPUT and OUTPUT naming the same file is refused, the file untouched" {
    printf 'abc' > "$T/f"
    run --separate-stderr mmconv "$T/f" "$T/f"
    assert_failure 1
    [ "$stderr" = "mmconv: $T/f: input file is output file" ]
    run --separate-stderr mmconv -o "$T/f" "$T/f"
    assert_failure 1
    ln -s f "$T/link"
    run --separate-stderr mmconv "$T/link" "$T/f"
    assert_failure 1
    run --separate-stderr mmconv - "$T/f" < "$T/f"
    assert_failure 1
    [ "$stderr" = "mmconv: -: input file is output file" ]
    [ "$(cat "$T/f")" = abc ]
}

@test "standard output appending to INPUT is refused" {
    printf 'abc' > "$T/f"
    run --separate-stderr bash -c "$(tool_command mmconv) \"\$1\" >> \"\$1\"" _ "$T/f"
    assert_failure 1
    [ "$stderr" = "mmconv: $T/f: input file is output file" ]
    [ "$(cat "$T/f")" = abc ]
}

@test "OUTPUT that is not a regular file is written as it is" {
    require_posix "/dev/null and FIFOs"
    printf 'abc' > "$T/in"
    mmconv "$T/in" /dev/null
    mkfifo "$T/fifo"
    od -An -tx1 < "$T/fifo" > "$T/seen" &
    mmconv "$T/in" "$T/fifo"
    wait
    [ "$(tr -d ' \n' < "$T/seen")" = 610062006300 ]
}

@test "a missing input or a directory is reported, and no output made" {
    run --separate-stderr mmconv "$T/missing" "$T/out"
    assert_failure 1
    assert_error "$stderr" "mmconv: $T/missing" "No such file or directory"
    [ ! -e "$T/out" ]
    run --separate-stderr mmconv "$T" "$T/out"
    assert_failure 1
    [ ! -e "$T/out" ]
}

@test "an OUTPUT in a missing directory is reported" {
    printf 'abc' > "$T/in"
    run --separate-stderr mmconv "$T/in" "$T/no/out"
    assert_failure 1
    [[ "$stderr" == "mmconv: $T/no/out: "* ]] || fail "$stderr"
}

@test "a write error on standard output is reported" {
    require_posix "/dev/full"
    printf 'abc' > "$T/in"
    run --separate-stderr mmconv "$T/in"  > /dev/full
    run --separate-stderr bash -c "$(tool_command mmconv) \"\$1\" > /dev/full" _ "$T/in"
    assert_failure 1
    [ "$stderr" = "mmconv: write error: No space left on device" ]
}

@test "--progress changes nothing in the result and ends its line" {
    perl -e 'print "x" x 100000' > "$T/in"
    run --separate-stderr mmconv --progress "$T/in" "$T/out"
    assert_success
    [ "$(stat -c %s "$T/out")" -eq 200000 ]
    [[ "$stderr" != *$'\n'* ]] || fail "the progress line scrolled: $stderr"
}

@test "usage errors exit 2" {
    printf 'abc' > "$T/f"
    local args
    for args in "$T/f $T/a $T/b" "-o $T/a $T/f $T/b" "--bogus" "-f" "-x"; do
        # shellcheck disable=SC2086 # the arguments' words
        run --separate-stderr mmconv $args
        [ "$status" -eq 2 ] || fail "'$args': status $status"
        [[ "$stderr" == *"Try 'mmconv --help' for more information." ]] || fail "'$args': $stderr"
    done
    run --separate-stderr mmconv "$T/f" "$T/a" "$T/b"
    [ "${stderr%%$'\n'*}" = "mmconv: extra operand $T/b" ]
    [ ! -e "$T/a" ]
}

@test "--help and --version" {
    run mmconv --help
    assert_success
    assert_line --index 0 "Usage: mmconv [OPTION]... [INPUT [OUTPUT]]"
    run mmconv --version
    assert_success
    assert_output --regexp '^mmconv \(mmtools\) [0-9.]+$'
}
