#!/usr/bin/env bats
# libmmio's atomic commit, seen from the system calls it makes: the file is
# flushed, renamed over its destination, then the directory is flushed so
# that the rename itself survives a power cut.  Runs the --write helper of
# the unit test programs under strace.

bats_require_minimum_version 1.5.0
load common

# The unit test program $1 of this build.
unit_program() {
    printf '%s/../tests/unit/%s%s' "$MMTOOLS_BIN" "$1" "$MMTOOLS_EXEEXT"
}

# Writes "new" to $T/out through program $1 under strace; the trace of
# its flushes, links and renames is in $T/trace, one call a line, each
# descriptor followed by its path (strace -y).
traced_write() {
    require_posix "strace is for Linux"
    command -v strace > /dev/null || skip "strace is not installed"
    [ -x "$(unit_program "$1")" ] || skip "$1 is not built"
    strace -o /dev/null true 2> /dev/null || skip "strace cannot trace here"
    # LeakSanitizer refuses to run under a tracer.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    strace -f -y -o "$T/trace" -e trace=fsync,fdatasync,link,linkat,rename,renameat,renameat2 \
        "$(unit_program "$1")" --write "$T/out" new
    [ "$(cat "$T/out")" = new ] || fail "out holds '$(cat "$T/out")'"
}

# The line number in $T/trace of the first call matching regex $1 after
# line $2; fails when there is none.
line_of() {
    local n
    n=$(RE=$1 awk -v from="$2" 'NR > from && $0 ~ ENVIRON["RE"] { print NR; exit }' "$T/trace")
    if [ -z "$n" ]; then
        cat "$T/trace" >&2
        fail "no call matching $1 after line $2"
        return 1
    fi
    echo "$n"
}

# File flushed, renamed over out, then the directory flushed.  strace -y
# shows an unnamed temporary as "<DIR/#INODE>(deleted)".
assert_commit_sequence() {
    local dir file_sync rename dir_sync
    dir=$(cd "$T" && pwd -P)
    file_sync=$(line_of 'fsync\([0-9]+<[^>]*(/\.mmtools\.[^/>]*>|>\(deleted\))\) += 0' 0) || return 1
    rename=$(line_of 'rename[a-z0-9]*\(.*"([^"]*/)?out"(, [0-9A-Z_|]+)?\) += 0' "$file_sync") || return 1
    dir_sync=$(line_of "fsync\\([0-9]+<$dir>\\) += 0" "$rename") || return 1
    [ "$dir_sync" -gt "$rename" ]
}

@test "commit flushes the file, renames it, then flushes the directory" {
    traced_write test_atomic
    assert_commit_sequence
}

@test "commit with a named temporary flushes the directory after the rename" {
    traced_write test_atomic_named
    assert_commit_sequence
}

# Skips the test unless programs can be run without /proc (below).
require_no_proc_runs() {
    require_posix "mount namespaces are Linux's"
    [ -x "$(unit_program test_atomic)" ] || skip "test_atomic is not built"
    [ "$(id -u)" = 0 ] || skip "unshare needs root"
    command -v unshare > /dev/null || skip "unshare is not installed"
    unshare -m true 2> /dev/null || skip "no mount namespaces here"
    # A sanitizer build cannot run at all without /proc.
    without_proc "$(unit_program test_atomic)" --write /dev/null x > /dev/null 2>&1 ||
        skip "test_atomic cannot run without /proc"
}

# Runs "$@" in a mount namespace of its own without /proc: an unnamed
# temporary could not be linked there, so libmmio must make a named one.
without_proc() {
    unshare -m sh -c 'umount -l /proc && exec "$@"' sh "$@"
}

@test "without /proc the commit still works and leaves nothing" {
    require_no_proc_runs
    printf 'old' > "$T/out"
    without_proc "$(unit_program test_atomic)" --write "$T/out" new
    [ "$(cat "$T/out")" = new ]
    [ -z "$(find "$T" -name '.mmtools.*')" ]
}

@test "without /proc another user's commit works too" {
    require_no_proc_runs
    command -v setpriv > /dev/null || skip "setpriv is not installed"
    local dir
    dir=$(mktemp -d /tmp/atomic.XXXXXX)
    chmod 0777 "$dir"
    run without_proc setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$(unit_program test_atomic)" --write "$dir/out" new
    local content
    content=$(cat "$dir/out" 2>&1 || true)
    rm -rf "$dir"
    assert_success
    [ "$content" = new ]
}
