//! How the driver fails a request: the NTSTATUS it completes with, the Win32 error the console
//! program sees from `DeviceIoControl` (`GetLastError`, mapped by `RtlNtStatusToDosError`), and
//! the message the program shows.
//!
//! Every kind of failure has its own NTSTATUS *and* its own Win32 error, so the program can tell
//! them apart after the mapping:
//!
//! | failure | NTSTATUS | value | Win32 error | value |
//! |---|---|---|---|---|
//! | [`Failure::UnknownRequest`] | `STATUS_INVALID_DEVICE_REQUEST` | 0xC0000010 | `ERROR_INVALID_FUNCTION` | 1 |
//! | [`Failure::InputSize`] | `STATUS_INVALID_BUFFER_SIZE` | 0xC0000206 | `ERROR_INVALID_USER_BUFFER` | 1784 |
//! | [`Failure::OutputTooSmall`] | `STATUS_BUFFER_TOO_SMALL` | 0xC0000023 | `ERROR_INSUFFICIENT_BUFFER` | 122 |
//! | [`Failure::Malformed`] | `STATUS_INVALID_PARAMETER` | 0xC000000D | `ERROR_INVALID_PARAMETER` | 87 |
//! | [`Failure::VersionMismatch`] | `STATUS_REVISION_MISMATCH` | 0xC0000059 | `ERROR_REVISION_MISMATCH` | 1306 |
//! | [`Failure::RawNotAllowed`] | `STATUS_ACCESS_DENIED` | 0xC0000022 | `ERROR_ACCESS_DENIED` | 5 |
//! | [`Failure::HypercallsRefused`] | `STATUS_NOT_SUPPORTED` | 0xC00000BB | `ERROR_NOT_SUPPORTED` | 50 |
//! | [`Failure::NoInputPage`] | `STATUS_INSUFFICIENT_RESOURCES` | 0xC000009A | `ERROR_NO_SYSTEM_RESOURCES` | 1450 |
//!
//! NTSTATUS values are those of `ntstatus.h`; the Win32 mappings are `RtlNtStatusToDosError`'s
//! (cross-checked against Wine's `ntdll/error.c` table).

/// An NTSTATUS value (`i32`, negative for errors).
pub type NtStatus = i32;

/// Reinterprets the `ntstatus.h` spelling (an unsigned hex literal) as an `NtStatus`.
#[allow(
    clippy::cast_possible_wrap,
    reason = "NTSTATUS error values are defined as u32 bit patterns"
)]
const fn nt(value: u32) -> NtStatus {
    value as i32
}

/// `STATUS_SUCCESS`.
pub const STATUS_SUCCESS: NtStatus = 0;
/// `STATUS_INVALID_PARAMETER` (0xC000000D).
pub const STATUS_INVALID_PARAMETER: NtStatus = nt(0xC000_000D);
/// `STATUS_INVALID_DEVICE_REQUEST` (0xC0000010).
pub const STATUS_INVALID_DEVICE_REQUEST: NtStatus = nt(0xC000_0010);
/// `STATUS_ACCESS_DENIED` (0xC0000022).
pub const STATUS_ACCESS_DENIED: NtStatus = nt(0xC000_0022);
/// `STATUS_BUFFER_TOO_SMALL` (0xC0000023).
pub const STATUS_BUFFER_TOO_SMALL: NtStatus = nt(0xC000_0023);
/// `STATUS_REVISION_MISMATCH` (0xC0000059).
pub const STATUS_REVISION_MISMATCH: NtStatus = nt(0xC000_0059);
/// `STATUS_INSUFFICIENT_RESOURCES` (0xC000009A).
pub const STATUS_INSUFFICIENT_RESOURCES: NtStatus = nt(0xC000_009A);
/// `STATUS_NOT_SUPPORTED` (0xC00000BB).
pub const STATUS_NOT_SUPPORTED: NtStatus = nt(0xC000_00BB);
/// `STATUS_INVALID_BUFFER_SIZE` (0xC0000206).
pub const STATUS_INVALID_BUFFER_SIZE: NtStatus = nt(0xC000_0206);

/// `ERROR_INVALID_FUNCTION`.
pub const ERROR_INVALID_FUNCTION: u32 = 1;
/// `ERROR_ACCESS_DENIED`.
pub const ERROR_ACCESS_DENIED: u32 = 5;
/// `ERROR_NOT_SUPPORTED`.
pub const ERROR_NOT_SUPPORTED: u32 = 50;
/// `ERROR_INVALID_PARAMETER`.
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// `ERROR_INSUFFICIENT_BUFFER`.
pub const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
/// `ERROR_REVISION_MISMATCH`.
pub const ERROR_REVISION_MISMATCH: u32 = 1306;
/// `ERROR_NO_SYSTEM_RESOURCES`.
pub const ERROR_NO_SYSTEM_RESOURCES: u32 = 1450;
/// `ERROR_INVALID_USER_BUFFER`.
pub const ERROR_INVALID_USER_BUFFER: u32 = 1784;

/// `NT_SUCCESS`: true for success and informational statuses (non-negative values).
#[must_use]
pub const fn nt_success(status: NtStatus) -> bool {
    status >= 0
}

/// Every way the driver fails a request. Parsing errors ([`crate::ParseError`]) and the core's
/// own refusals both reduce to one of these.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Failure {
    /// The IOCTL code is not one of this driver's.
    UnknownRequest,
    /// The input's length is wrong: shorter than the header, different from the size the header
    /// declares, or not exactly the header plus the declared operations.
    InputSize,
    /// The output buffer cannot hold the response.
    OutputTooSmall,
    /// The request is malformed: bad magic or message kind, unknown flags or convention, non-zero
    /// reserved fields, zero or too many operations, a repeat count of 0 or over the limit, too
    /// many calls in total, or a raw-only field set without raw mode.
    Malformed,
    /// The request's protocol version is not the driver's.
    VersionMismatch,
    /// The request asks for raw mode and the driver's policy does not allow it.
    RawNotAllowed,
    /// The driver's readiness checks refused hypercalls on this machine (`hvcall::Refusal`:
    /// no Hv#1 hypervisor, unknown CPU vendor, no hypercall-MSR access, an isolation that
    /// reroutes hypercalls, the guest OS ID or hypercall page not set up); nothing was issued.
    /// The query's `refusal` says which.
    HypercallsRefused,
    /// The memory convention was requested and the driver has no input page.
    NoInputPage,
}

impl Failure {
    /// Every failure, in table order.
    pub const ALL: [Self; 8] = [
        Self::UnknownRequest,
        Self::InputSize,
        Self::OutputTooSmall,
        Self::Malformed,
        Self::VersionMismatch,
        Self::RawNotAllowed,
        Self::HypercallsRefused,
        Self::NoInputPage,
    ];

    /// The NTSTATUS the driver completes the request with.
    #[must_use]
    pub const fn nt_status(self) -> NtStatus {
        match self {
            Self::UnknownRequest => STATUS_INVALID_DEVICE_REQUEST,
            Self::InputSize => STATUS_INVALID_BUFFER_SIZE,
            Self::OutputTooSmall => STATUS_BUFFER_TOO_SMALL,
            Self::Malformed => STATUS_INVALID_PARAMETER,
            Self::VersionMismatch => STATUS_REVISION_MISMATCH,
            Self::RawNotAllowed => STATUS_ACCESS_DENIED,
            Self::HypercallsRefused => STATUS_NOT_SUPPORTED,
            Self::NoInputPage => STATUS_INSUFFICIENT_RESOURCES,
        }
    }

    /// The NTSTATUS's name in `ntstatus.h`.
    #[must_use]
    pub const fn nt_status_name(self) -> &'static str {
        match self {
            Self::UnknownRequest => "STATUS_INVALID_DEVICE_REQUEST",
            Self::InputSize => "STATUS_INVALID_BUFFER_SIZE",
            Self::OutputTooSmall => "STATUS_BUFFER_TOO_SMALL",
            Self::Malformed => "STATUS_INVALID_PARAMETER",
            Self::VersionMismatch => "STATUS_REVISION_MISMATCH",
            Self::RawNotAllowed => "STATUS_ACCESS_DENIED",
            Self::HypercallsRefused => "STATUS_NOT_SUPPORTED",
            Self::NoInputPage => "STATUS_INSUFFICIENT_RESOURCES",
        }
    }

    /// The Win32 error `DeviceIoControl` reports for [`Self::nt_status`].
    #[must_use]
    pub const fn win32_error(self) -> u32 {
        match self {
            Self::UnknownRequest => ERROR_INVALID_FUNCTION,
            Self::InputSize => ERROR_INVALID_USER_BUFFER,
            Self::OutputTooSmall => ERROR_INSUFFICIENT_BUFFER,
            Self::Malformed => ERROR_INVALID_PARAMETER,
            Self::VersionMismatch => ERROR_REVISION_MISMATCH,
            Self::RawNotAllowed => ERROR_ACCESS_DENIED,
            Self::HypercallsRefused => ERROR_NOT_SUPPORTED,
            Self::NoInputPage => ERROR_NO_SYSTEM_RESOURCES,
        }
    }

    /// The Win32 error's name in `winerror.h`.
    #[must_use]
    pub const fn win32_name(self) -> &'static str {
        match self {
            Self::UnknownRequest => "ERROR_INVALID_FUNCTION",
            Self::InputSize => "ERROR_INVALID_USER_BUFFER",
            Self::OutputTooSmall => "ERROR_INSUFFICIENT_BUFFER",
            Self::Malformed => "ERROR_INVALID_PARAMETER",
            Self::VersionMismatch => "ERROR_REVISION_MISMATCH",
            Self::RawNotAllowed => "ERROR_ACCESS_DENIED",
            Self::HypercallsRefused => "ERROR_NOT_SUPPORTED",
            Self::NoInputPage => "ERROR_NO_SYSTEM_RESOURCES",
        }
    }

    /// The failure completed with `status`, if it is one of this driver's.
    #[must_use]
    pub fn from_nt_status(status: NtStatus) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.nt_status() == status)
    }

    /// The failure `DeviceIoControl` reported as `error`, if it is one of this driver's.
    #[must_use]
    pub fn from_win32_error(error: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.win32_error() == error)
    }

    /// What was wrong and what to do, for the console program's message.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::UnknownRequest => {
                "the driver does not know this request: the driver and hvsignal come from different \
                 releases; install the driver that ships with this hvsignal"
            }
            Self::InputSize => {
                "the request's length does not match its header: hvsignal built a request the driver \
                 cannot read; use the driver and hvsignal from the same release"
            }
            Self::OutputTooSmall => {
                "the response buffer is too small for the answer: pass a buffer at least as large as \
                 the response size for this many operations"
            }
            Self::Malformed => {
                "the driver rejected the request as malformed (a field out of range, a reserved field \
                 set, or a raw-only field without raw mode); check the values given, or run with \
                 --backend model to see which field is wrong"
            }
            Self::VersionMismatch => {
                "the driver speaks another protocol version than hvsignal: install the driver that \
                 ships with this hvsignal"
            }
            Self::RawNotAllowed => {
                "raw mode is not allowed by the driver's policy (or the device was opened without \
                 write access): set the DWORD AllowRawHypercalls = 1 under \
                 HKLM\\SYSTEM\\CurrentControlSet\\Services\\HvSignal\\Parameters and restart the \
                 device, or drop the raw options"
            }
            Self::HypercallsRefused => {
                "the driver refuses to issue hypercalls on this machine (no Hv#1 hypervisor, an \
                 unknown CPU vendor, no access to the hypercall MSRs, a confidential VM that \
                 reroutes hypercalls, or hypercalls not enabled by the OS; `hvsignal info` says \
                 which); nothing was issued"
            }
            Self::NoInputPage => {
                "the driver has no memory-convention input page (its allocation failed at start); \
                 use the fast convention or restart the device"
            }
        }
    }
}

/// What the driver's completion status `status` means, or a generic line for a status this
/// driver never returns.
#[must_use]
pub fn describe(status: NtStatus) -> &'static str {
    if status == STATUS_SUCCESS {
        return "the request succeeded";
    }
    match Failure::from_nt_status(status) {
        Some(failure) => failure.describe(),
        None => "the request failed with a status the hvsignal driver does not return itself",
    }
}

/// What the Win32 error `error` from `DeviceIoControl` on the hvsignal device means.
#[must_use]
pub fn describe_win32(error: u32) -> &'static str {
    if error == 0 {
        return "the request succeeded";
    }
    match Failure::from_win32_error(error) {
        Some(failure) => failure.describe(),
        None => "DeviceIoControl failed with an error the hvsignal driver does not cause itself",
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn statuses_have_their_ntstatus_h_values() {
        assert_eq!(STATUS_INVALID_PARAMETER.cast_unsigned(), 0xC000_000D);
        assert_eq!(STATUS_INVALID_DEVICE_REQUEST.cast_unsigned(), 0xC000_0010);
        assert_eq!(STATUS_ACCESS_DENIED.cast_unsigned(), 0xC000_0022);
        assert_eq!(STATUS_BUFFER_TOO_SMALL.cast_unsigned(), 0xC000_0023);
        assert_eq!(STATUS_REVISION_MISMATCH.cast_unsigned(), 0xC000_0059);
        assert_eq!(STATUS_INSUFFICIENT_RESOURCES.cast_unsigned(), 0xC000_009A);
        assert_eq!(STATUS_NOT_SUPPORTED.cast_unsigned(), 0xC000_00BB);
        assert_eq!(STATUS_INVALID_BUFFER_SIZE.cast_unsigned(), 0xC000_0206);
        assert_eq!(STATUS_INVALID_PARAMETER, -1_073_741_811);
        assert!(nt_success(STATUS_SUCCESS));
        assert!(Failure::ALL.iter().all(|f| !nt_success(f.nt_status())));
    }

    #[test]
    fn win32_mapping_is_rtl_nt_status_to_dos_error() {
        let table: [(NtStatus, u32); 8] = [
            (STATUS_INVALID_DEVICE_REQUEST, 1),
            (STATUS_INVALID_BUFFER_SIZE, 1784),
            (STATUS_BUFFER_TOO_SMALL, 122),
            (STATUS_INVALID_PARAMETER, 87),
            (STATUS_REVISION_MISMATCH, 1306),
            (STATUS_ACCESS_DENIED, 5),
            (STATUS_NOT_SUPPORTED, 50),
            (STATUS_INSUFFICIENT_RESOURCES, 1450),
        ];
        for (failure, (status, win32)) in Failure::ALL.into_iter().zip(table) {
            assert_eq!(failure.nt_status(), status, "{failure:?}");
            assert_eq!(failure.win32_error(), win32, "{failure:?}");
            assert_eq!(Failure::from_nt_status(status), Some(failure));
            assert_eq!(Failure::from_win32_error(win32), Some(failure));
        }
    }

    #[test]
    fn failures_stay_distinct_after_the_win32_mapping() {
        let statuses: BTreeSet<_> = Failure::ALL.iter().map(|f| f.nt_status()).collect();
        let errors: BTreeSet<_> = Failure::ALL.iter().map(|f| f.win32_error()).collect();
        let texts: BTreeSet<_> = Failure::ALL.iter().map(|f| f.describe()).collect();
        assert_eq!(statuses.len(), Failure::ALL.len());
        assert_eq!(errors.len(), Failure::ALL.len());
        assert_eq!(texts.len(), Failure::ALL.len());
    }

    #[test]
    fn names_and_descriptions() {
        assert_eq!(
            Failure::RawNotAllowed.nt_status_name(),
            "STATUS_ACCESS_DENIED"
        );
        assert_eq!(
            Failure::HypercallsRefused.win32_name(),
            "ERROR_NOT_SUPPORTED"
        );
        assert!(describe(STATUS_ACCESS_DENIED).contains("AllowRawHypercalls"));
        assert!(describe_win32(50).contains("Hv#1"));
        assert_eq!(describe(STATUS_SUCCESS), "the request succeeded");
        assert_eq!(
            describe(nt(0xC000_0001)),
            "the request failed with a status the hvsignal driver does not return itself"
        );
        assert_eq!(
            describe_win32(2),
            "DeviceIoControl failed with an error the hvsignal driver does not cause itself"
        );
        assert_eq!(Failure::from_nt_status(0), None);
    }
}
