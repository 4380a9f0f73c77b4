//! The embassy-net driver for postwire. Not implemented yet: the serve loop
//! arrives with its own issue, on top of the `postwire-codec` state machines.
#![no_std]
