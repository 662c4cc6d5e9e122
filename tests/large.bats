#!/usr/bin/env bats
# Files larger than 4 GiB, and than a 32-bit address space: run by
# `make check-large`.  The file is sparse, so this costs no disk.
#
# Every tool that reads files gets the same check by adding a line to
# LARGE_CASES: the command (a tool and its options; the file is added
# last) and what its output must end with.

bats_require_minimum_version 1.5.0
load common

LARGE_CASES=(
    "mmcat|END"
    "mmcat -n|END"
    "mmcat -A|^@END"
    "mmconv -t UTF-8|END"
)

setup_file() {
    export BIG="$BATS_FILE_TMPDIR/big"
    truncate -s 5G "$BIG"
    printf END >> "$BIG"
}

@test "libmmio maps and walks windows past 4 GiB" {
    run $MMTOOLS_RUNNER "$MMTOOLS_UNIT/test_large$MMTOOLS_EXEEXT" "$BIG"
    assert_success
    refute_output --partial "not ok"
}

@test "every tool reads a file over 4 GiB to its end" {
    local case tool opts want
    for case in "${LARGE_CASES[@]}"; do
        read -r tool opts <<< "${case%%|*}"
        want=${case#*|}
        run bash -c "set -o pipefail; $(tool_command "$tool") $opts \"\$1\" | tail -c ${#want}" _ "$BIG"
        [ "$status" -eq 0 ] || fail "$tool $opts: status $status"
        [ "$output" = "$want" ] || fail "$tool $opts: ends with '$output', not '$want'"
    done
}

@test "mmcat -n counts past 99999999 lines as GNU cat does" {
    # Numbers of nine digits and more are counted another way than shorter
    # ones (tools/mmcat.c, struct number_text).  100 MB of input; the
    # output (1.1 GB) is compared as it comes, not kept.
    local lines=$BATS_TEST_TMPDIR/lines
    head -c 100000002 /dev/zero | tr '\0' '\n' > "$lines"
    cmp <(cat -n "$lines") <(run_tool mmcat -n "$lines")
    cmp <(cat -n "$lines") <(MMTOOLS_FORCE_LANES=1 run_tool mmcat -n "$lines")
    rm "$lines"
}

@test "mminvert changes a region past 4 GiB in place" {
    run_tool mminvert --offset=5G "$BIG"
    [ "$(tail -c 3 "$BIG")" = DNE ] || fail "reversed: $(tail -c 3 "$BIG" | od -c)"
    run_tool mminvert -l --offset=$((5 * 1024 * 1024 * 1024 - 100)) "$BIG"
    run_tool mminvert --offset=5G "$BIG"
    [ "$(tail -c 3 "$BIG")" = END ]
    run_tool mminvert -l --offset=$((5 * 1024 * 1024 * 1024 - 100)) "$BIG"
    [ "$(tail -c 3 "$BIG")" = END ]
    [ "$(head -c 4 "$BIG" | od -An -tx1 | tr -d ' ')" = 00000000 ]
}

# Whether built program $1 is a 64-bit one: an ELF of class 2, or a PE
# whose machine is x86-64 (0x8664) or ARM64 (0xaa64).
tool_is_64bit() {
    local exe pe
    exe=$(tool_path "$1")
    if [ "$(head -c 4 "$exe" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        [ "$(od -An -tu1 -j4 -N1 "$exe" | tr -d ' ')" = 2 ]
    else
        pe=$(od -An -tu4 -j60 -N4 "$exe" | tr -d ' ')
        case $(od -An -tx2 -j$((pe + 4)) -N2 "$exe" | tr -d ' ') in
            8664|aa64) return 0 ;;
            *) return 1 ;;
        esac
    fi
}

# mmsort holds its whole input in the address space: the file is one line
# of 5 GiB, which only a 64-bit build can map.  The line feed it adds is
# part of what is checked.
@test "mmsort sorts a single line of 5 GiB (64-bit builds)" {
    tool_is_64bit mmsort || skip "a 32-bit build cannot hold a 5 GiB input"
    run bash -c "$(tool_command mmsort) \"\$1\" | tail -c 4 | od -An -c" _ "$BIG"
    assert_success
    [ "$(echo $output)" = 'E N D \n' ] || fail "ends with '$output'"
}

# mmsort's record mode maps a file whole too: the last of its 1-byte
# records, D after N, is the first out of order.  A 32-bit build refuses
# the file.
@test "mmsort --record-size checks records past 4 GiB; a 32-bit build refuses them" {
    run --separate-stderr run_tool mmsort --record-size=1 -c "$BIG"
    if tool_is_64bit mmsort; then
        assert_failure 1
        [ "$stderr" = "mmsort: $BIG: disorder: record $((5 * 1024 * 1024 * 1024 + 3))" ]
    else
        assert_failure 2
        assert_error "$stderr" "mmsort: read failed: $BIG" "too large for the address space"
    fi
}

# Over 4 GiB of lines (2^28 lines of 17 bytes) in a budget of 256 MiB:
# 16 interleaved runs of numbers, so that the merge takes from every run
# in turn; sorted, they are the numbers in order.  Peak anonymous memory
# (sampled) must stay within twice the budget.
@test "mmsort sorts 4.25 GiB of lines with -S 256M, within twice the budget" {
    tool_is_64bit mmsort || skip "a 32-bit build cannot map a 4 GiB input"
    require_posix "4 GiB through Wine takes too long here (mmsort.bats runs the same paths small)"
    local n=$((1 << 28)) lines="$BATS_FILE_TMPDIR/lines" r peak pid
    for ((r = 0; r < 16; r++)); do
        seq -f '%016.0f' "$r" 16 $((n - 1))
    done > "$lines"
    [ "$(stat -c %s "$lines")" -gt $((4 << 30)) ]
    "$(tool_path mmsort)" -S 256M -T "$BATS_FILE_TMPDIR" -o "$lines.sorted" "$lines" &
    pid=$!
    peak=$(peak_rss_anon "$pid")
    wait "$pid" || fail "mmsort: status $?"
    rm "$lines"
    seq -f '%016.0f' 0 $((n - 1)) | cmp - "$lines.sorted" || fail "not the numbers in order"
    rm "$lines.sorted"
    [ "$peak" -le $((2 * 256 * 1024)) ] || fail "peak RssAnon ${peak} KiB"
    [ -z "$(ls -A "$BATS_FILE_TMPDIR" | grep -v '^big$')" ] || fail "left: $(ls "$BATS_FILE_TMPDIR")"
}
