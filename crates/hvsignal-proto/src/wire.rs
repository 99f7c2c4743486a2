//! The byte layouts of every message, protocol version 2 ([`PROTOCOL_VERSION`]). All structs
//! are `#[repr(C)]`, little-endian, with every padding byte an explicit `reserved` field that is
//! written as zero, so a message is fully defined by its fields and no uninitialised byte can
//! reach user mode. Sizes and offsets
//! are asserted in the tests below and described byte by byte in `docs/PROTOCOL.md`.
//!
//! Every message starts with a [`MessageHeader`]; its `magic` and `version` fields stay at
//! offsets 0 and 4 in every future version, so any reader can tell which version it was sent.

use hvcall::CpuidResult;
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

// The layouts are little-endian; every target the driver and program run on is.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "hvsignal's wire format is little-endian"
);

/// `"HvSg"` read as a little-endian `u32`: bytes 48 76 53 67.
pub const MAGIC: u32 = u32::from_le_bytes(*b"HvSg");

/// The protocol version this crate speaks. Version 2 added the hypercall-readiness facts to the
/// query response (guest OS ID and hypercall MSRs, isolation leaf, the refusal) and, to the
/// signal messages, per-operation options, the timer overhead and the trailing samples or
/// log-linear histogram entries after the 80-byte results.
pub const PROTOCOL_VERSION: u16 = 2;

/// Most operations in one signal request.
///
/// With [`MAX_CALLS_PER_REQUEST`] this bounds the parsed request (64 operations, kept in the
/// device, not on the stack) and the response ([`MAX_SIGNAL_RESPONSE_SIZE`]).
pub const MAX_OPERATIONS: usize = 64;

/// Most hypercalls in one signal request (the sum of every operation's repeat count), and so
/// also the largest repeat count of one operation.
///
/// A request runs to completion in the driver without yielding; 10 000 calls keep it well under
/// a second: the TLFS asks the hypervisor to keep any hypercall under 50 µs (0.5 s for 10 000
/// calls at that ceiling), and a fast `HvCallSignalEvent` takes about 1–2 µs (10–20 ms per
/// request). The console program splits larger jobs into several requests.
pub const MAX_CALLS_PER_REQUEST: u32 = 10_000;

/// Cycle counts below this are histogram buckets of their own (width 1).
pub const HISTOGRAM_LINEAR_LIMIT: u32 = 256;
/// Above [`HISTOGRAM_LINEAR_LIMIT`], each power of two `[2^e, 2^(e+1))` is split into this many
/// equal buckets, so a bucket is at most 1/128 of its lower bound wide: any value inside it is
/// within 0.79 % of any other (log-linear buckets, as HdrHistogram does).
pub const HISTOGRAM_SUB_BUCKETS: u32 = 128;
/// Number of histogram buckets: 256 exact values, then 128 per power of two from 2^8 to 2^31.
/// Cycle counts of 2^32 and more are counted in the last bucket (min, max and sum stay exact).
pub const HISTOGRAM_BUCKETS: usize = 256 + 24 * 128;
/// The largest relative width of a histogram bucket, in parts per million: 1/128.
pub const HISTOGRAM_RELATIVE_ERROR_PPM: u32 = 7_813;

/// [`MessageHeader::kind`] of a [`QueryResponse`].
pub const KIND_QUERY_RESPONSE: u16 = 1;
/// [`MessageHeader::kind`] of a signal request.
pub const KIND_SIGNAL_REQUEST: u16 = 2;
/// [`MessageHeader::kind`] of a signal response.
pub const KIND_SIGNAL_RESPONSE: u16 = 3;

/// The first 16 bytes of every message.
#[repr(C)]
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct MessageHeader {
    /// [`MAGIC`].
    pub magic: u32,
    /// [`PROTOCOL_VERSION`].
    pub version: u16,
    /// `KIND_*`.
    pub kind: u16,
    /// Total size of the message in bytes, this header included.
    pub size: u32,
    /// Zero.
    pub reserved: u32,
}

impl MessageHeader {
    /// A current-version header of `kind` for a message of `size` bytes.
    #[must_use]
    pub const fn new(kind: u16, size: u32) -> Self {
        Self {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
            kind,
            size,
            reserved: 0,
        }
    }

    /// The checks every reader makes first, in this order: magic, version, kind. The one place
    /// they are made; the request parser and the response readers turn the mismatch into
    /// their own error.
    ///
    /// # Errors
    /// The first of the three fields that is not what a current-version `kind` message has.
    pub const fn check(&self, kind: u16) -> Result<(), HeaderMismatch> {
        if self.magic != MAGIC {
            return Err(HeaderMismatch::BadMagic { found: self.magic });
        }
        if self.version != PROTOCOL_VERSION {
            return Err(HeaderMismatch::UnsupportedVersion {
                found: self.version,
            });
        }
        if self.kind != kind {
            return Err(HeaderMismatch::WrongKind {
                found: self.kind,
                expected: kind,
            });
        }
        Ok(())
    }
}

/// Why a [`MessageHeader`] is not the one expected ([`MessageHeader::check`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum HeaderMismatch {
    /// The first four bytes are not [`MAGIC`].
    BadMagic {
        /// What was there.
        found: u32,
    },
    /// Another protocol version than [`PROTOCOL_VERSION`].
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// Another kind of message.
    WrongKind {
        /// The kind found.
        found: u16,
        /// The kind expected.
        expected: u16,
    },
}

impl HeaderMismatch {
    /// The check that failed, by name (the variant's), for traces.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BadMagic { .. } => "BadMagic",
            Self::UnsupportedVersion { .. } => "UnsupportedVersion",
            Self::WrongKind { .. } => "WrongKind",
        }
    }
}

/// A version number `major.minor.patch`.
#[repr(C)]
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct VersionTriple {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Patch.
    pub patch: u16,
    /// Zero.
    pub reserved: u16,
}

/// [`QueryResponse::flags`]: CPUID leaf 1 ECX bit 31 (a hypervisor is present).
pub const QUERY_FLAG_HYPERVISOR_PRESENT: u32 = 1 << 0;
/// [`QueryResponse::flags`]: leaf 0x40000001 says `Hv#1` and leaf 0x40000000 reports at least
/// 0x40000003.
pub const QUERY_FLAG_HV1_INTERFACE: u32 = 1 << 1;
/// [`QueryResponse::flags`]: the driver issues hypercalls (every readiness check passed,
/// [`QueryResponse::refusal`] is 0); when clear, signal requests fail with
/// `STATUS_NOT_SUPPORTED`.
pub const QUERY_FLAG_HYPERCALLS_AVAILABLE: u32 = 1 << 2;
/// [`QueryResponse::flags`]: the memory convention is available (the driver has its input page).
pub const QUERY_FLAG_MEMORY_CONVENTION: u32 = 1 << 3;
/// [`QueryResponse::flags`]: the policy allows raw mode (`AllowRawHypercalls` = 1).
pub const QUERY_FLAG_RAW_ALLOWED: u32 = 1 << 4;
/// Every defined query flag.
pub const QUERY_FLAGS_ALL: u32 = QUERY_FLAG_HYPERVISOR_PRESENT
    | QUERY_FLAG_HV1_INTERFACE
    | QUERY_FLAG_HYPERCALLS_AVAILABLE
    | QUERY_FLAG_MEMORY_CONVENTION
    | QUERY_FLAG_RAW_ALLOWED;

/// [`QueryResponse::cpu_vendor`]: neither Intel nor AMD.
pub const CPU_VENDOR_OTHER: u32 = 0;
/// [`QueryResponse::cpu_vendor`]: `GenuineIntel`.
pub const CPU_VENDOR_INTEL: u32 = 1;
/// [`QueryResponse::cpu_vendor`]: `AuthenticAMD` or `HygonGenuine`.
pub const CPU_VENDOR_AMD: u32 = 2;

/// [`QueryResponse::instruction`]: none (the vendor is unknown).
pub const INSTRUCTION_NONE: u32 = 0;
/// [`QueryResponse::instruction`]: `vmcall`.
pub const INSTRUCTION_VMCALL: u32 = 1;
/// [`QueryResponse::instruction`]: `vmmcall`.
pub const INSTRUCTION_VMMCALL: u32 = 2;

/// [`QueryResponse::readiness_flags`]: `guest_os_id` holds the MSR as read.
pub const READINESS_GUEST_OS_ID_READ: u32 = 1 << 0;
/// [`QueryResponse::readiness_flags`]: `hypercall_msr` holds the MSR as read.
pub const READINESS_HYPERCALL_MSR_READ: u32 = 1 << 1;
/// [`QueryResponse::readiness_flags`]: `isolation_leaf` holds CPUID 0x4000000C as read.
pub const READINESS_ISOLATION_READ: u32 = 1 << 2;

/// The query's response (224 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct QueryResponse {
    /// Kind [`KIND_QUERY_RESPONSE`], size 224.
    pub header: MessageHeader,
    /// The driver's version (its crate version).
    pub driver_version: VersionTriple,
    /// `QUERY_FLAG_*`.
    pub flags: u32,
    /// `CPU_VENDOR_*`, from CPUID leaf 0.
    pub cpu_vendor: u32,
    /// `INSTRUCTION_*`: the instruction the driver uses.
    pub instruction: u32,
    /// [`MAX_OPERATIONS`] of the driver.
    pub max_operations: u32,
    /// [`MAX_CALLS_PER_REQUEST`] of the driver.
    pub max_calls_per_request: u32,
    /// CPUID leaf 1 ECX (bit 31: hypervisor present).
    pub leaf1_ecx: u32,
    /// The TSC frequency in Hz, 0 when unknown.
    pub tsc_frequency_hz: u64,
    /// CPUID leaf 0 vendor string (EBX, EDX, ECX), e.g. `GenuineIntel`.
    pub cpu_vendor_string: [u8; 12],
    /// Zero.
    pub reserved: u32,
    /// CPUID leaves 0x40000000–0x40000006 as read, leaf `0x40000000 + i` at index `i`.
    pub hypervisor_leaves: [CpuidResult; hvcall::cpuid::HYPERVISOR_LEAF_COUNT],
    /// 0 when the driver issues hypercalls, else the [`hvcall::Refusal`] code: why not.
    pub refusal: u32,
    /// `READINESS_*`: which of the fields below were read (the rest are 0).
    pub readiness_flags: u32,
    /// `HV_X64_MSR_GUEST_OS_ID`, read (never written) by the driver.
    pub guest_os_id: u64,
    /// `HV_X64_MSR_HYPERCALL`, read (never written) by the driver.
    pub hypercall_msr: u64,
    /// CPUID 0x4000000C (isolation configuration).
    pub isolation_leaf: CpuidResult,
}

/// Size of a [`QueryResponse`].
pub const QUERY_RESPONSE_SIZE: usize = core::mem::size_of::<QueryResponse>();

/// [`SignalRequestHeader::convention`]: fast (register) convention, control bit 16 set, the
/// input in RDX.
pub const CONVENTION_FAST: u32 = 0;
/// [`SignalRequestHeader::convention`]: memory convention, the input in the driver's input page,
/// its GPA in RDX.
pub const CONVENTION_MEMORY: u32 = 1;

/// [`SignalRequestHeader::flags`]: raw mode (needs `AllowRawHypercalls` = 1).
pub const SIGNAL_FLAG_RAW: u32 = 1 << 0;
/// Every defined signal-request flag.
pub const SIGNAL_FLAGS_ALL: u32 = SIGNAL_FLAG_RAW;

/// The fixed part of a signal request and of a signal response (32 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct SignalRequestHeader {
    /// Kind [`KIND_SIGNAL_REQUEST`] (or [`KIND_SIGNAL_RESPONSE`] in a response); size
    /// 32 + 24 × count in a request, [`signal_response_size`] in a response.
    pub header: MessageHeader,
    /// `CONVENTION_*`.
    pub convention: u32,
    /// `SIGNAL_FLAG_*`.
    pub flags: u32,
    /// Number of entries that follow (1..=[`MAX_OPERATIONS`]).
    pub operation_count: u32,
    /// Zero in a request. In a response: the timer overhead, the fewest cycles an empty timed
    /// region (the timestamp pair around a call, with no call) took over
    /// [`TIMER_OVERHEAD_PAIRS`] tries, measured by the driver for this request (saturating).
    pub timer_overhead_cycles: u32,
}

/// The fixed part of a signal response: the request's header echoed with kind
/// [`KIND_SIGNAL_RESPONSE`], the response's size and the timer overhead.
pub type SignalResponseHeader = SignalRequestHeader;

/// Empty timed regions the driver measures per request for the timer overhead.
pub const TIMER_OVERHEAD_PAIRS: u32 = 16;

/// Size of [`SignalRequestHeader`].
pub const SIGNAL_HEADER_SIZE: usize = core::mem::size_of::<SignalRequestHeader>();

/// One operation of a signal request (24 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct OperationEntry {
    /// The whole 32-bit ConnectionId field; bits 31:24 only in raw mode.
    pub connection_id: u32,
    /// FlagNumber.
    pub flag_number: u16,
    /// The input's RsvdZ field; non-zero only in raw mode.
    pub rsvd_z: u16,
    /// Bits OR-ed into the control word; raw mode only. Bits 16:0 (call code and fast bit) must
    /// be zero even in raw mode.
    pub extra_control: u64,
    /// How many times to issue the call (1..=[`MAX_CALLS_PER_REQUEST`]).
    pub repeat: u32,
    /// Memory convention, raw mode only: byte offset of the input within the input page; the
    /// input (with any variable header) must end inside the page.
    pub input_offset: u16,
    /// `OPTION_*`: what the response carries for this operation.
    pub options: u16,
}

/// [`OperationEntry::options`]: the response carries every call's cycle count (a saturating
/// `u32` each, in call order), so quantiles are exact; no histogram is sent then.
pub const OPTION_SAMPLES: u16 = 1 << 0;
/// Every defined option.
pub const OPTIONS_ALL: u16 = OPTION_SAMPLES;

/// Size of an [`OperationEntry`].
pub const OPERATION_ENTRY_SIZE: usize = core::mem::size_of::<OperationEntry>();

/// The result of one operation in a signal response (80 bytes). Its histogram entries and
/// samples follow all the results (see [`signal_response_size`]).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct OperationResult {
    /// The ConnectionId field issued (echo of the request).
    pub connection_id: u32,
    /// The FlagNumber issued.
    pub flag_number: u16,
    /// The RsvdZ issued.
    pub rsvd_z: u16,
    /// The control word (RCX) issued.
    pub control: u64,
    /// Hypercalls issued (the repeat count).
    pub calls: u32,
    /// Calls that returned `HV_STATUS_SUCCESS`.
    pub successes: u32,
    /// Calls that returned anything else.
    pub failures: u32,
    /// `HV_STATUS` of the first call.
    pub first_status: u16,
    /// `HV_STATUS` of the last call.
    pub last_status: u16,
    /// The full result value (RAX) of the first call.
    pub first_result: u64,
    /// The full result value (RAX) of the last call.
    pub last_result: u64,
    /// Fewest TSC cycles one call took.
    pub cycles_min: u64,
    /// Most TSC cycles one call took.
    pub cycles_max: u64,
    /// Sum of the cycles of every call (saturating).
    pub cycles_sum: u64,
    /// The input offset used (memory convention), echo of the request.
    pub input_offset: u16,
    /// The options of the request's entry, echoed.
    pub options: u16,
    /// Histogram entries of this operation in the trailing region: one `u32` per non-empty
    /// bucket, `bucket << 16 | count` ([`histogram_entry`]), ascending; 0 when samples were
    /// asked for.
    pub histogram_entries: u32,
}

impl Default for OperationResult {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

/// Size of an [`OperationResult`].
pub const OPERATION_RESULT_SIZE: usize = core::mem::size_of::<OperationResult>();

/// Size of a signal request with `count` operations.
#[must_use]
pub const fn signal_request_size(count: usize) -> usize {
    SIGNAL_HEADER_SIZE.saturating_add(OPERATION_ENTRY_SIZE.saturating_mul(count))
}

/// The trailing words one operation can need at most: its samples (one per call) when it asks
/// for them, else its histogram entries (at most one per call, at most one per bucket).
#[must_use]
pub const fn trailing_words(repeat: u32, options: u16) -> usize {
    let calls = repeat as usize;
    if options & OPTION_SAMPLES == 0 && calls > HISTOGRAM_BUCKETS {
        HISTOGRAM_BUCKETS
    } else {
        calls
    }
}

/// Size of a signal response with `count` operations whose trailing region holds `words`
/// `u32`s: the header, the results, then for each operation in order its histogram entries or
/// its samples. A response's capacity is this with the [`trailing_words`] of each operation.
#[must_use]
pub const fn signal_response_size(count: usize, words: usize) -> usize {
    SIGNAL_HEADER_SIZE
        .saturating_add(OPERATION_RESULT_SIZE.saturating_mul(count))
        .saturating_add(words.saturating_mul(4))
}

/// Largest signal request: 32 + 24 × 64 = 1568 bytes.
pub const MAX_SIGNAL_REQUEST_SIZE: usize = signal_request_size(MAX_OPERATIONS);
/// Largest signal response: 32 + 80 × 64 + 4 × 10 000 = 45 152 bytes (every call's sample, or
/// at most one histogram entry per call).
pub const MAX_SIGNAL_RESPONSE_SIZE: usize =
    signal_response_size(MAX_OPERATIONS, MAX_CALLS_PER_REQUEST as usize);

/// The histogram bucket of a call that took `cycles` cycles: the value itself below 256, else
/// 256 + 128 × (e − 8) + the 7 bits after the leading one, where 2^e ≤ cycles < 2^(e+1);
/// counts of 2^32 and more land in the last bucket.
///
/// # Examples
///
/// ```
/// use hvsignal_proto::{HISTOGRAM_BUCKETS, histogram_bucket, histogram_bucket_bounds};
///
/// assert_eq!(histogram_bucket(200), 200);
/// // 2^9 ≤ 1000 < 2^10: bucket 256 + 128 + (1000 >> 2 & 127) = 506, 4 cycles wide.
/// assert_eq!(histogram_bucket(1000), 506);
/// assert_eq!(histogram_bucket_bounds(506), (1000, 1003));
/// assert_eq!(histogram_bucket(u64::MAX), HISTOGRAM_BUCKETS - 1);
/// assert_eq!(HISTOGRAM_BUCKETS, 3328);
/// ```
#[must_use]
#[inline]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "e is 8..=31 once the value is at least 256 and at most u32::MAX"
)]
pub const fn histogram_bucket(cycles: u64) -> usize {
    let value = if cycles > u32::MAX as u64 {
        u32::MAX
    } else {
        cycles as u32
    };
    if value < HISTOGRAM_LINEAR_LIMIT {
        return value as usize;
    }
    let e = value.ilog2();
    let sub = (value >> (e - 7)) & (HISTOGRAM_SUB_BUCKETS - 1);
    (HISTOGRAM_LINEAR_LIMIT + (e - 8) * HISTOGRAM_SUB_BUCKETS + sub) as usize
}

/// The smallest and largest cycle counts that land in `bucket` (the last bucket reaches
/// `u64::MAX`); `bucket` beyond the last is taken as the last.
#[must_use]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "bucket is clamped to the table first, so e is 8..=31 and the shifts fit"
)]
pub const fn histogram_bucket_bounds(bucket: usize) -> (u64, u64) {
    let last = HISTOGRAM_BUCKETS - 1;
    let b = if bucket > last { last } else { bucket } as u32;
    if b < HISTOGRAM_LINEAR_LIMIT {
        return (b as u64, b as u64);
    }
    let above = b - HISTOGRAM_LINEAR_LIMIT;
    let e = 8 + above / HISTOGRAM_SUB_BUCKETS;
    let sub = above % HISTOGRAM_SUB_BUCKETS;
    let width = 1u64 << (e - 7);
    let low = (1u64 << e) + sub as u64 * width;
    let high = if b as usize == last {
        u64::MAX
    } else {
        low + width - 1
    };
    (low, high)
}

/// A trailing histogram entry: `bucket << 16 | count` (a bucket < 65 536, a count of at most
/// [`MAX_CALLS_PER_REQUEST`] calls, so both fit).
#[must_use]
#[allow(
    clippy::cast_possible_truncation,
    reason = "bucket < HISTOGRAM_BUCKETS and count ≤ MAX_CALLS_PER_REQUEST, both below 2^16"
)]
pub const fn histogram_entry(bucket: usize, count: u32) -> u32 {
    ((bucket as u32) << 16) | (count & 0xFFFF)
}

// The entry's two 16-bit halves hold any bucket and any count one request can produce.
const _: () = assert!(HISTOGRAM_BUCKETS <= 1 << 16 && MAX_CALLS_PER_REQUEST < 1 << 16);

/// The bucket and count of a trailing histogram entry.
#[must_use]
pub const fn histogram_entry_parts(entry: u32) -> (usize, u32) {
    ((entry >> 16) as usize, entry & 0xFFFF)
}

// Every wire struct's size, fixed at compile time (the offsets are checked in the tests
// below); a layout change that moves a byte fails the build, not just a test.
const _: () = {
    assert!(size_of::<MessageHeader>() == 16);
    assert!(size_of::<VersionTriple>() == 8);
    assert!(size_of::<CpuidResult>() == 16);
    assert!(QUERY_RESPONSE_SIZE == 224);
    assert!(SIGNAL_HEADER_SIZE == 32);
    assert!(OPERATION_ENTRY_SIZE == 24);
    assert!(OPERATION_RESULT_SIZE == 80);
};

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn header_layout() {
        assert_eq!(size_of::<MessageHeader>(), 16);
        assert_eq!(offset_of!(MessageHeader, magic), 0);
        assert_eq!(offset_of!(MessageHeader, version), 4);
        assert_eq!(offset_of!(MessageHeader, kind), 6);
        assert_eq!(offset_of!(MessageHeader, size), 8);
        assert_eq!(offset_of!(MessageHeader, reserved), 12);
        assert_eq!(MAGIC.to_le_bytes(), *b"HvSg");
        assert_eq!(MAGIC, 0x6753_7648);
        assert_eq!(
            MessageHeader::new(KIND_SIGNAL_REQUEST, 56).as_bytes(),
            &[0x48, 0x76, 0x53, 0x67, 2, 0, 2, 0, 56, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn query_response_layout() {
        assert_eq!(size_of::<VersionTriple>(), 8);
        assert_eq!(size_of::<CpuidResult>(), 16);
        assert_eq!(QUERY_RESPONSE_SIZE, 224);
        assert_eq!(offset_of!(QueryResponse, header), 0);
        assert_eq!(offset_of!(QueryResponse, driver_version), 16);
        assert_eq!(offset_of!(QueryResponse, flags), 24);
        assert_eq!(offset_of!(QueryResponse, cpu_vendor), 28);
        assert_eq!(offset_of!(QueryResponse, instruction), 32);
        assert_eq!(offset_of!(QueryResponse, max_operations), 36);
        assert_eq!(offset_of!(QueryResponse, max_calls_per_request), 40);
        assert_eq!(offset_of!(QueryResponse, leaf1_ecx), 44);
        assert_eq!(offset_of!(QueryResponse, tsc_frequency_hz), 48);
        assert_eq!(offset_of!(QueryResponse, cpu_vendor_string), 56);
        assert_eq!(offset_of!(QueryResponse, reserved), 68);
        assert_eq!(offset_of!(QueryResponse, hypervisor_leaves), 72);
        assert_eq!(offset_of!(QueryResponse, refusal), 184);
        assert_eq!(offset_of!(QueryResponse, readiness_flags), 188);
        assert_eq!(offset_of!(QueryResponse, guest_os_id), 192);
        assert_eq!(offset_of!(QueryResponse, hypercall_msr), 200);
        assert_eq!(offset_of!(QueryResponse, isolation_leaf), 208);
    }

    #[test]
    fn signal_request_layout() {
        assert_eq!(SIGNAL_HEADER_SIZE, 32);
        assert_eq!(offset_of!(SignalRequestHeader, convention), 16);
        assert_eq!(offset_of!(SignalRequestHeader, flags), 20);
        assert_eq!(offset_of!(SignalRequestHeader, operation_count), 24);
        assert_eq!(offset_of!(SignalRequestHeader, timer_overhead_cycles), 28);
        assert_eq!(OPERATION_ENTRY_SIZE, 24);
        assert_eq!(offset_of!(OperationEntry, connection_id), 0);
        assert_eq!(offset_of!(OperationEntry, flag_number), 4);
        assert_eq!(offset_of!(OperationEntry, rsvd_z), 6);
        assert_eq!(offset_of!(OperationEntry, extra_control), 8);
        assert_eq!(offset_of!(OperationEntry, repeat), 16);
        assert_eq!(offset_of!(OperationEntry, input_offset), 20);
        assert_eq!(offset_of!(OperationEntry, options), 22);
        assert_eq!(MAX_SIGNAL_REQUEST_SIZE, 1568);
    }

    #[test]
    fn signal_response_layout() {
        assert_eq!(OPERATION_RESULT_SIZE, 80);
        assert_eq!(offset_of!(OperationResult, connection_id), 0);
        assert_eq!(offset_of!(OperationResult, flag_number), 4);
        assert_eq!(offset_of!(OperationResult, rsvd_z), 6);
        assert_eq!(offset_of!(OperationResult, control), 8);
        assert_eq!(offset_of!(OperationResult, calls), 16);
        assert_eq!(offset_of!(OperationResult, successes), 20);
        assert_eq!(offset_of!(OperationResult, failures), 24);
        assert_eq!(offset_of!(OperationResult, first_status), 28);
        assert_eq!(offset_of!(OperationResult, last_status), 30);
        assert_eq!(offset_of!(OperationResult, first_result), 32);
        assert_eq!(offset_of!(OperationResult, last_result), 40);
        assert_eq!(offset_of!(OperationResult, cycles_min), 48);
        assert_eq!(offset_of!(OperationResult, cycles_max), 56);
        assert_eq!(offset_of!(OperationResult, cycles_sum), 64);
        assert_eq!(offset_of!(OperationResult, input_offset), 72);
        assert_eq!(offset_of!(OperationResult, options), 74);
        assert_eq!(offset_of!(OperationResult, histogram_entries), 76);
        assert_eq!(MAX_SIGNAL_RESPONSE_SIZE, 32 + 80 * 64 + 40_000);
        assert_eq!(signal_response_size(1, 0), 112);
        assert_eq!(signal_response_size(2, 10), 232);
        assert_eq!(signal_request_size(2), 80);
        // Samples: one word per call; histograms: at most one per call or per bucket.
        assert_eq!(trailing_words(10_000, OPTION_SAMPLES), 10_000);
        assert_eq!(trailing_words(10, 0), 10);
        assert_eq!(trailing_words(10_000, 0), HISTOGRAM_BUCKETS);
    }

    #[test]
    fn limits_are_the_documented_ones() {
        assert_eq!(MAX_OPERATIONS, 64);
        assert_eq!(MAX_CALLS_PER_REQUEST, 10_000);
        assert_eq!(HISTOGRAM_BUCKETS, 3328);
        // A histogram count of one request and every bucket index fit the 16-bit halves.
        const { assert!(MAX_CALLS_PER_REQUEST <= 0xFFFF && HISTOGRAM_BUCKETS <= 0x1_0000) };
        // At the TLFS's 50 µs ceiling per call, one request stays at or under half a second.
        assert!(u64::from(MAX_CALLS_PER_REQUEST) * 50 <= 500_000);
    }

    #[test]
    fn histogram_buckets_are_exact_below_256_then_log_linear() {
        for c in 0..256usize {
            assert_eq!(histogram_bucket(c as u64), c);
            assert_eq!(histogram_bucket_bounds(c), (c as u64, c as u64));
        }
        // 256..=257 share bucket 256 (width 2 in [2^8, 2^9)); 511 is the last of that octave.
        assert_eq!(histogram_bucket(256), 256);
        assert_eq!(histogram_bucket(257), 256);
        assert_eq!(histogram_bucket(258), 257);
        assert_eq!(histogram_bucket(511), 383);
        assert_eq!(histogram_bucket(512), 384);
        assert_eq!(histogram_bucket_bounds(256), (256, 257));
        assert_eq!(histogram_bucket_bounds(384), (512, 515));
        // 1300 cycles: e = 10, width 8, 1300 = 1024 + 34·8 + 4 → bucket 256 + 2·128 + 34.
        assert_eq!(histogram_bucket(1300), 546);
        assert_eq!(histogram_bucket_bounds(546), (1296, 1303));
        // The top: u32::MAX and everything above land in the last bucket.
        let last = HISTOGRAM_BUCKETS - 1;
        assert_eq!(histogram_bucket(u64::from(u32::MAX)), last);
        assert_eq!(histogram_bucket(u64::MAX), last);
        assert_eq!(
            histogram_bucket_bounds(last),
            ((1 << 32) - (1 << 24), u64::MAX)
        );
        assert_eq!(
            histogram_bucket_bounds(last + 5),
            histogram_bucket_bounds(last)
        );
    }

    #[test]
    fn buckets_tile_the_range_and_are_at_most_one_128th_wide() {
        let mut next = 0u64;
        for b in 0..HISTOGRAM_BUCKETS - 1 {
            let (low, high) = histogram_bucket_bounds(b);
            assert_eq!(
                low,
                next,
                "bucket {b} starts where {} ended",
                b.saturating_sub(1)
            );
            assert!(high >= low);
            assert!(
                (high - low + 1) * 128 <= low.max(128),
                "bucket {b} too wide"
            );
            assert_eq!(histogram_bucket(low), b);
            assert_eq!(histogram_bucket(high), b);
            next = high + 1;
        }
        assert_eq!(next, histogram_bucket_bounds(HISTOGRAM_BUCKETS - 1).0);
        assert_eq!(1_000_000 / 128, HISTOGRAM_RELATIVE_ERROR_PPM - 1);
    }

    #[test]
    fn histogram_entries_pack_bucket_and_count() {
        assert_eq!(histogram_entry(546, 10_000), 0x0222_2710);
        assert_eq!(histogram_entry_parts(histogram_entry(3327, 1)), (3327, 1));
    }
}
