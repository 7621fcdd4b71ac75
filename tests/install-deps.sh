#!/bin/sh
# Installs what the rvisor-tests package needs on Debian 12 (run as root).
# Idempotent: packages already present are left alone; `apt-get update` runs
# at most once per invocation, and only when something is missing.
set -eu

PACKAGES="busybox-static gcc libc6-dev make bash coreutils findutils grep sed mawk tar gzip python3 sqlite3 perl git procps libpython3.11-testsuite"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present:$(printf ' %s' $PACKAGES)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y --no-install-recommends $missing
