//! The driver's request path as one exported function, for measuring its stack use.
//!
//! `hvsignal_request_path` is exactly what the driver's `EvtIoDeviceControl` runs per request:
//! [`hvsignal_core::RequestHandler::handle_device_control`] over the native primitive, with request
//! buffers that are raw pointers as WDF hands them out. `crates/hvsignal-core/tests/stack.rs`
//! builds this `no_std` static library with `-Z emit-stack-sizes` in the dev and release
//! profiles and checks every frame on the path against the kernel stack budget. Nothing else
//! uses it.
#![cfg_attr(not(test), no_std)]
#![cfg(target_arch = "x86_64")]

use hvcall::native::NativeHypercall;
use hvsignal_core::{Completion, IoBuffers, NtStatus, RequestHandler};

/// The request's buffers as raw pointers (what `WdfRequestRetrieve*Buffer` returns).
#[repr(C)]
pub struct RawBuffers {
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    output_len: usize,
}

impl IoBuffers for RawBuffers {
    fn input(&mut self) -> Result<&[u8], NtStatus> {
        // SAFETY: the caller of `hvsignal_request_path` passes `input_len` readable bytes.
        Ok(unsafe { core::slice::from_raw_parts(self.input, self.input_len) })
    }

    fn output(&mut self) -> Result<&mut [u8], NtStatus> {
        // SAFETY: the caller passes `output_len` writable bytes, not aliased while borrowed.
        Ok(unsafe { core::slice::from_raw_parts_mut(self.output, self.output_len) })
    }
}

/// One device-control request through the core, as the driver issues it.
///
/// # Safety
/// `buffers` describes valid memory (see [`RawBuffers`]). Never called: only measured.
#[unsafe(no_mangle)]
#[allow(
    clippy::no_mangle_with_rust_abi,
    reason = "measured, never called across a language boundary"
)]
pub unsafe fn hvsignal_request_path(
    device: &mut RequestHandler<NativeHypercall>,
    ioctl_code: u32,
    buffers: &mut RawBuffers,
) -> Completion {
    device.handle_device_control(ioctl_code, buffers)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
