//! Transports: how request bytes reach `hvsignal-core` and response bytes come back.
//!
//! - [`model::ModelTransport`]: the core in process over `hvmodel`, with METHOD_BUFFERED emulated
//!   by one shared buffer, exactly as the I/O manager hands it to the driver.
//! - `device::DeviceTransport` (Windows, and type-checked on Linux under
//!   `--cfg hvsignal_check_windows`): `DeviceIoControl` on the driver's device interface.

#[cfg(any(windows, hvsignal_check_windows))]
pub mod device;
pub mod model;

use hvsignal_proto::{Failure, NtStatus};

/// Why a request failed below the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportError {
    /// The request was completed with this failure NTSTATUS (model: as the core returned it).
    NtStatus(NtStatus),
    /// `DeviceIoControl` failed with this Win32 error (the I/O manager maps the driver's
    /// NTSTATUS with `RtlNtStatusToDosError`).
    #[cfg_attr(
        not(any(windows, hvsignal_check_windows)),
        allow(
            dead_code,
            reason = "only the Windows device transport reports Win32 errors"
        )
    )]
    Win32(u32),
}

impl TransportError {
    /// The driver failure this error stands for, when it is one of the driver's.
    #[must_use]
    pub fn failure(self) -> Option<Failure> {
        match self {
            Self::NtStatus(status) => Failure::from_nt_status(status),
            Self::Win32(error) => Failure::from_win32_error(error),
        }
    }

    /// The error as reported: `NTSTATUS 0xC0000022` or `Win32 error 5`.
    #[must_use]
    pub fn code_text(self) -> String {
        match self {
            #[allow(
                clippy::cast_sign_loss,
                reason = "NTSTATUS is shown as its u32 bit pattern"
            )]
            Self::NtStatus(status) => format!("NTSTATUS {:#010x}", status as u32),
            Self::Win32(error) => format!("Win32 error {error}"),
        }
    }
}

/// Sends IOCTLs to the driver or its in-process stand-in.
pub trait Transport {
    /// Sends one request: `input` bytes in, at most `output_capacity` bytes out. Returns the
    /// bytes the driver wrote (its `information` count of them).
    ///
    /// # Errors
    /// The request completed with a failure status.
    fn device_control(
        &mut self,
        ioctl_code: u32,
        input: &[u8],
        output_capacity: usize,
    ) -> Result<Vec<u8>, TransportError>;
}
