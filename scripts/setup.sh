#!/bin/sh
# Installs what building rvisor needs on Debian 12 and builds the release
# binary. Idempotent. Run as root.
set -eu
cd "$(dirname "$0")/.."
sh tests/install-deps.sh
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo (Rust >= 1.80) is required; install it with rustup or Debian's backports" >&2
    exit 1
fi
cargo build --release -p cmd -p rvisor-benches
