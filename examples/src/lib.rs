//! Runnable postwire examples; see `src/bin/`.

pub mod sqlite;
