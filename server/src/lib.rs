//! The tokio driver for postwire. Not implemented yet: the listeners, handler
//! traits and loopback connection arrive with the server issue, on top of the
//! `postwire-codec` state machines.
