//! Cross-crate tests against real clients live in `tests/` as integration tests.
