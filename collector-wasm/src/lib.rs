//! Vigia's browser collector, compiled to a dependency-free wasm module (no allocator, no
//! `core::fmt`, no wasm-bindgen glue) so that loader + module stay within the size contract.
//!
//! `loader/v.js` wires page life-cycle events to the exports in [`abi`]; every decision —
//! whether to collect, what an event is, when engagement counts, what a flush sends — is made
//! in [`collector::Collector`]. No cookies, no storage writes, no ids: the server derives a
//! daily visitor hash.

#![cfg_attr(feature = "standalone", no_std)]

pub mod abi;
pub mod buf;
pub mod collector;
pub mod engagement;
pub mod url;

pub use collector::{flags, Collector};

// The shipped module has no std and no panic machinery: a panic traps.
#[cfg(all(feature = "standalone", target_arch = "wasm32"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
