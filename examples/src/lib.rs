//! Runnable postwire examples; see `src/bin/`.
