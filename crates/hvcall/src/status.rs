//! `HV_STATUS`: the 16-bit status in bits 15:0 of every hypercall result.
//!
//! Numeric values are those of TLFS 6.0b appendix B cross-checked with OpenVMM `HvError`, Linux
//! `hvgdk_mini.h`, QEMU and the HDK (docs/HYPERCALL.md, Status codes). Where the sources
//! disagree the majority wins and the disagreement is noted in the meaning: 0x0010 is reserved
//! in TLFS 6.0b but named NOT_FOUND by every implementation; TLFS 6.0b misprints
//! INSUFFICIENT_BUFFERS as 0x0033.
//! Unknown values are preserved as they are and reported as unknown, never mapped to a neighbour.

use core::fmt;

/// An `HV_STATUS` value. Any 16-bit value is representable; [`HvStatus::name`] says whether it
/// is a known one.
///
/// # Examples
///
/// ```
/// use hvcall::HvStatus;
///
/// let status = HvStatus::from_code(0x0012);
/// assert_eq!(status, HvStatus::INVALID_CONNECTION_ID);
/// assert_eq!(status.name(), Some("HV_STATUS_INVALID_CONNECTION_ID"));
/// assert_eq!(status.to_string(), "HV_STATUS_INVALID_CONNECTION_ID (0x0012)");
/// assert!(status.is_listed_for_signal_event());
///
/// // An unknown value stays what it is.
/// let unknown = HvStatus::from_code(0x1234);
/// assert_eq!((unknown.code(), unknown.name()), (0x1234, None));
/// assert_eq!(unknown.to_string(), "unknown HV_STATUS (0x1234)");
/// ```
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct HvStatus(u16);

// The register (or field) it is, checked at compile time.
const _: () = assert!(size_of::<HvStatus>() == 2);

/// One known status: value, TLFS name and meaning.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct StatusInfo {
    /// The status.
    pub status: HvStatus,
    /// The full TLFS name, e.g. `HV_STATUS_INVALID_CONNECTION_ID`.
    pub name: &'static str,
    /// What it means, in one line.
    pub meaning: &'static str,
}

macro_rules! statuses {
    ($( $code:literal $ident:ident $meaning:literal ;)*) => {
        impl HvStatus {
            $(
                #[doc = $meaning]
                pub const $ident: Self = Self($code);
            )*
        }

        /// Every known status, in ascending order of value.
        pub const KNOWN_STATUSES: &[StatusInfo] = &[
            $( StatusInfo {
                status: HvStatus::$ident,
                name: concat!("HV_STATUS_", stringify!($ident)),
                meaning: $meaning,
            }, )*
        ];
    };
}

statuses! {
    0x0000 SUCCESS "The operation succeeded.";
    0x0002 INVALID_HYPERCALL_CODE "The hypervisor does not support the call code, or the caller may not use it.";
    0x0003 INVALID_HYPERCALL_INPUT "The control word is malformed: a rep count, rep start, variable header or reserved bit where none is allowed.";
    0x0004 INVALID_ALIGNMENT "An input or output GPA is not 8-byte aligned, crosses a page, or lies outside the GPA space.";
    0x0005 INVALID_PARAMETER "A parameter is invalid; for SignalEvent, the flag number is not below the port's flag count.";
    0x0006 ACCESS_DENIED "The caller lacks the privilege; for SignalEvent, the SignalEvents partition privilege.";
    0x0007 INVALID_PARTITION_STATE "The partition is not in a state that allows the operation.";
    0x0008 OPERATION_DENIED "The operation is denied (OpenVMM: the caller's VTL is below the port's minimum VTL).";
    0x0009 UNKNOWN_PROPERTY "The partition property is unknown.";
    0x000A PROPERTY_VALUE_OUT_OF_RANGE "The partition property value is out of range.";
    0x000B INSUFFICIENT_MEMORY "Not enough memory to complete the operation.";
    0x000C PARTITION_TOO_DEEP "The maximum partition depth has been exceeded.";
    0x000D INVALID_PARTITION_ID "The partition ID is invalid.";
    0x000E INVALID_VP_INDEX "The VP index is invalid; for SignalEvent, the port's target VP no longer exists or no VP is available.";
    0x0010 NOT_FOUND "The item was not found (named by OpenVMM, Linux and the HDK; reserved in TLFS 6.0b).";
    0x0011 INVALID_PORT_ID "The port is invalid; for SignalEvent, it was deleted, is not an event port, or its partition is not active.";
    0x0012 INVALID_CONNECTION_ID "The connection ID is invalid: no connection with this ID exists for the caller.";
    0x0013 INSUFFICIENT_BUFFERS "Not enough message buffers (TLFS 6.0b misprints this value as 0x0033).";
    0x0014 NOT_ACKNOWLEDGED "The previous virtual interrupt has not been acknowledged.";
    0x0015 INVALID_VP_STATE "The virtual processor is not in the right state for the operation.";
    0x0016 ACKNOWLEDGED "The previous virtual interrupt has already been acknowledged.";
    0x0017 INVALID_SAVE_RESTORE_STATE "The save or restore state of the partition is invalid.";
    0x0018 INVALID_SYNIC_STATE "The SynIC is not ready; for SignalEvent, the target's SynIC or SIEF page is disabled or its SINT is masked.";
    0x0019 OBJECT_IN_USE "The object is in use.";
    0x001A INVALID_PROXIMITY_DOMAIN_INFO "The proximity domain information is invalid.";
    0x001B NO_DATA "No data is available.";
    0x001C INACTIVE "The item is inactive.";
    0x001D NO_RESOURCES "No resources are available to complete the operation.";
    0x001E FEATURE_UNAVAILABLE "The requested feature is not available.";
    0x001F PARTIAL_PACKET "Only part of a packet was delivered.";
    0x0020 PROCESSOR_FEATURE_NOT_SUPPORTED "A required processor feature is not supported.";
    0x0030 PROCESSOR_CACHE_LINE_FLUSH_SIZE_INCOMPATIBLE "The processor's cache-line flush size is incompatible.";
    0x0033 INSUFFICIENT_BUFFER "A supplied buffer is too small.";
    0x0037 INCOMPATIBLE_PROCESSOR "The processor is incompatible.";
    0x0038 INSUFFICIENT_DEVICE_DOMAINS "Not enough device domains.";
    0x003C CPUID_FEATURE_VALIDATION_ERROR "CPUID feature validation failed.";
    0x003D CPUID_XSAVE_FEATURE_VALIDATION_ERROR "CPUID XSAVE feature validation failed.";
    0x003E PROCESSOR_STARTUP_TIMEOUT "A processor did not start in time.";
    0x003F SMX_ENABLED "SMX is enabled.";
    0x0041 INVALID_LP_INDEX "The logical processor index is invalid.";
    0x0050 INVALID_REGISTER_VALUE "A register value is invalid.";
    0x0051 INVALID_VTL_STATE "The VTL state is invalid.";
    0x0055 NX_NOT_DETECTED "No-execute support was not detected.";
    0x0057 INVALID_DEVICE_ID "The device ID is invalid.";
    0x0058 INVALID_DEVICE_STATE "The device is not in the right state.";
    0x0059 PENDING_PAGE_REQUESTS "Page requests are pending.";
    0x0060 PAGE_REQUEST_INVALID "The page request is invalid.";
    0x0065 KEY_ALREADY_EXISTS "The key already exists (OpenVMM).";
    0x0066 DEVICE_ALREADY_IN_DOMAIN "The device is already in a domain (OpenVMM).";
    0x006F INVALID_CPU_GROUP_ID "The CPU group ID is invalid (OpenVMM).";
    0x0070 INVALID_CPU_GROUP_STATE "The CPU group is not in the right state (OpenVMM).";
    0x0071 OPERATION_FAILED "The operation failed.";
    0x0072 NOT_ALLOWED_WITH_NESTED_VIRT_ACTIVE "The operation is not allowed while nested virtualization is active.";
    0x0073 INSUFFICIENT_ROOT_MEMORY "The root partition does not have enough memory (OpenVMM).";
    0x0074 EVENT_BUFFER_ALREADY_FREED "The event buffer was already freed (OpenVMM).";
    0x0075 INSUFFICIENT_CONTIGUOUS_MEMORY "Not enough contiguous memory (Linux).";
    0x0078 TIME_OUT "The operation timed out (OpenVMM, Linux).";
    0x0079 CALL_PENDING "The call is pending (Linux).";
    0x0083 INSUFFICIENT_CONTIGUOUS_ROOT_MEMORY "The root partition does not have enough contiguous memory (Linux).";
    0x0086 VTL_ALREADY_ENABLED "The VTL is already enabled.";
    0x0087 UNKNOWN_REGISTER_NAME "The register name is unknown (OpenVMM).";
}

/// The statuses the TLFS lists on the `HvCallSignalEvent` page, exactly: its return-value table
/// (docs/HYPERCALL.md, Documented return values).
pub const SIGNAL_EVENT_PAGE_STATUSES: &[HvStatus] = &[
    HvStatus::ACCESS_DENIED,
    HvStatus::INVALID_CONNECTION_ID,
    HvStatus::INVALID_PORT_ID,
    HvStatus::INVALID_PARAMETER,
    HvStatus::INVALID_VP_INDEX,
    HvStatus::INVALID_SYNIC_STATE,
];

/// The statuses the TLFS hypercall-interface chapter lists as common to every hypercall, and so
/// does not repeat on each hypercall's page (docs/HYPERCALL.md, Statuses common to every
/// hypercall).
pub const COMMON_HYPERCALL_STATUSES: &[HvStatus] = &[
    HvStatus::SUCCESS,
    HvStatus::INVALID_HYPERCALL_CODE,
    HvStatus::INVALID_HYPERCALL_INPUT,
    HvStatus::INVALID_ALIGNMENT,
];

/// Every status the TLFS allows `HvCallSignalEvent` to return: [`SIGNAL_EVENT_PAGE_STATUSES`]
/// and [`COMMON_HYPERCALL_STATUSES`], in ascending order.
pub const SIGNAL_EVENT_STATUSES: &[HvStatus] = &[
    HvStatus::SUCCESS,
    HvStatus::INVALID_HYPERCALL_CODE,
    HvStatus::INVALID_HYPERCALL_INPUT,
    HvStatus::INVALID_ALIGNMENT,
    HvStatus::INVALID_PARAMETER,
    HvStatus::ACCESS_DENIED,
    HvStatus::INVALID_VP_INDEX,
    HvStatus::INVALID_PORT_ID,
    HvStatus::INVALID_CONNECTION_ID,
    HvStatus::INVALID_SYNIC_STATE,
];

impl HvStatus {
    /// The status with this numeric value, known or not.
    #[must_use]
    pub const fn from_code(code: u16) -> Self {
        Self(code)
    }

    /// The numeric value.
    #[must_use]
    pub const fn code(self) -> u16 {
        self.0
    }

    /// True for `HV_STATUS_SUCCESS`.
    #[must_use]
    pub const fn is_success(self) -> bool {
        self.0 == 0
    }

    /// The table entry of a known status.
    #[must_use]
    pub fn info(self) -> Option<&'static StatusInfo> {
        KNOWN_STATUSES
            .binary_search_by_key(&self.0, |info| info.status.0)
            .ok()
            .and_then(|index| KNOWN_STATUSES.get(index))
    }

    /// The full TLFS name (`HV_STATUS_…`), or `None` for an unknown value.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|info| info.name)
    }

    /// A one-line meaning, or `None` for an unknown value.
    #[must_use]
    pub fn meaning(self) -> Option<&'static str> {
        self.info().map(|info| info.meaning)
    }

    /// Looks a status up by name: `HV_STATUS_INVALID_PORT_ID`, `INVALID_PORT_ID` and
    /// `invalid_port_id` all match. `None` for a name no known status has.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::HvStatus;
    ///
    /// assert_eq!(HvStatus::from_name("HV_STATUS_INVALID_PORT_ID"), Some(HvStatus::INVALID_PORT_ID));
    /// assert_eq!(HvStatus::from_name("invalid_port_id").map(HvStatus::code), Some(0x0011));
    /// assert_eq!(HvStatus::from_name("HV_STATUS_NO_SUCH_STATUS"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        let short = strip_prefix_ignore_case(name, "HV_STATUS_").unwrap_or(name);
        KNOWN_STATUSES.iter().find_map(|info| {
            let known_short = info.name.get("HV_STATUS_".len()..).unwrap_or(info.name);
            known_short
                .eq_ignore_ascii_case(short)
                .then_some(info.status)
        })
    }

    /// True when the TLFS allows `HvCallSignalEvent` to return this status: on the call's own
    /// page or as a status common to every hypercall.
    #[must_use]
    pub fn is_listed_for_signal_event(self) -> bool {
        self.signal_event_listing().is_some()
    }

    /// Where the TLFS lists this status for `HvCallSignalEvent`, if it does.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::HvStatus;
    /// use hvcall::status::SignalEventListing;
    ///
    /// assert_eq!(
    ///     HvStatus::ACCESS_DENIED.signal_event_listing(),
    ///     Some(SignalEventListing::SignalEventPage)
    /// );
    /// assert_eq!(
    ///     HvStatus::INVALID_ALIGNMENT.signal_event_listing(),
    ///     Some(SignalEventListing::AnyHypercall)
    /// );
    /// assert_eq!(HvStatus::INSUFFICIENT_MEMORY.signal_event_listing(), None);
    /// ```
    #[must_use]
    pub fn signal_event_listing(self) -> Option<SignalEventListing> {
        if SIGNAL_EVENT_PAGE_STATUSES.contains(&self) {
            Some(SignalEventListing::SignalEventPage)
        } else if COMMON_HYPERCALL_STATUSES.contains(&self) {
            Some(SignalEventListing::AnyHypercall)
        } else {
            None
        }
    }
}

/// Where the TLFS lists a status as a result of `HvCallSignalEvent`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SignalEventListing {
    /// In the return-value table of the TLFS `HvCallSignalEvent` page.
    SignalEventPage,
    /// Not on that page: a status any hypercall can return (TLFS hypercall interface, "Common
    /// Hypercall Status Codes").
    AnyHypercall,
}

impl SignalEventListing {
    /// A stable name for scripts: `signal-event-page` or `any-hypercall`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::SignalEventPage => "signal-event-page",
            Self::AnyHypercall => "any-hypercall",
        }
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

impl fmt::Display for HvStatus {
    /// `HV_STATUS_INVALID_CONNECTION_ID (0x0012)`, or `unknown HV_STATUS (0x1234)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#06x})", self.0),
            None => write!(f, "unknown HV_STATUS ({:#06x})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(KNOWN_STATUSES.windows(2).all(|w| w[0].status < w[1].status));
    }

    #[test]
    fn the_signal_event_codes_have_their_tlfs_numbers() {
        assert_eq!(HvStatus::INVALID_HYPERCALL_CODE.code(), 0x02);
        assert_eq!(HvStatus::INVALID_HYPERCALL_INPUT.code(), 0x03);
        assert_eq!(HvStatus::INVALID_ALIGNMENT.code(), 0x04);
        assert_eq!(HvStatus::INVALID_PARAMETER.code(), 0x05);
        assert_eq!(HvStatus::ACCESS_DENIED.code(), 0x06);
        assert_eq!(HvStatus::INVALID_VP_INDEX.code(), 0x0E);
        assert_eq!(HvStatus::INVALID_PORT_ID.code(), 0x11);
        assert_eq!(HvStatus::INVALID_CONNECTION_ID.code(), 0x12);
        assert_eq!(HvStatus::INVALID_SYNIC_STATE.code(), 0x18);
        assert_eq!(SIGNAL_EVENT_STATUSES.len(), 10);
    }

    #[test]
    fn signal_event_statuses_are_split_as_the_tlfs_lists_them() {
        // The HvCallSignalEvent page's return-value table, and the hypercall interface's common
        // codes, written out by value.
        let page: std::vec::Vec<u16> = (0..=0xFFFF_u16)
            .filter(|&code| {
                HvStatus::from_code(code).signal_event_listing()
                    == Some(SignalEventListing::SignalEventPage)
            })
            .collect();
        assert_eq!(page, [0x05, 0x06, 0x0E, 0x11, 0x12, 0x18]);
        let common: std::vec::Vec<u16> = (0..=0xFFFF_u16)
            .filter(|&code| {
                HvStatus::from_code(code).signal_event_listing()
                    == Some(SignalEventListing::AnyHypercall)
            })
            .collect();
        assert_eq!(common, [0x00, 0x02, 0x03, 0x04]);
        let mut union = SIGNAL_EVENT_PAGE_STATUSES.to_vec();
        union.extend_from_slice(COMMON_HYPERCALL_STATUSES);
        union.sort();
        assert_eq!(SIGNAL_EVENT_STATUSES, union.as_slice());
        assert!(SIGNAL_EVENT_STATUSES.windows(2).all(|w| w[0] < w[1]));
        for code in 0..=0xFFFF_u16 {
            let status = HvStatus::from_code(code);
            assert_eq!(
                status.is_listed_for_signal_event(),
                status.signal_event_listing().is_some(),
                "{code:#x}"
            );
        }
        assert_eq!(HvStatus::OPERATION_DENIED.signal_event_listing(), None);
        assert_eq!(
            SignalEventListing::SignalEventPage.name(),
            "signal-event-page"
        );
        assert_eq!(SignalEventListing::AnyHypercall.name(), "any-hypercall");
    }

    #[test]
    fn unknown_values_are_preserved_and_said_to_be_unknown() {
        for code in [0x0001, 0x000F, 0x0021, 0x1016, 0xFFFF] {
            let status = HvStatus::from_code(code);
            assert_eq!(status.code(), code);
            assert_eq!(status.name(), None);
            assert_eq!(status.meaning(), None);
        }
        assert_eq!(
            HvStatus::from_code(0x1234).to_string(),
            "unknown HV_STATUS (0x1234)"
        );
        assert_eq!(
            HvStatus::INVALID_CONNECTION_ID.to_string(),
            "HV_STATUS_INVALID_CONNECTION_ID (0x0012)"
        );
        assert_eq!(HvStatus::from_name("HV_STATUS_NO_SUCH_THING"), None);
        assert_eq!(HvStatus::from_name(""), None);
    }
}
