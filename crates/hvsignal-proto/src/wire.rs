//! The byte layouts of every message, version 1. All structs are `#[repr(C)]`, little-endian,
//! with every padding byte an explicit `reserved` field that is written as zero, so a message is
//! fully defined by its fields and no uninitialised byte can reach user mode. Sizes and offsets
//! are asserted in the tests below and described byte by byte in `docs/PROTOCOL.md`.
//!
//! Every message starts with a [`MessageHeader`]; its `magic` and `version` fields stay at
//! offsets 0 and 4 in every future version, so any reader can tell which version it was sent.

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

// The layouts are little-endian; every target the driver and program run on is.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "hvsignal's wire format is little-endian"
);

/// `"HvSg"` read as a little-endian `u32`: bytes 48 76 53 67.
pub const MAGIC: u32 = u32::from_le_bytes(*b"HvSg");

/// The protocol version this crate speaks. Version 2 added the hypercall-readiness facts to the
/// query response (guest OS ID and hypercall MSRs, isolation leaf, the refusal).
pub const PROTOCOL_VERSION: u16 = 2;

/// Most operations in one signal request.
///
/// With [`MAX_CALLS_PER_REQUEST`] this bounds the parsed request (64 operations, kept in the
/// device, not on the stack) and the response (32 + 64 × 336 = 21 536 bytes).
pub const MAX_OPERATIONS: usize = 64;

/// Most hypercalls in one signal request (the sum of every operation's repeat count), and so
/// also the largest repeat count of one operation.
///
/// A request runs to completion in the driver without yielding; 10 000 calls keep it well under
/// a second: the TLFS asks the hypervisor to keep any hypercall under 50 µs (0.5 s for 10 000
/// calls at that ceiling), and a fast `HvCallSignalEvent` takes about 1–2 µs (10–20 ms per
/// request). The console program splits larger jobs into several requests.
pub const MAX_CALLS_PER_REQUEST: u32 = 10_000;

/// Number of log2 histogram buckets per operation.
pub const HISTOGRAM_BUCKETS: usize = 64;

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

/// One CPUID leaf as the registers returned it.
#[repr(C)]
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CpuidLeaf {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

impl From<hvcall::CpuidResult> for CpuidLeaf {
    fn from(r: hvcall::CpuidResult) -> Self {
        Self {
            eax: r.eax,
            ebx: r.ebx,
            ecx: r.ecx,
            edx: r.edx,
        }
    }
}

impl From<CpuidLeaf> for hvcall::CpuidResult {
    fn from(l: CpuidLeaf) -> Self {
        Self {
            eax: l.eax,
            ebx: l.ebx,
            ecx: l.ecx,
            edx: l.edx,
        }
    }
}

/// [`QueryResponse::flags`]: CPUID leaf 1 ECX bit 31 (a hypervisor is present).
pub const QUERY_FLAG_HYPERVISOR_PRESENT: u32 = 1 << 0;
/// [`QueryResponse::flags`]: leaf 0x40000001 says `Hv#1` and leaf 0x40000000 reports at least
/// 0x40000003.
pub const QUERY_FLAG_HV1_INTERFACE: u32 = 1 << 1;
/// [`QueryResponse::flags`]: the driver issues hypercalls (Hv#1 and a known CPU vendor); when
/// clear, signal requests fail with `STATUS_NOT_SUPPORTED`.
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
    pub hypervisor_leaves: [CpuidLeaf; hvcall::cpuid::HYPERVISOR_LEAF_COUNT],
    /// 0 when the driver issues hypercalls, else the [`hvcall::Refusal`] code: why not.
    pub refusal: u32,
    /// `READINESS_*`: which of the fields below were read (the rest are 0).
    pub readiness_flags: u32,
    /// `HV_X64_MSR_GUEST_OS_ID`, read (never written) by the driver.
    pub guest_os_id: u64,
    /// `HV_X64_MSR_HYPERCALL`, read (never written) by the driver.
    pub hypercall_msr: u64,
    /// CPUID 0x4000000C (isolation configuration).
    pub isolation_leaf: CpuidLeaf,
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
    /// 32 + 24 × count in a request, 32 + 336 × count in a response.
    pub header: MessageHeader,
    /// `CONVENTION_*`.
    pub convention: u32,
    /// `SIGNAL_FLAG_*`.
    pub flags: u32,
    /// Number of entries that follow (1..=[`MAX_OPERATIONS`]).
    pub operation_count: u32,
    /// Zero.
    pub reserved: u32,
}

/// The fixed part of a signal response: the request's header echoed with kind
/// [`KIND_SIGNAL_RESPONSE`] and the response's size.
pub type SignalResponseHeader = SignalRequestHeader;

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
    /// Memory convention, raw mode only: byte offset of the input within the input page
    /// (0..=4095); bytes past the page end are not written.
    pub input_offset: u16,
    /// Zero.
    pub reserved: u16,
}

/// Size of an [`OperationEntry`].
pub const OPERATION_ENTRY_SIZE: usize = core::mem::size_of::<OperationEntry>();

/// The result of one operation in a signal response (336 bytes).
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
    /// Zero.
    pub reserved0: u16,
    /// Zero.
    pub reserved1: u32,
    /// `histogram[i]` counts calls whose cycle count `c` has `floor(log2(max(c, 1))) == i`, i.e.
    /// bucket 0 holds 0 and 1 cycles, bucket `i ≥ 1` holds `2^i ..= 2^(i+1) - 1`.
    pub histogram: [u32; HISTOGRAM_BUCKETS],
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

/// Size of a signal response with `count` operations.
#[must_use]
pub const fn signal_response_size(count: usize) -> usize {
    SIGNAL_HEADER_SIZE.saturating_add(OPERATION_RESULT_SIZE.saturating_mul(count))
}

/// Largest signal request: 32 + 24 × 64 = 1568 bytes.
pub const MAX_SIGNAL_REQUEST_SIZE: usize = signal_request_size(MAX_OPERATIONS);
/// Largest signal response: 32 + 336 × 64 = 21 536 bytes.
pub const MAX_SIGNAL_RESPONSE_SIZE: usize = signal_response_size(MAX_OPERATIONS);

/// The histogram bucket of a call that took `cycles` cycles: `floor(log2(max(cycles, 1)))`.
#[must_use]
#[inline]
pub const fn histogram_bucket(cycles: u64) -> usize {
    // `(cycles | 1)` is non-zero, so leading_zeros is 0..=63 and the result 0..=63.
    (63 ^ (cycles | 1).leading_zeros()) as usize
}

/// The smallest and largest cycle counts that land in `bucket` (0..64).
#[must_use]
#[allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "bucket is clamped to 0..=63 first"
)]
pub const fn histogram_bucket_bounds(bucket: usize) -> (u64, u64) {
    let b = if bucket > 63 { 63 } else { bucket as u32 };
    if b == 0 {
        (0, 1)
    } else {
        (1u64 << b, (1u64 << b) | ((1u64 << b) - 1))
    }
}

/// An upper bound of the `permille`/1000 quantile of the calls counted in `histogram` (the upper
/// edge of the bucket that holds that call), or `None` when the histogram is empty.
/// `permille` above 1000 is treated as 1000.
#[must_use]
pub fn histogram_quantile_upper_bound(
    histogram: &[u32; HISTOGRAM_BUCKETS],
    permille: u32,
) -> Option<u64> {
    let total: u64 = histogram.iter().map(|&c| u64::from(c)).sum();
    if total == 0 {
        return None;
    }
    // Rank (1-based) of the wanted call: ceil(total × permille / 1000), at least 1.
    let permille = u64::from(permille.min(1000));
    let rank = total.saturating_mul(permille).div_ceil(1000).max(1);
    let mut seen = 0u64;
    for (bucket, &count) in histogram.iter().enumerate() {
        seen = seen.saturating_add(u64::from(count));
        if seen >= rank {
            return Some(histogram_bucket_bounds(bucket).1);
        }
    }
    None
}

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
        assert_eq!(size_of::<CpuidLeaf>(), 16);
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
        assert_eq!(offset_of!(SignalRequestHeader, reserved), 28);
        assert_eq!(OPERATION_ENTRY_SIZE, 24);
        assert_eq!(offset_of!(OperationEntry, connection_id), 0);
        assert_eq!(offset_of!(OperationEntry, flag_number), 4);
        assert_eq!(offset_of!(OperationEntry, rsvd_z), 6);
        assert_eq!(offset_of!(OperationEntry, extra_control), 8);
        assert_eq!(offset_of!(OperationEntry, repeat), 16);
        assert_eq!(offset_of!(OperationEntry, input_offset), 20);
        assert_eq!(offset_of!(OperationEntry, reserved), 22);
        assert_eq!(MAX_SIGNAL_REQUEST_SIZE, 1568);
    }

    #[test]
    fn signal_response_layout() {
        assert_eq!(OPERATION_RESULT_SIZE, 336);
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
        assert_eq!(offset_of!(OperationResult, reserved0), 74);
        assert_eq!(offset_of!(OperationResult, reserved1), 76);
        assert_eq!(offset_of!(OperationResult, histogram), 80);
        assert_eq!(MAX_SIGNAL_RESPONSE_SIZE, 21_536);
        assert_eq!(signal_response_size(1), 368);
        assert_eq!(signal_request_size(2), 80);
    }

    #[test]
    fn limits_are_the_documented_ones() {
        assert_eq!(MAX_OPERATIONS, 64);
        assert_eq!(MAX_CALLS_PER_REQUEST, 10_000);
        assert_eq!(HISTOGRAM_BUCKETS, 64);
        // At the TLFS's 50 µs ceiling per call, one request stays at or under half a second.
        assert!(u64::from(MAX_CALLS_PER_REQUEST) * 50 <= 500_000);
    }

    #[test]
    fn histogram_buckets_are_floor_log2() {
        assert_eq!(histogram_bucket(0), 0);
        assert_eq!(histogram_bucket(1), 0);
        assert_eq!(histogram_bucket(2), 1);
        assert_eq!(histogram_bucket(3), 1);
        assert_eq!(histogram_bucket(4), 2);
        assert_eq!(histogram_bucket(1023), 9);
        assert_eq!(histogram_bucket(1024), 10);
        assert_eq!(histogram_bucket(u64::MAX), 63);
        assert_eq!(histogram_bucket_bounds(0), (0, 1));
        assert_eq!(histogram_bucket_bounds(10), (1024, 2047));
        assert_eq!(histogram_bucket_bounds(63), (1 << 63, u64::MAX));
        for c in [0u64, 1, 2, 5, 1000, 1 << 40, u64::MAX] {
            let (lo, hi) = histogram_bucket_bounds(histogram_bucket(c));
            assert!(lo <= c && c <= hi, "{c}");
        }
    }

    #[test]
    fn quantiles_from_the_histogram() {
        let mut h = [0u32; HISTOGRAM_BUCKETS];
        assert_eq!(histogram_quantile_upper_bound(&h, 500), None);
        h[10] = 90; // 1024..=2047
        h[12] = 9; // 4096..=8191
        h[20] = 1;
        assert_eq!(histogram_quantile_upper_bound(&h, 0), Some(2047));
        assert_eq!(histogram_quantile_upper_bound(&h, 500), Some(2047));
        assert_eq!(histogram_quantile_upper_bound(&h, 900), Some(2047));
        assert_eq!(histogram_quantile_upper_bound(&h, 901), Some(8191));
        assert_eq!(histogram_quantile_upper_bound(&h, 990), Some(8191));
        assert_eq!(histogram_quantile_upper_bound(&h, 999), Some((1 << 21) - 1));
        assert_eq!(
            histogram_quantile_upper_bound(&h, 5000),
            Some((1 << 21) - 1)
        );
    }
}
