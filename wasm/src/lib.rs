//! The browser driver for postwire. Not implemented yet: the wasm-bindgen mock
//! database arrives with its own issue, on top of the `postwire-codec` state machines.
