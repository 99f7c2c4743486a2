//! Reading the driver's responses (the console program's side) and helpers on their fields.

use core::fmt;

use hvcall::{CpuVendor, CpuidResult, HvStatus, HypercallInstruction, HypervisorCpuid};
use zerocopy::FromBytes;

use crate::request::CallingConvention;
use crate::wire::{
    CPU_VENDOR_AMD, CPU_VENDOR_INTEL, HISTOGRAM_BUCKETS, HeaderMismatch, INSTRUCTION_VMCALL,
    INSTRUCTION_VMMCALL, KIND_QUERY_RESPONSE, KIND_SIGNAL_RESPONSE, MAX_OPERATIONS, MessageHeader,
    OPERATION_RESULT_SIZE, OPTION_SAMPLES, OperationResult, PROTOCOL_VERSION,
    QUERY_FLAG_HV1_INTERFACE, QUERY_FLAG_HYPERCALLS_AVAILABLE, QUERY_FLAG_HYPERVISOR_PRESENT,
    QUERY_FLAG_MEMORY_CONVENTION, QUERY_FLAG_RAW_ALLOWED, QUERY_RESPONSE_SIZE, QueryResponse,
    READINESS_GUEST_OS_ID_READ, READINESS_HYPERCALL_MSR_READ, READINESS_ISOLATION_READ,
    SIGNAL_FLAG_RAW, SignalResponseHeader, histogram_entry_parts, signal_response_size,
};

/// Why response bytes could not be read.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ResponseError {
    /// Fewer bytes than the fixed part of the response.
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// The message header is not the expected response of this protocol version: not an
    /// hvsignal message, another version (the driver and program come from different releases)
    /// or another kind ([`MessageHeader::check`]'s finding).
    Header(HeaderMismatch),
    /// The header's size disagrees with the bytes or the operation count.
    SizeMismatch {
        /// The header's size.
        declared: u32,
        /// What it should be, or the bytes received when fewer.
        expected: usize,
    },
    /// More operations than the protocol allows.
    TooManyOperations {
        /// The count received.
        count: u32,
    },
    /// An operation's histogram is not a valid one for its calls: a bucket out of range, not
    /// ascending, more entries than calls, or counts that do not add up to its calls.
    BadHistogram {
        /// The operation's index.
        index: usize,
    },
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len, needed } => {
                write!(f, "response is {len} bytes, at least {needed} expected")
            }
            Self::Header(HeaderMismatch::BadMagic { found }) => write!(
                f,
                "response is not from the hvsignal driver (magic {found:#010x})"
            ),
            Self::Header(HeaderMismatch::UnsupportedVersion { found }) => write!(
                f,
                "the driver speaks protocol version {found}, this program version {PROTOCOL_VERSION}: {}",
                if found < PROTOCOL_VERSION {
                    "update the driver to the one that ships with this hvsignal"
                } else {
                    "update hvsignal to the release of the installed driver"
                }
            ),
            Self::Header(HeaderMismatch::WrongKind { found, expected }) => {
                write!(f, "response kind {found}, expected {expected}")
            }
            Self::SizeMismatch { declared, expected } => write!(
                f,
                "response header says {declared} bytes, {expected} expected"
            ),
            Self::TooManyOperations { count } => write!(
                f,
                "response has {count} operations, more than the protocol's {MAX_OPERATIONS}"
            ),
            Self::BadHistogram { index } => write!(
                f,
                "operation {index}'s histogram does not describe its calls (bucket out of range, out of order, or counts that do not add up)"
            ),
        }
    }
}

impl core::error::Error for ResponseError {}

impl From<HeaderMismatch> for ResponseError {
    fn from(mismatch: HeaderMismatch) -> Self {
        Self::Header(mismatch)
    }
}

impl QueryResponse {
    /// Reads a query response (extra bytes after it are ignored).
    ///
    /// # Errors
    /// Too short, not an hvsignal message, another version or kind, or a size other than
    /// [`QUERY_RESPONSE_SIZE`]. Magic and version are checked before the length, so a driver of
    /// another release is reported as such even when its response has another size.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvsignal_proto::{HeaderMismatch, QUERY_RESPONSE_SIZE, QueryResponse, ResponseError};
    ///
    /// // A version-1 driver's header: "HvSg", version 1, kind 1, size 224.
    /// let mut bytes = [0u8; QUERY_RESPONSE_SIZE];
    /// bytes[..12].copy_from_slice(&[0x48, 0x76, 0x53, 0x67, 1, 0, 1, 0, 224, 0, 0, 0]);
    /// assert_eq!(
    ///     QueryResponse::decode(&bytes),
    ///     Err(ResponseError::Header(HeaderMismatch::UnsupportedVersion { found: 1 }))
    /// );
    /// // Not an hvsignal message at all.
    /// assert_eq!(
    ///     QueryResponse::decode(&[0u8; 224]),
    ///     Err(ResponseError::Header(HeaderMismatch::BadMagic { found: 0 }))
    /// );
    /// assert_eq!(
    ///     QueryResponse::decode(&bytes[..8]),
    ///     Err(ResponseError::TooShort { len: 8, needed: 224 })
    /// );
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, ResponseError> {
        // Check magic and version first, so an old or new driver is reported as such.
        let (header, _) =
            MessageHeader::read_from_prefix(bytes).map_err(|_| ResponseError::TooShort {
                len: bytes.len(),
                needed: QUERY_RESPONSE_SIZE,
            })?;
        header.check(KIND_QUERY_RESPONSE)?;
        let (response, _) = Self::read_from_prefix(bytes).map_err(|_| ResponseError::TooShort {
            len: bytes.len(),
            needed: QUERY_RESPONSE_SIZE,
        })?;
        if usize::try_from(header.size).ok() != Some(QUERY_RESPONSE_SIZE) {
            return Err(ResponseError::SizeMismatch {
                declared: header.size,
                expected: QUERY_RESPONSE_SIZE,
            });
        }
        Ok(response)
    }

    /// True when `flag` (a `QUERY_FLAG_*`) is set.
    #[must_use]
    pub const fn has_flag(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// CPUID leaf 1 ECX bit 31.
    #[must_use]
    pub const fn hypervisor_present(&self) -> bool {
        self.has_flag(QUERY_FLAG_HYPERVISOR_PRESENT)
    }

    /// The hypervisor implements `Hv#1`.
    #[must_use]
    pub const fn hv1_interface(&self) -> bool {
        self.has_flag(QUERY_FLAG_HV1_INTERFACE)
    }

    /// The driver issues hypercalls.
    #[must_use]
    pub const fn hypercalls_available(&self) -> bool {
        self.has_flag(QUERY_FLAG_HYPERCALLS_AVAILABLE)
    }

    /// The memory convention is available.
    #[must_use]
    pub const fn memory_convention_available(&self) -> bool {
        self.has_flag(QUERY_FLAG_MEMORY_CONVENTION)
    }

    /// The policy allows raw mode.
    #[must_use]
    pub const fn raw_allowed(&self) -> bool {
        self.has_flag(QUERY_FLAG_RAW_ALLOWED)
    }

    /// The CPU vendor from the vendor string.
    #[must_use]
    pub fn vendor(&self) -> CpuVendor {
        let [ebx, edx, ecx] = hvcall::cpuid::bytes_to_registers(self.cpu_vendor_string);
        CpuVendor::from_leaf0(CpuidResult {
            eax: 0,
            ebx,
            ecx,
            edx,
        })
    }

    /// The instruction the driver uses, `None` when it issues none.
    #[must_use]
    pub const fn hypercall_instruction(&self) -> Option<HypercallInstruction> {
        match self.instruction {
            INSTRUCTION_VMCALL => Some(HypercallInstruction::Vmcall),
            INSTRUCTION_VMMCALL => Some(HypercallInstruction::Vmmcall),
            _ => None,
        }
    }

    /// Why the driver issues no hypercalls: `None` when it issues them (or the code is one this
    /// side does not know; see [`Self::refusal_code`]).
    #[must_use]
    pub fn refusal(&self) -> Option<hvcall::Refusal> {
        hvcall::Refusal::from_code(self.refusal, self.isolation())
    }

    /// The raw refusal code (0 = none).
    #[must_use]
    pub const fn refusal_code(&self) -> u32 {
        self.refusal
    }

    /// The driver read the fact of `READINESS_*` flag `read`.
    const fn was_read(&self, read: u32) -> bool {
        self.readiness_flags & read != 0
    }

    /// `HV_X64_MSR_GUEST_OS_ID` as the driver read it, `None` when it was not read.
    #[must_use]
    pub fn guest_os_id(&self) -> Option<u64> {
        self.was_read(READINESS_GUEST_OS_ID_READ)
            .then_some(self.guest_os_id)
    }

    /// `HV_X64_MSR_HYPERCALL` as the driver read it, `None` when it was not read.
    #[must_use]
    pub fn hypercall_msr(&self) -> Option<u64> {
        self.was_read(READINESS_HYPERCALL_MSR_READ)
            .then_some(self.hypercall_msr)
    }

    /// CPUID 0x4000000C as the driver read it, `None` when it was not read.
    #[must_use]
    pub fn isolation(&self) -> Option<hvcall::IsolationConfig> {
        self.was_read(READINESS_ISOLATION_READ)
            .then(|| hvcall::IsolationConfig::from_leaf(self.isolation_leaf))
    }

    /// The hypervisor leaves with `hvcall`'s typed accessors.
    #[must_use]
    pub fn hypervisor_cpuid(&self) -> HypervisorCpuid {
        HypervisorCpuid {
            leaves: self.hypervisor_leaves,
        }
    }

    /// The TSC frequency, `None` when unknown.
    #[must_use]
    pub const fn tsc_frequency(&self) -> Option<u64> {
        if self.tsc_frequency_hz == 0 {
            None
        } else {
            Some(self.tsc_frequency_hz)
        }
    }
}

/// The wire code of a CPU vendor (`CPU_VENDOR_*`).
#[must_use]
pub const fn cpu_vendor_code(vendor: CpuVendor) -> u32 {
    match vendor {
        CpuVendor::Intel => CPU_VENDOR_INTEL,
        CpuVendor::Amd => CPU_VENDOR_AMD,
        CpuVendor::Other(_) => crate::wire::CPU_VENDOR_OTHER,
    }
}

/// The wire code of an instruction (`INSTRUCTION_*`).
#[must_use]
pub const fn instruction_code(instruction: Option<HypercallInstruction>) -> u32 {
    match instruction {
        Some(HypercallInstruction::Vmcall) => INSTRUCTION_VMCALL,
        Some(HypercallInstruction::Vmmcall) => INSTRUCTION_VMMCALL,
        None => crate::wire::INSTRUCTION_NONE,
    }
}

impl OperationResult {
    /// `HV_STATUS` of the first call.
    #[must_use]
    pub const fn first_hv_status(&self) -> HvStatus {
        HvStatus::from_code(self.first_status)
    }

    /// `HV_STATUS` of the last call.
    #[must_use]
    pub const fn last_hv_status(&self) -> HvStatus {
        HvStatus::from_code(self.last_status)
    }

    /// Mean cycles per call (rounded down), `None` when no call was made.
    #[must_use]
    pub const fn mean_cycles(&self) -> Option<u64> {
        match self.cycles_sum.checked_div(self.calls as u64) {
            Some(mean) => Some(mean),
            None => None,
        }
    }

    /// True when the driver sent this operation's samples (one per call) instead of a
    /// histogram.
    #[must_use]
    pub const fn has_samples(&self) -> bool {
        self.options & OPTION_SAMPLES != 0
    }

    /// The trailing words this operation owns in the response.
    #[must_use]
    pub const fn trailing_words(&self) -> usize {
        if self.has_samples() {
            self.calls as usize
        } else {
            self.histogram_entries as usize
        }
    }
}

/// A signal response read from bytes; its operations are copied out on access, so the bytes need
/// no particular alignment.
#[derive(Clone, Copy, Debug)]
pub struct SignalResponse<'a> {
    header: SignalResponseHeader,
    entries: &'a [u8],
    trailing: &'a [u8],
}

/// One operation of a response with its trailing words: its samples or its histogram.
#[derive(Clone, Copy, Debug)]
pub struct OperationView<'a> {
    /// The fixed result.
    pub result: OperationResult,
    words: &'a [u8],
}

fn words(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(<[u8; 4]>::try_from(w).unwrap_or([0; 4])))
}

impl<'a> OperationView<'a> {
    /// Every call's cycle count (saturated at `u32::MAX`), in call order, when the operation
    /// asked for samples; empty otherwise.
    pub fn samples(&self) -> impl Iterator<Item = u32> + 'a {
        let bytes = if self.result.has_samples() {
            self.words
        } else {
            &[]
        };
        words(bytes)
    }

    /// The histogram's non-empty buckets, ascending, as (bucket, count); empty when the
    /// operation sent samples instead.
    pub fn histogram(&self) -> impl Iterator<Item = (usize, u32)> + 'a {
        let bytes = if self.result.has_samples() {
            &[]
        } else {
            self.words
        };
        words(bytes).map(histogram_entry_parts)
    }
}

impl<'a> SignalResponse<'a> {
    /// Reads a signal response (extra bytes after the declared size are ignored).
    ///
    /// # Errors
    /// Too short, not an hvsignal message, another version or kind, more than
    /// [`MAX_OPERATIONS`] operations, a size that does not match the operations and their
    /// trailing words, or a histogram that does not describe its operation's calls.
    ///
    /// # Examples
    ///
    /// The crate's front page reads a whole response; here, what is refused:
    ///
    /// ```
    /// use hvsignal_proto::{HeaderMismatch, ResponseError, SignalResponse};
    ///
    /// // A response with no operation: "HvSg", version 2, kind 3, size 32.
    /// let mut bytes = [0u8; 32];
    /// bytes[..12].copy_from_slice(&[0x48, 0x76, 0x53, 0x67, 2, 0, 3, 0, 32, 0, 0, 0]);
    /// assert!(SignalResponse::decode(&bytes)?.is_empty());
    ///
    /// // A signal request (kind 2) is not a response.
    /// bytes[6] = 2;
    /// assert_eq!(
    ///     SignalResponse::decode(&bytes).err(),
    ///     Some(ResponseError::Header(HeaderMismatch::WrongKind { found: 2, expected: 3 }))
    /// );
    /// // A size that does not match the operation count.
    /// bytes[6] = 3;
    /// bytes[8] = 40;
    /// assert_eq!(
    ///     SignalResponse::decode(&bytes).err(),
    ///     Some(ResponseError::SizeMismatch { declared: 40, expected: 32 })
    /// );
    /// # Ok::<(), ResponseError>(())
    /// ```
    pub fn decode(bytes: &'a [u8]) -> Result<Self, ResponseError> {
        let fixed = signal_response_size(0, 0);
        let (message_header, _) =
            MessageHeader::read_from_prefix(bytes).map_err(|_| ResponseError::TooShort {
                len: bytes.len(),
                needed: fixed,
            })?;
        message_header.check(KIND_SIGNAL_RESPONSE)?;
        let (header, rest) =
            SignalResponseHeader::read_from_prefix(bytes).map_err(|_| ResponseError::TooShort {
                len: bytes.len(),
                needed: fixed,
            })?;
        let count = usize::try_from(header.operation_count).unwrap_or(usize::MAX);
        if count > MAX_OPERATIONS {
            return Err(ResponseError::TooManyOperations {
                count: header.operation_count,
            });
        }
        let entries_len = OPERATION_RESULT_SIZE.saturating_mul(count);
        let declared = usize::try_from(header.header.size).unwrap_or(usize::MAX);
        let entries = rest.get(..entries_len).ok_or(ResponseError::TooShort {
            len: bytes.len(),
            needed: signal_response_size(count, 0),
        })?;
        let words: usize = entries
            .chunks_exact(OPERATION_RESULT_SIZE)
            .filter_map(|chunk| OperationResult::read_from_bytes(chunk).ok())
            .map(|r| r.trailing_words())
            .fold(0usize, usize::saturating_add);
        let expected = signal_response_size(count, words);
        if declared != expected {
            return Err(ResponseError::SizeMismatch {
                declared: header.header.size,
                expected,
            });
        }
        let trailing = rest
            .get(entries_len..expected.saturating_sub(fixed))
            .ok_or(ResponseError::TooShort {
                len: bytes.len(),
                needed: expected,
            })?;
        let response = Self {
            header,
            entries,
            trailing,
        };
        for (index, view) in response.views().enumerate() {
            if !histogram_is_valid(&view) {
                return Err(ResponseError::BadHistogram { index });
            }
        }
        Ok(response)
    }

    /// The fixed part.
    #[must_use]
    pub const fn header(&self) -> &SignalResponseHeader {
        &self.header
    }

    /// The convention the driver used.
    #[must_use]
    pub const fn convention(&self) -> Option<CallingConvention> {
        CallingConvention::from_wire(self.header.convention)
    }

    /// True when the request was raw.
    #[must_use]
    pub const fn raw(&self) -> bool {
        self.header.flags & SIGNAL_FLAG_RAW != 0
    }

    /// The cost of an empty timed region the driver measured for this request, in cycles.
    #[must_use]
    pub const fn timer_overhead_cycles(&self) -> u32 {
        self.header.timer_overhead_cycles
    }

    /// Number of operations.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.entries.len() / OPERATION_RESULT_SIZE
    }

    /// True when there are no operations.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Operation `index`'s result.
    #[must_use]
    pub fn operation(&self, index: usize) -> Option<OperationResult> {
        let start = index.checked_mul(OPERATION_RESULT_SIZE)?;
        let end = start.checked_add(OPERATION_RESULT_SIZE)?;
        OperationResult::read_from_bytes(self.entries.get(start..end)?).ok()
    }

    /// Every operation's result, in order.
    pub fn operations(&self) -> impl Iterator<Item = OperationResult> + 'a {
        self.entries
            .chunks_exact(OPERATION_RESULT_SIZE)
            .filter_map(|chunk| OperationResult::read_from_bytes(chunk).ok())
    }

    /// Every operation with its samples or histogram, in order.
    pub fn views(&self) -> impl Iterator<Item = OperationView<'a>> + 'a {
        let mut rest = self.trailing;
        self.operations().map(move |result| {
            let len = result.trailing_words().saturating_mul(4).min(rest.len());
            // `len` is at most `rest.len()`, so the split always succeeds.
            let (words, tail) = rest.split_at_checked(len).unwrap_or((rest, &[]));
            rest = tail;
            OperationView { result, words }
        })
    }
}

/// A histogram describes its operation: buckets in range and ascending, no more entries than
/// calls, counts adding up to the calls.
fn histogram_is_valid(view: &OperationView<'_>) -> bool {
    if view.result.has_samples() {
        return view.result.histogram_entries == 0;
    }
    let mut previous: Option<usize> = None;
    let mut total = 0u64;
    for (bucket, count) in view.histogram() {
        if bucket >= HISTOGRAM_BUCKETS || previous.is_some_and(|p| p >= bucket) || count == 0 {
            return false;
        }
        previous = Some(bucket);
        total = total.saturating_add(u64::from(count));
    }
    total == u64::from(view.result.calls)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::wire::{KIND_SIGNAL_REQUEST, VersionTriple};
    use std::vec::Vec;
    use zerocopy::IntoBytes;

    fn query() -> QueryResponse {
        QueryResponse {
            header: MessageHeader::new(KIND_QUERY_RESPONSE, 224),
            driver_version: VersionTriple {
                major: 0,
                minor: 1,
                patch: 0,
                reserved: 0,
            },
            flags: QUERY_FLAG_HYPERVISOR_PRESENT | QUERY_FLAG_RAW_ALLOWED,
            cpu_vendor: CPU_VENDOR_AMD,
            instruction: INSTRUCTION_VMMCALL,
            max_operations: 64,
            max_calls_per_request: 10_000,
            leaf1_ecx: 1 << 31,
            tsc_frequency_hz: 0,
            cpu_vendor_string: *b"AuthenticAMD",
            reserved: 0,
            hypervisor_leaves: [CpuidResult {
                eax: 0x4000_0006,
                ebx: 1,
                ecx: 2,
                edx: 3,
            }; 7],
            refusal: 8,
            readiness_flags: crate::wire::READINESS_GUEST_OS_ID_READ,
            guest_os_id: 0,
            hypercall_msr: 0,
            isolation_leaf: CpuidResult::default(),
        }
    }

    #[test]
    fn query_response_decodes_and_checks_its_header() {
        let q = query();
        let bytes = q.as_bytes();
        let decoded = QueryResponse::decode(bytes).unwrap();
        assert_eq!(decoded, q);
        assert!(decoded.hypervisor_present() && decoded.raw_allowed());
        assert!(!decoded.hv1_interface() && !decoded.hypercalls_available());
        assert!(!decoded.memory_convention_available());
        assert_eq!(decoded.vendor(), CpuVendor::Amd);
        assert_eq!(
            decoded.hypercall_instruction(),
            Some(HypercallInstruction::Vmmcall)
        );
        assert_eq!(decoded.hypervisor_cpuid().max_leaf(), 0x4000_0006);
        assert_eq!(decoded.tsc_frequency(), None);
        assert_eq!(
            QueryResponse::decode(&bytes[..100]),
            Err(ResponseError::TooShort {
                len: 100,
                needed: 224
            })
        );
        let mut other = q;
        other.header.version = 1;
        assert_eq!(
            QueryResponse::decode(other.as_bytes()),
            Err(ResponseError::Header(HeaderMismatch::UnsupportedVersion {
                found: 1
            }))
        );
        // An old or new driver's header is recognised even when the rest does not fit.
        assert_eq!(
            QueryResponse::decode(&other.as_bytes()[..16]),
            Err(ResponseError::Header(HeaderMismatch::UnsupportedVersion {
                found: 1
            }))
        );
        let mut other = q;
        other.header.kind = KIND_SIGNAL_REQUEST;
        assert_eq!(
            QueryResponse::decode(other.as_bytes()),
            Err(ResponseError::Header(HeaderMismatch::WrongKind {
                found: 2,
                expected: 1
            }))
        );
        let mut other = q;
        other.header.magic = 0;
        assert_eq!(
            QueryResponse::decode(other.as_bytes()),
            Err(ResponseError::Header(HeaderMismatch::BadMagic { found: 0 }))
        );
        let mut other = q;
        other.header.size = 183;
        assert_eq!(
            QueryResponse::decode(other.as_bytes()),
            Err(ResponseError::SizeMismatch {
                declared: 183,
                expected: 224
            })
        );
    }

    #[test]
    fn codes_of_vendors_and_instructions() {
        assert_eq!(cpu_vendor_code(CpuVendor::Intel), 1);
        assert_eq!(cpu_vendor_code(CpuVendor::Amd), 2);
        assert_eq!(cpu_vendor_code(CpuVendor::Other(*b"VIA VIA VIA ")), 0);
        assert_eq!(instruction_code(Some(HypercallInstruction::Vmcall)), 1);
        assert_eq!(instruction_code(Some(HypercallInstruction::Vmmcall)), 2);
        assert_eq!(instruction_code(None), 0);
    }

    /// A response with `results` and trailing `words`, its size field right.
    fn response_bytes(results: &[OperationResult], words: &[u32]) -> Vec<u8> {
        let count = results.len();
        let header = SignalResponseHeader {
            header: MessageHeader::new(
                KIND_SIGNAL_RESPONSE,
                u32::try_from(signal_response_size(count, words.len())).unwrap(),
            ),
            convention: 1,
            flags: SIGNAL_FLAG_RAW,
            operation_count: u32::try_from(count).unwrap(),
            timer_overhead_cycles: 25,
        };
        let mut bytes = header.as_bytes().to_vec();
        for r in results {
            bytes.extend_from_slice(r.as_bytes());
        }
        for w in words {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn signal_response_decodes_from_unaligned_bytes() {
        // a: 4 calls with a histogram of two buckets; b: 3 calls with their samples.
        let a = OperationResult {
            connection_id: 0x2001,
            calls: 4,
            cycles_sum: 4000,
            cycles_max: 1500,
            first_status: 0x12,
            histogram_entries: 2,
            ..OperationResult::default()
        };
        let b = OperationResult {
            connection_id: 7,
            calls: 3,
            options: OPTION_SAMPLES,
            ..OperationResult::default()
        };
        let words = [
            crate::wire::histogram_entry(546, 3),
            crate::wire::histogram_entry(600, 1),
            10,
            20,
            u32::MAX,
        ];
        let bytes = response_bytes(&[a, b], &words);
        // Shift by one byte so nothing is aligned.
        let mut shifted = std::vec![0u8];
        shifted.extend_from_slice(&bytes);
        let response = SignalResponse::decode(&shifted[1..]).unwrap();
        assert_eq!(response.len(), 2);
        assert!(!response.is_empty());
        assert!(response.raw());
        assert_eq!(response.timer_overhead_cycles(), 25);
        assert_eq!(response.convention(), Some(CallingConvention::Memory));
        assert_eq!(response.operation(0), Some(a));
        assert_eq!(response.operation(1), Some(b));
        assert_eq!(response.operation(2), None);
        assert_eq!(response.operations().collect::<Vec<_>>(), [a, b]);
        let views: Vec<_> = response.views().collect();
        assert_eq!(
            views[0].histogram().collect::<Vec<_>>(),
            [(546, 3), (600, 1)]
        );
        assert_eq!(views[0].samples().count(), 0);
        assert_eq!(views[1].samples().collect::<Vec<_>>(), [10, 20, u32::MAX]);
        assert_eq!(views[1].histogram().count(), 0);
        assert_eq!(a.mean_cycles(), Some(1000));
        assert_eq!(OperationResult::default().mean_cycles(), None);
        assert_eq!(a.first_hv_status(), HvStatus::INVALID_CONNECTION_ID);
    }

    #[test]
    fn signal_response_errors() {
        let one = OperationResult {
            calls: 1,
            histogram_entries: 1,
            ..OperationResult::default()
        };
        let entry = crate::wire::histogram_entry(5, 1);
        let bytes = response_bytes(&[one], &[entry]);
        assert_eq!(bytes.len(), 116);
        assert_eq!(
            SignalResponse::decode(&bytes[..20]).unwrap_err(),
            ResponseError::TooShort {
                len: 20,
                needed: 32
            }
        );
        assert_eq!(
            SignalResponse::decode(&bytes[..100]).unwrap_err(),
            ResponseError::TooShort {
                len: 100,
                needed: 112
            }
        );
        // The size field disagrees with the operations and their words.
        let mut wrong = bytes.clone();
        wrong[8] = 120;
        assert_eq!(
            SignalResponse::decode(&wrong).unwrap_err(),
            ResponseError::SizeMismatch {
                declared: 120,
                expected: 116
            }
        );
        // Fewer bytes than the size field says: a truncated response, never half a figure.
        assert_eq!(
            SignalResponse::decode(&bytes[..114]).unwrap_err(),
            ResponseError::TooShort {
                len: 114,
                needed: 116
            }
        );
        let mut wrong = bytes.clone();
        wrong[24] = 65;
        assert_eq!(
            SignalResponse::decode(&wrong).unwrap_err(),
            ResponseError::TooManyOperations { count: 65 }
        );
        // Histograms that do not describe their calls.
        for (calls, words) in [
            (1, [crate::wire::histogram_entry(5, 2)]), // counts add up to 2, not 1
            (1, [crate::wire::histogram_entry(HISTOGRAM_BUCKETS, 1)]), // bucket out of range
            (1, [crate::wire::histogram_entry(5, 0)]), // an empty bucket listed
        ] {
            let r = OperationResult {
                calls,
                histogram_entries: 1,
                ..OperationResult::default()
            };
            assert_eq!(
                SignalResponse::decode(&response_bytes(&[r], &words)).unwrap_err(),
                ResponseError::BadHistogram { index: 0 }
            );
        }
        let r = OperationResult {
            calls: 2,
            histogram_entries: 2,
            ..OperationResult::default()
        };
        let descending = [
            crate::wire::histogram_entry(9, 1),
            crate::wire::histogram_entry(5, 1),
        ];
        assert_eq!(
            SignalResponse::decode(&response_bytes(&[r], &descending)).unwrap_err(),
            ResponseError::BadHistogram { index: 0 }
        );
    }

    #[test]
    fn version_errors_say_which_side_to_update() {
        use std::string::ToString;
        let older =
            ResponseError::Header(HeaderMismatch::UnsupportedVersion { found: 1 }).to_string();
        assert!(older.contains("update the driver"), "{older}");
        let newer =
            ResponseError::Header(HeaderMismatch::UnsupportedVersion { found: 3 }).to_string();
        assert!(newer.contains("update hvsignal"), "{newer}");
    }
}
