#!/bin/sh
# Installs, on Debian 12 as root, what building, testing, checking the man
# pages and benchmarking mmtools need; with the argument "windows", also
# the cross compilers, Wine and the 32-bit libraries for the Windows and
# 32-bit builds.  Safe to run again.
set -eu
packages="build-essential clang autoconf automake autoconf-archive pkg-config
bats bats-assert bats-support mandoc hyperfine gnuplot-nox util-linux strace
perl parallel time"
if [ "${1:-}" = windows ]; then
    packages="$packages gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 wine wine64
gcc-multilib"
fi
missing=
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    apt-get update
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
fi
