//! Shared board setup for the firmware binaries.
#![no_std]

pub mod board;
