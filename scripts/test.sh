#!/bin/sh
# The whole test suite: format, lints, unit tests, and the syscall and
# workload suites (each test natively and under rvisor). Run as root.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --release --no-fail-fast
