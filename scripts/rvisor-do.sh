#!/bin/sh
# Sets up (see setup.sh) and runs one command in a fresh sandbox:
#   scripts/rvisor-do.sh -- CMD ARGS...
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
sh "$here/scripts/setup.sh" >&2
exec "$here/target/release/rvisor" do "$@"
