//! Integration tests for rvisor live under `tests/`.
