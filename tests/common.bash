# Shared by the tool suites (tests/*.bats).
#
# The programs are found through MMTOOLS_BIN (a directory), run through
# MMTOOLS_RUNNER (a prefix such as "wine", empty for a native build) with
# MMTOOLS_EXEEXT appended to their names (".exe" for Windows builds).
# make check sets all three; by hand the defaults fit a native build.

load_test_libs() {
    local lib
    for lib in bats-support bats-assert; do
        if [ -f "/usr/lib/bats/$lib/load.bash" ]; then
            load "/usr/lib/bats/$lib/load.bash"
        else
            load "${BATS_LIBS:?install $lib or set BATS_LIBS}/$lib/load.bash"
        fi
    done
}
load_test_libs

: "${MMTOOLS_BIN:=$BATS_TEST_DIRNAME/../tools}"
: "${MMTOOLS_RUNNER:=}"
: "${MMTOOLS_EXEEXT:=}"
export MMTOOLS_BIN MMTOOLS_RUNNER MMTOOLS_EXEEXT

# The path of built program $1.
tool_path() {
    printf '%s/%s%s' "$MMTOOLS_BIN" "$1" "$MMTOOLS_EXEEXT"
}

# Runs built program $1 with the remaining arguments.
run_tool() {
    local name=$1
    shift
    $MMTOOLS_RUNNER "$(tool_path "$name")" "$@"
}

# The command line that runs built program $1, for `bash -c` scripts.
tool_command() {
    printf '%s %q' "$MMTOOLS_RUNNER" "$(tool_path "$1")"
}

setup() {
    T=$BATS_TEST_TMPDIR
}

# Fails unless files $1 and $2 have the same bytes.
assert_same_bytes() {
    if ! cmp -s "$1" "$2"; then
        cmp "$1" "$2" | head -n 3 >&2 || true
        fail "$1 and $2 differ"
    fi
}

# Fails unless message $1 is "$2: $3".  The reason $3 is the POSIX one;
# a Windows build words it its own way (FormatMessage), so there only
# "$2: " and some reason are checked.
assert_error() {
    if [ -z "$MMTOOLS_RUNNER" ]; then
        [ "$1" = "$2: $3" ] || fail "message '$1', expected '$2: $3'"
    else
        case $1 in
            "$2: "?*) ;;
            *) fail "message '$1', expected '$2: (a reason)'" ;;
        esac
    fi
}

# Skips the test when not running as a native POSIX build.
require_posix() {
    [ -z "$MMTOOLS_RUNNER" ] || skip "$1 (not on this platform)"
}

# Lets other users reach the files in $T, as the tests that drop
# privileges need.
let_others_in() {
    local dir=$T
    while [ "$dir" != "$BATS_RUN_TMPDIR" ] && [ "$dir" != / ]; do
        chmod o+x "$dir"
        dir=$(dirname "$dir")
    done
    chmod o+x "$BATS_RUN_TMPDIR"
}

# The peak anonymous memory (RssAnon, KiB) of process $1, sampled every
# 10 ms until it has gone (POSIX: /proc).
peak_rss_anon() {
    local peak=0 kib
    while kib=$(awk '/^RssAnon/ { print $2 }' "/proc/$1/status" 2> /dev/null); do
        [ -n "$kib" ] && [ "$kib" -gt "$peak" ] && peak=$kib
        sleep 0.01
    done
    echo "$peak"
}
