//! Transports: how request bytes reach `hvsignal-core` and response bytes come back.
//!
//! - [`model::ModelTransport`]: the core in process over `hvmodel`, with METHOD_BUFFERED emulated
//!   by one shared buffer, exactly as the I/O manager hands it to the driver.
//! - `win32::Win32Transport` (Windows, and type-checked on Linux under
//!   `--cfg hvsignal_check_windows`): `DeviceIoControl` on the driver's device interface.
//!
//! Transports report their own errors ([`OpenError`], [`TransportError`]); what a failure
//! means for the request is the client's to say.

pub mod model;
#[cfg(any(windows, hvsignal_check_windows))]
pub mod win32;

use hvsignal_proto::{Failure, HVSIGNAL_INTERFACE_GUID, NtStatus};

/// Why the driver's device could not be opened (every one is exit 3).
#[derive(Debug, thiserror::Error)]
#[cfg_attr(
    not(any(windows, hvsignal_check_windows)),
    allow(dead_code, reason = "off Windows the only error is NotWindows")
)]
pub enum OpenError {
    /// Not Windows: the driver runs in a Windows guest.
    #[error(
        "the device backend needs Windows (the hvsignal driver runs in a Windows guest); use \
         --backend model"
    )]
    #[cfg_attr(
        any(windows, hvsignal_check_windows),
        allow(dead_code, reason = "only off Windows is there no device to open")
    )]
    NotWindows,
    /// No present device interface: the driver is not installed or its device not started.
    #[error(
        "the hvsignal device was not found (no present interface {HVSIGNAL_INTERFACE_GUID}): the \
         driver is not installed or its device is not started. Install it with `pnputil \
         /add-driver hvsignal_driver.inf /install` and create the device with `devgen /add /bus \
         ROOT /hardwareid \"Root\\HvSignal\"`; or use --backend model"
    )]
    NotFound,
    /// The device's ACL admits SYSTEM and Administrators only.
    #[error(
        "access denied opening the hvsignal device {path}: it is open to SYSTEM and \
         Administrators only; run hvsignal from an elevated prompt (Run as administrator)"
    )]
    AccessDenied {
        /// The interface path.
        path: String,
    },
    /// `CreateFileW` failed otherwise.
    #[error("cannot open the hvsignal device {path}: CreateFileW failed with Win32 error {error}")]
    CreateFile {
        /// The interface path.
        path: String,
        /// The Win32 error.
        error: u32,
    },
    /// Listing the device interfaces failed.
    #[error(
        "cannot list the device interfaces {HVSIGNAL_INTERFACE_GUID}: {function} returned \
         CONFIGRET {configret}"
    )]
    ListFailed {
        /// The configuration-manager function.
        function: &'static str,
        /// What it returned.
        configret: u32,
    },
    /// The interface list grew every time it was read.
    #[error(
        "the list of device interfaces {HVSIGNAL_INTERFACE_GUID} kept changing while it was read; \
         try again"
    )]
    ListKeptChanging,
}

/// Opens the hvsignal driver's device.
///
/// # Errors
/// No device, no access, or not Windows.
#[cfg(any(windows, hvsignal_check_windows))]
pub fn open_driver() -> Result<Box<dyn Transport>, OpenError> {
    Ok(Box::new(win32::Win32Transport::open()?))
}

/// The driver's device exists only on Windows.
///
/// # Errors
/// Always: not Windows.
#[cfg(not(any(windows, hvsignal_check_windows)))]
pub fn open_driver() -> Result<Box<dyn Transport>, OpenError> {
    Err(OpenError::NotWindows)
}

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
