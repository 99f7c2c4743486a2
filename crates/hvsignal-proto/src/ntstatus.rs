//! Every NTSTATUS the hvsignal driver completes a request with or returns from `DriverEntry`
//! and `EvtDriverDeviceAdd`, the Win32 error the console program sees for it (`GetLastError`
//! after `DeviceIoControl`, mapped by `RtlNtStatusToDosError`), when it happens, and the message
//! the program shows. The driver glue (driver/) and the core device take their statuses from here;
//! nothing else defines one.
//!
//! | failure | NTSTATUS | value | Win32 error | value | where |
//! |---|---|---|---|---|---|
//! | [`Failure::UnknownRequest`] | `STATUS_INVALID_DEVICE_REQUEST` | 0xC0000010 | `ERROR_INVALID_FUNCTION` | 1 | request |
//! | [`Failure::InputSize`] | `STATUS_INVALID_BUFFER_SIZE` | 0xC0000206 | `ERROR_INVALID_USER_BUFFER` | 1784 | request |
//! | [`Failure::OutputTooSmall`] | `STATUS_BUFFER_TOO_SMALL` | 0xC0000023 | `ERROR_INSUFFICIENT_BUFFER` | 122 | request |
//! | [`Failure::Malformed`] | `STATUS_INVALID_PARAMETER` | 0xC000000D | `ERROR_INVALID_PARAMETER` | 87 | request |
//! | [`Failure::VersionMismatch`] | `STATUS_REVISION_MISMATCH` | 0xC0000059 | `ERROR_REVISION_MISMATCH` | 1306 | request |
//! | [`Failure::RawNotAllowed`] | `STATUS_ACCESS_DENIED` | 0xC0000022 | `ERROR_ACCESS_DENIED` | 5 | request |
//! | [`Failure::HypercallsRefused`] | `STATUS_NOT_SUPPORTED` | 0xC00000BB | `ERROR_NOT_SUPPORTED` | 50 | request |
//! | [`Failure::NoInputPage`] | `STATUS_INSUFFICIENT_RESOURCES` | 0xC000009A | `ERROR_NO_SYSTEM_RESOURCES` | 1450 | request, device add |
//! | [`Failure::DeviceNotReady`] | `STATUS_INVALID_DEVICE_STATE` | 0xC0000184 | `ERROR_BAD_COMMAND` | 22 | request, device add |
//! | [`Failure::BufferUnavailable`] | `STATUS_INVALID_USER_BUFFER` | 0xC00000E8 | `ERROR_INVALID_USER_BUFFER` | 1784 | request |
//! | [`Failure::InputPageMisaligned`] | `STATUS_DATATYPE_MISALIGNMENT_ERROR` | 0xC00002C5 | `ERROR_NOACCESS` | 998 | device add |
//! | [`Failure::InputPageAddress`] | `STATUS_INVALID_ADDRESS` | 0xC0000141 | `ERROR_UNEXP_NET_ERR` | 59 | device add |
//!
//! Every failure has its own NTSTATUS. After the Win32 mapping all stay distinct but one pair:
//! `STATUS_INVALID_BUFFER_SIZE` and `STATUS_INVALID_USER_BUFFER` both become
//! `ERROR_INVALID_USER_BUFFER`, so [`describe_win32`] names both causes for 1784
//! ([`Failure::from_win32_error`] answers [`Failure::InputSize`], the one a request can actually
//! provoke). A device-add failure leaves no device to open, so the program sees it only as a
//! missing device; the status is in the driver's trace and debug output.
//!
//! Besides these, the driver passes two kinds of status through unchanged: a failed WDF call
//! in `DriverEntry` (`WdfDriverCreate`) or device add (`WdfDeviceCreate`,
//! `WdfDeviceCreateDeviceInterface`, `WdfIoQueueCreate`), and a failed request-buffer retrieval
//! (`WdfRequestRetrieveInputBuffer` / `WdfRequestRetrieveOutputBuffer`, whose documented failures
//! are `STATUS_BUFFER_TOO_SMALL`, `STATUS_INVALID_DEVICE_REQUEST`, `STATUS_INVALID_PARAMETER` and
//! `STATUS_INSUFFICIENT_RESOURCES`, the same values as the failures above).
//!
//! NTSTATUS values are those of `ntstatus.h`; the Win32 mappings are `RtlNtStatusToDosError`'s
//! (cross-checked against Wine's `dlls/ntdll/error.c` table).

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
/// `STATUS_INVALID_USER_BUFFER` (0xC00000E8).
pub const STATUS_INVALID_USER_BUFFER: NtStatus = nt(0xC000_00E8);
/// `STATUS_INVALID_ADDRESS` (0xC0000141).
pub const STATUS_INVALID_ADDRESS: NtStatus = nt(0xC000_0141);
/// `STATUS_INVALID_DEVICE_STATE` (0xC0000184).
pub const STATUS_INVALID_DEVICE_STATE: NtStatus = nt(0xC000_0184);
/// `STATUS_INVALID_BUFFER_SIZE` (0xC0000206).
pub const STATUS_INVALID_BUFFER_SIZE: NtStatus = nt(0xC000_0206);
/// `STATUS_DATATYPE_MISALIGNMENT_ERROR` (0xC00002C5).
pub const STATUS_DATATYPE_MISALIGNMENT_ERROR: NtStatus = nt(0xC000_02C5);

/// `ERROR_INVALID_FUNCTION`.
pub const ERROR_INVALID_FUNCTION: u32 = 1;
/// `ERROR_ACCESS_DENIED`.
pub const ERROR_ACCESS_DENIED: u32 = 5;
/// `ERROR_BAD_COMMAND`.
pub const ERROR_BAD_COMMAND: u32 = 22;
/// `ERROR_NOT_SUPPORTED`.
pub const ERROR_NOT_SUPPORTED: u32 = 50;
/// `ERROR_UNEXP_NET_ERR`.
pub const ERROR_UNEXP_NET_ERR: u32 = 59;
/// `ERROR_INVALID_PARAMETER`.
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// `ERROR_INSUFFICIENT_BUFFER`.
pub const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
/// `ERROR_NOACCESS`.
pub const ERROR_NOACCESS: u32 = 998;
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

/// Where in the driver a failure happens.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Stage {
    /// A device-control request completes with it.
    Request,
    /// `EvtDriverDeviceAdd` returns it: the device does not start.
    DeviceAdd,
    /// Both.
    RequestAndDeviceAdd,
}

impl Stage {
    /// The table's spelling: `request`, `device add` or `request, device add`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::DeviceAdd => "device add",
            Self::RequestAndDeviceAdd => "request, device add",
        }
    }
}

/// Every way the driver fails, with its own NTSTATUS each. Parsing errors
/// ([`crate::ParseError`]), the core's own refusals and the driver glue's failures all reduce to
/// one of these.
///
/// # Examples
///
/// The table of the module documentation, both ways:
///
/// ```
/// use hvsignal_proto::{Failure, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
///
/// let failure = Failure::Malformed;
/// assert_eq!(failure.nt_status(), STATUS_INVALID_PARAMETER);
/// assert_eq!(failure.nt_status() as u32, 0xC000_000D);
/// assert_eq!((failure.win32_error(), failure.win32_name()), (87, "ERROR_INVALID_PARAMETER"));
///
/// // The driver completed with STATUS_NOT_SUPPORTED; the program sees ERROR_NOT_SUPPORTED (50).
/// assert_eq!(Failure::from_nt_status(STATUS_NOT_SUPPORTED), Some(Failure::HypercallsRefused));
/// assert_eq!(Failure::from_win32_error(50), Some(Failure::HypercallsRefused));
/// // 1784 comes from two NTSTATUS values; the one a request can provoke is the answer.
/// assert_eq!(Failure::from_win32_error(1784), Some(Failure::InputSize));
/// assert_eq!(Failure::from_nt_status(0), None);
/// ```
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
    /// The memory convention was requested and the driver has no input page; or, in device add,
    /// the input page could not be allocated (the device does not start).
    NoInputPage,
    /// The device has no context or no request handler: device add did not finish (a request),
    /// or WDF created the device without its context (device add).
    DeviceNotReady,
    /// WDF reported a request buffer as retrieved but returned none, or fewer bytes than the
    /// request's length (a request).
    BufferUnavailable,
    /// The input page `ExAllocatePool2` returned is not page aligned (device add).
    InputPageMisaligned,
    /// The input page has no usable guest-physical address: zero, negative or not page aligned
    /// (device add).
    InputPageAddress,
}

impl Failure {
    /// Every failure, in table order.
    pub const ALL: [Self; 12] = [
        Self::UnknownRequest,
        Self::InputSize,
        Self::OutputTooSmall,
        Self::Malformed,
        Self::VersionMismatch,
        Self::RawNotAllowed,
        Self::HypercallsRefused,
        Self::NoInputPage,
        Self::DeviceNotReady,
        Self::BufferUnavailable,
        Self::InputPageMisaligned,
        Self::InputPageAddress,
    ];

    /// The variant's name, as the tables and the driver's trace events spell it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::UnknownRequest => "UnknownRequest",
            Self::InputSize => "InputSize",
            Self::OutputTooSmall => "OutputTooSmall",
            Self::Malformed => "Malformed",
            Self::VersionMismatch => "VersionMismatch",
            Self::RawNotAllowed => "RawNotAllowed",
            Self::HypercallsRefused => "HypercallsRefused",
            Self::NoInputPage => "NoInputPage",
            Self::DeviceNotReady => "DeviceNotReady",
            Self::BufferUnavailable => "BufferUnavailable",
            Self::InputPageMisaligned => "InputPageMisaligned",
            Self::InputPageAddress => "InputPageAddress",
        }
    }

    /// Where in the driver it happens.
    #[must_use]
    pub const fn stage(self) -> Stage {
        match self {
            Self::UnknownRequest
            | Self::InputSize
            | Self::OutputTooSmall
            | Self::Malformed
            | Self::VersionMismatch
            | Self::RawNotAllowed
            | Self::HypercallsRefused
            | Self::BufferUnavailable => Stage::Request,
            Self::NoInputPage | Self::DeviceNotReady => Stage::RequestAndDeviceAdd,
            Self::InputPageMisaligned | Self::InputPageAddress => Stage::DeviceAdd,
        }
    }

    /// The NTSTATUS the driver completes the request (or fails device add) with.
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
            Self::DeviceNotReady => STATUS_INVALID_DEVICE_STATE,
            Self::BufferUnavailable => STATUS_INVALID_USER_BUFFER,
            Self::InputPageMisaligned => STATUS_DATATYPE_MISALIGNMENT_ERROR,
            Self::InputPageAddress => STATUS_INVALID_ADDRESS,
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
            Self::DeviceNotReady => "STATUS_INVALID_DEVICE_STATE",
            Self::BufferUnavailable => "STATUS_INVALID_USER_BUFFER",
            Self::InputPageMisaligned => "STATUS_DATATYPE_MISALIGNMENT_ERROR",
            Self::InputPageAddress => "STATUS_INVALID_ADDRESS",
        }
    }

    /// The Win32 error `DeviceIoControl` reports for [`Self::nt_status`].
    #[must_use]
    pub const fn win32_error(self) -> u32 {
        match self {
            Self::UnknownRequest => ERROR_INVALID_FUNCTION,
            Self::InputSize | Self::BufferUnavailable => ERROR_INVALID_USER_BUFFER,
            Self::OutputTooSmall => ERROR_INSUFFICIENT_BUFFER,
            Self::Malformed => ERROR_INVALID_PARAMETER,
            Self::VersionMismatch => ERROR_REVISION_MISMATCH,
            Self::RawNotAllowed => ERROR_ACCESS_DENIED,
            Self::HypercallsRefused => ERROR_NOT_SUPPORTED,
            Self::NoInputPage => ERROR_NO_SYSTEM_RESOURCES,
            Self::DeviceNotReady => ERROR_BAD_COMMAND,
            Self::InputPageMisaligned => ERROR_NOACCESS,
            Self::InputPageAddress => ERROR_UNEXP_NET_ERR,
        }
    }

    /// The Win32 error's name in `winerror.h`.
    #[must_use]
    pub const fn win32_name(self) -> &'static str {
        match self {
            Self::UnknownRequest => "ERROR_INVALID_FUNCTION",
            Self::InputSize | Self::BufferUnavailable => "ERROR_INVALID_USER_BUFFER",
            Self::OutputTooSmall => "ERROR_INSUFFICIENT_BUFFER",
            Self::Malformed => "ERROR_INVALID_PARAMETER",
            Self::VersionMismatch => "ERROR_REVISION_MISMATCH",
            Self::RawNotAllowed => "ERROR_ACCESS_DENIED",
            Self::HypercallsRefused => "ERROR_NOT_SUPPORTED",
            Self::NoInputPage => "ERROR_NO_SYSTEM_RESOURCES",
            Self::DeviceNotReady => "ERROR_BAD_COMMAND",
            Self::InputPageMisaligned => "ERROR_NOACCESS",
            Self::InputPageAddress => "ERROR_UNEXP_NET_ERR",
        }
    }

    /// The failure completed with `status`, if it is one of this driver's.
    #[must_use]
    pub fn from_nt_status(status: NtStatus) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.nt_status() == status)
    }

    /// The failure `DeviceIoControl` reported as `error`, if it is one of this driver's. For
    /// `ERROR_INVALID_USER_BUFFER`, shared by [`Self::InputSize`] and
    /// [`Self::BufferUnavailable`], the answer is `InputSize`: the one a request can provoke
    /// (the other means WDF broke its own contract); [`describe_win32`] names both.
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
            Self::DeviceNotReady => {
                "the driver's device is not ready (its start did not finish); restart the device \
                 and read the driver's trace or debug output for why"
            }
            Self::BufferUnavailable => {
                "the framework handed the driver no usable request buffer; retry, and report it \
                 with the driver's trace if it persists"
            }
            Self::InputPageMisaligned => {
                "the driver could not start: its hypercall input page is not page aligned; restart \
                 the device"
            }
            Self::InputPageAddress => {
                "the driver could not start: its hypercall input page has no usable physical \
                 address; restart the device"
            }
        }
    }
}

/// What `ERROR_INVALID_USER_BUFFER` means: either of the two failures that map to it.
const INVALID_USER_BUFFER_TEXT: &str = "the request's length does not match its header (hvsignal \
     built a request the driver cannot read: use the driver and hvsignal from the same release), \
     or the framework handed the driver no usable request buffer (retry, and report it with the \
     driver's trace if it persists)";

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
    if error == ERROR_INVALID_USER_BUFFER {
        return INVALID_USER_BUFFER_TEXT;
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
    use std::string::{String, ToString};
    use std::vec::Vec;

    #[test]
    fn statuses_have_their_ntstatus_h_values() {
        assert_eq!(STATUS_INVALID_PARAMETER.cast_unsigned(), 0xC000_000D);
        assert_eq!(STATUS_INVALID_DEVICE_REQUEST.cast_unsigned(), 0xC000_0010);
        assert_eq!(STATUS_ACCESS_DENIED.cast_unsigned(), 0xC000_0022);
        assert_eq!(STATUS_BUFFER_TOO_SMALL.cast_unsigned(), 0xC000_0023);
        assert_eq!(STATUS_REVISION_MISMATCH.cast_unsigned(), 0xC000_0059);
        assert_eq!(STATUS_INSUFFICIENT_RESOURCES.cast_unsigned(), 0xC000_009A);
        assert_eq!(STATUS_NOT_SUPPORTED.cast_unsigned(), 0xC000_00BB);
        assert_eq!(STATUS_INVALID_USER_BUFFER.cast_unsigned(), 0xC000_00E8);
        assert_eq!(STATUS_INVALID_ADDRESS.cast_unsigned(), 0xC000_0141);
        assert_eq!(STATUS_INVALID_DEVICE_STATE.cast_unsigned(), 0xC000_0184);
        assert_eq!(STATUS_INVALID_BUFFER_SIZE.cast_unsigned(), 0xC000_0206);
        assert_eq!(
            STATUS_DATATYPE_MISALIGNMENT_ERROR.cast_unsigned(),
            0xC000_02C5
        );
        assert_eq!(STATUS_INVALID_PARAMETER, -1_073_741_811);
        assert!(nt_success(STATUS_SUCCESS));
        assert!(Failure::ALL.iter().all(|f| !nt_success(f.nt_status())));
    }

    #[test]
    fn win32_mapping_is_rtl_nt_status_to_dos_error() {
        // RtlNtStatusToDosError, as in Wine's dlls/ntdll/error.c.
        let table: [(NtStatus, u32); 12] = [
            (STATUS_INVALID_DEVICE_REQUEST, 1),
            (STATUS_INVALID_BUFFER_SIZE, 1784),
            (STATUS_BUFFER_TOO_SMALL, 122),
            (STATUS_INVALID_PARAMETER, 87),
            (STATUS_REVISION_MISMATCH, 1306),
            (STATUS_ACCESS_DENIED, 5),
            (STATUS_NOT_SUPPORTED, 50),
            (STATUS_INSUFFICIENT_RESOURCES, 1450),
            (STATUS_INVALID_DEVICE_STATE, 22),
            (STATUS_INVALID_USER_BUFFER, 1784),
            (STATUS_DATATYPE_MISALIGNMENT_ERROR, 998),
            (STATUS_INVALID_ADDRESS, 59),
        ];
        for (failure, (status, win32)) in Failure::ALL.into_iter().zip(table) {
            assert_eq!(failure.nt_status(), status, "{failure:?}");
            assert_eq!(failure.win32_error(), win32, "{failure:?}");
            assert_eq!(Failure::from_nt_status(status), Some(failure));
        }
        assert_eq!(
            Failure::from_win32_error(1784),
            Some(Failure::InputSize),
            "the shared error answers the failure a request can provoke"
        );
        for failure in Failure::ALL {
            if failure != Failure::BufferUnavailable {
                assert_eq!(
                    Failure::from_win32_error(failure.win32_error()),
                    Some(failure)
                );
            }
        }
    }

    #[test]
    fn failures_stay_distinct_but_one_documented_pair_after_the_win32_mapping() {
        let statuses: BTreeSet<_> = Failure::ALL.iter().map(|f| f.nt_status()).collect();
        let names: BTreeSet<_> = Failure::ALL.iter().map(|f| f.name()).collect();
        let errors: BTreeSet<_> = Failure::ALL.iter().map(|f| f.win32_error()).collect();
        let texts: BTreeSet<_> = Failure::ALL.iter().map(|f| f.describe()).collect();
        assert_eq!(statuses.len(), Failure::ALL.len());
        assert_eq!(names.len(), Failure::ALL.len());
        assert_eq!(texts.len(), Failure::ALL.len());
        assert_eq!(errors.len(), Failure::ALL.len() - 1);
        let sharing: Vec<_> = Failure::ALL
            .into_iter()
            .filter(|f| f.win32_error() == ERROR_INVALID_USER_BUFFER)
            .collect();
        assert_eq!(sharing, [Failure::InputSize, Failure::BufferUnavailable]);
    }

    #[test]
    fn every_win32_error_is_described_as_its_failures() {
        for failure in Failure::ALL {
            let text = describe_win32(failure.win32_error());
            if failure.win32_error() == ERROR_INVALID_USER_BUFFER {
                assert_eq!(text, INVALID_USER_BUFFER_TEXT);
            } else {
                assert_eq!(text, failure.describe(), "{failure:?}");
            }
            assert_eq!(describe(failure.nt_status()), failure.describe());
        }
        assert!(INVALID_USER_BUFFER_TEXT.contains("does not match its header"));
        assert!(INVALID_USER_BUFFER_TEXT.contains("no usable request buffer"));
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
        assert_eq!(Failure::DeviceNotReady.name(), "DeviceNotReady");
        assert_eq!(Failure::InputPageAddress.stage(), Stage::DeviceAdd);
        assert_eq!(Failure::NoInputPage.stage().name(), "request, device add");
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

    /// The rows of the module documentation's table and of docs/PROTOCOL.md's, cell by cell.
    fn table_rows(text: &str, first_header: &str) -> Vec<Vec<String>> {
        let mut lines = text.lines().map(|l| l.trim_start_matches("//!").trim());
        let header = lines
            .position(|l| {
                l.replace('`', "")
                    .starts_with(&std::format!("| {first_header} |"))
            })
            .map(|_| ());
        assert!(header.is_some(), "no table starting with `{first_header}`");
        lines
            .skip(1)
            .take_while(|l| l.starts_with('|'))
            .map(|l| {
                l.trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().replace('`', ""))
                    .collect()
            })
            .collect()
    }

    fn hex(status: NtStatus) -> String {
        std::format!("0x{:08X}", status.cast_unsigned())
    }

    #[test]
    fn the_module_table_is_the_code() {
        let rows = table_rows(include_str!("ntstatus.rs"), "failure");
        assert_eq!(rows.len(), Failure::ALL.len());
        for (row, failure) in rows.iter().zip(Failure::ALL) {
            let expected = [
                std::format!("[Failure::{}]", failure.name()),
                failure.nt_status_name().into(),
                hex(failure.nt_status()),
                failure.win32_name().into(),
                failure.win32_error().to_string(),
                failure.stage().name().into(),
            ];
            assert_eq!(row.as_slice(), expected.as_slice(), "{failure:?}");
        }
    }

    #[test]
    fn the_protocol_documents_table_is_the_code() {
        let rows = table_rows(include_str!("../../../docs/PROTOCOL.md"), "Failure");
        assert_eq!(rows.len(), Failure::ALL.len());
        for (row, failure) in rows.iter().zip(Failure::ALL) {
            let expected = [
                failure.name().into(),
                failure.nt_status_name().into(),
                hex(failure.nt_status()),
                failure.win32_name().into(),
                failure.win32_error().to_string(),
                failure.stage().name().into(),
            ];
            assert_eq!(row.get(..6), Some(expected.as_slice()), "{failure:?}");
            assert_eq!(row.len(), 7, "{failure:?}: a meaning column follows");
        }
    }
}
