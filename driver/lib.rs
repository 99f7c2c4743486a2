//! The hvsignal KMDF driver: issues Hyper-V's `HvCallSignalEvent` (0x005D) for the `hvsignal`
//! console program.
//!
//! This crate is glue only. It creates a root-enumerated device with a device interface and one
//! sequential queue, and hands every device-control request to
//! `hvsignal_core::RequestHandler`, which parses it, decides, issues the hypercalls through the
//! `hvcall` native primitive and writes the response. Everything that decides is in the core
//! crates and is tested on every host against the reference model; what is here is the WDF
//! plumbing around it:
//!
//! - `driver.rs`: `DriverEntry`, the raw-call policy read from the service's `Parameters` key,
//!   `EvtDriverDeviceAdd`;
//! - `device.rs`: the device object, its context (the core device, the native primitive and the
//!   memory-convention input page) and the device interface;
//! - `queue.rs`: the default queue, `EvtIoDeviceControl` and the request-buffer adapter;
//! - `context.rs`: the WDF context type information and the structure sizes WDF checks;
//! - `trace.rs`: the TraceLogging (ETW) provider `HvSignal.Driver` and its events;
//!
//! Off Windows the crate is empty (every item below is `#[cfg(windows)]`), so the workspace
//! builds, lints and tests on any host; the Windows code is compiled by `cargo make package` and
//! CI's Windows job, neither of which has run yet (docs/TESTING.md, What is verified where).

#![cfg_attr(windows, no_std)]

// The native primitive (`hvcall::native`) exists for x86_64 only.
#[cfg(all(windows, not(target_arch = "x86_64")))]
compile_error!("the hvsignal driver supports x86_64 (amd64) Windows only");

#[cfg(windows)]
mod context;
#[cfg(windows)]
mod device;
#[cfg(windows)]
mod driver;
#[cfg(windows)]
mod queue;
#[cfg(windows)]
mod trace;

// The kernel panic handler: a panic is a bugcheck. Nothing in the driver or the crates it calls
// panics on any input (the deny list above and the core crates' lints), so this is unreachable
// in practice; it has to exist for a `no_std` binary.
#[cfg(windows)]
extern crate wdk_panic;

/// Heap allocations (none on the request path) go to non-paged pool.
#[cfg(windows)]
#[global_allocator]
static GLOBAL_ALLOCATOR: wdk_alloc::WdkAllocator = wdk_alloc::WdkAllocator;
