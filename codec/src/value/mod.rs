//! Value encoders. PLACEHOLDER: being written.
