//! Reading the driver's responses (the console program's side) and helpers on their fields.

use core::fmt;

use hvcall::{CpuVendor, CpuidResult, HvStatus, HypercallInstruction, HypervisorCpuid};
use zerocopy::FromBytes;

use crate::request::CallingConvention;
use crate::wire::{
    CPU_VENDOR_AMD, CPU_VENDOR_INTEL, INSTRUCTION_VMCALL, INSTRUCTION_VMMCALL, KIND_QUERY_RESPONSE,
    KIND_SIGNAL_RESPONSE, MAGIC, MAX_OPERATIONS, MessageHeader, OPERATION_RESULT_SIZE,
    OperationResult, PROTOCOL_VERSION, QUERY_FLAG_HV1_INTERFACE, QUERY_FLAG_HYPERCALLS_AVAILABLE,
    QUERY_FLAG_HYPERVISOR_PRESENT, QUERY_FLAG_MEMORY_CONVENTION, QUERY_FLAG_RAW_ALLOWED,
    QUERY_RESPONSE_SIZE, QueryResponse, SIGNAL_FLAG_RAW, SignalResponseHeader,
    signal_response_size,
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
    /// Not an hvsignal message.
    BadMagic {
        /// What was there.
        found: u32,
    },
    /// Another protocol version: the driver and program come from different releases.
    UnsupportedVersion {
        /// The driver's version.
        found: u16,
    },
    /// Another kind of message than expected.
    WrongKind {
        /// Kind received.
        found: u16,
        /// Kind expected.
        expected: u16,
    },
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
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len, needed } => {
                write!(f, "response is {len} bytes, at least {needed} expected")
            }
            Self::BadMagic { found } => write!(
                f,
                "response is not from the hvsignal driver (magic {found:#010x})"
            ),
            Self::UnsupportedVersion { found } => write!(
                f,
                "the driver speaks protocol version {found}, this program version {PROTOCOL_VERSION}; install matching releases"
            ),
            Self::WrongKind { found, expected } => {
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
        }
    }
}

impl core::error::Error for ResponseError {}

fn check_header(header: &MessageHeader, kind: u16) -> Result<(), ResponseError> {
    if header.magic != MAGIC {
        return Err(ResponseError::BadMagic {
            found: header.magic,
        });
    }
    if header.version != PROTOCOL_VERSION {
        return Err(ResponseError::UnsupportedVersion {
            found: header.version,
        });
    }
    if header.kind != kind {
        return Err(ResponseError::WrongKind {
            found: header.kind,
            expected: kind,
        });
    }
    Ok(())
}

impl QueryResponse {
    /// Reads a query response (extra bytes after it are ignored).
    ///
    /// # Errors
    /// Too short, not an hvsignal message, another version or kind, or a size other than 184.
    pub fn decode(bytes: &[u8]) -> Result<Self, ResponseError> {
        // Check magic and version first, so an old or new driver is reported as such.
        let (header, _) =
            MessageHeader::read_from_prefix(bytes).map_err(|_| ResponseError::TooShort {
                len: bytes.len(),
                needed: QUERY_RESPONSE_SIZE,
            })?;
        check_header(&header, KIND_QUERY_RESPONSE)?;
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

    /// `value` when the driver read it (`READINESS_*` flag `read` set), else `None`.
    const fn if_read(&self, read: u32, value: u64) -> Option<u64> {
        if self.readiness_flags & read != 0 {
            Some(value)
        } else {
            None
        }
    }

    /// `HV_X64_MSR_GUEST_OS_ID` as the driver read it, `None` when it was not read.
    #[must_use]
    pub const fn guest_os_id(&self) -> Option<u64> {
        self.if_read(crate::wire::READINESS_GUEST_OS_ID_READ, self.guest_os_id)
    }

    /// `HV_X64_MSR_HYPERCALL` as the driver read it, `None` when it was not read.
    #[must_use]
    pub const fn hypercall_msr(&self) -> Option<u64> {
        self.if_read(
            crate::wire::READINESS_HYPERCALL_MSR_READ,
            self.hypercall_msr,
        )
    }

    /// CPUID 0x4000000C as the driver read it, `None` when it was not read.
    #[must_use]
    pub const fn isolation(&self) -> Option<hvcall::IsolationConfig> {
        if self.readiness_flags & crate::wire::READINESS_ISOLATION_READ != 0 {
            Some(hvcall::IsolationConfig::from_leaf(CpuidResult {
                eax: self.isolation_leaf.eax,
                ebx: self.isolation_leaf.ebx,
                ecx: self.isolation_leaf.ecx,
                edx: self.isolation_leaf.edx,
            }))
        } else {
            None
        }
    }

    /// The hypervisor leaves with `hvcall`'s typed accessors.
    #[must_use]
    pub fn hypervisor_cpuid(&self) -> HypervisorCpuid {
        HypervisorCpuid {
            leaves: self.hypervisor_leaves.map(CpuidResult::from),
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

    /// An upper bound of the `permille`/1000 quantile of the cycle counts (see
    /// [`crate::histogram_quantile_upper_bound`]), capped at the largest count seen.
    #[must_use]
    pub fn cycles_quantile_upper_bound(&self, permille: u32) -> Option<u64> {
        crate::wire::histogram_quantile_upper_bound(&self.histogram, permille)
            .map(|bound| bound.min(self.cycles_max))
    }
}

/// A signal response read from bytes; its operations are copied out on access, so the bytes need
/// no particular alignment.
#[derive(Clone, Copy, Debug)]
pub struct SignalResponse<'a> {
    header: SignalResponseHeader,
    entries: &'a [u8],
}

impl<'a> SignalResponse<'a> {
    /// Reads a signal response (extra bytes after the declared size are ignored).
    ///
    /// # Errors
    /// Too short, not an hvsignal message, another version or kind, more than
    /// [`MAX_OPERATIONS`] operations, or a size that does not match the operation count.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, ResponseError> {
        let fixed = signal_response_size(0);
        let (message_header, _) =
            MessageHeader::read_from_prefix(bytes).map_err(|_| ResponseError::TooShort {
                len: bytes.len(),
                needed: fixed,
            })?;
        check_header(&message_header, KIND_SIGNAL_RESPONSE)?;
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
        let expected = signal_response_size(count);
        if usize::try_from(header.header.size).ok() != Some(expected) {
            return Err(ResponseError::SizeMismatch {
                declared: header.header.size,
                expected,
            });
        }
        let entries_len = OPERATION_RESULT_SIZE.saturating_mul(count);
        let entries = rest.get(..entries_len).ok_or(ResponseError::TooShort {
            len: bytes.len(),
            needed: expected,
        })?;
        Ok(Self { header, entries })
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
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::wire::{CpuidLeaf, KIND_SIGNAL_REQUEST, VersionTriple};
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
            hypervisor_leaves: [CpuidLeaf {
                eax: 0x4000_0006,
                ebx: 1,
                ecx: 2,
                edx: 3,
            }; 7],
            refusal: 8,
            readiness_flags: crate::wire::READINESS_GUEST_OS_ID_READ,
            guest_os_id: 0,
            hypercall_msr: 0,
            isolation_leaf: CpuidLeaf::default(),
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
            Err(ResponseError::UnsupportedVersion { found: 1 })
        );
        // An old or new driver's header is recognised even when the rest does not fit.
        assert_eq!(
            QueryResponse::decode(&other.as_bytes()[..16]),
            Err(ResponseError::UnsupportedVersion { found: 1 })
        );
        let mut other = q;
        other.header.kind = KIND_SIGNAL_REQUEST;
        assert_eq!(
            QueryResponse::decode(other.as_bytes()),
            Err(ResponseError::WrongKind {
                found: 2,
                expected: 1
            })
        );
        let mut other = q;
        other.header.magic = 0;
        assert_eq!(
            QueryResponse::decode(other.as_bytes()),
            Err(ResponseError::BadMagic { found: 0 })
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

    fn response_bytes(results: &[OperationResult]) -> Vec<u8> {
        let count = results.len();
        let header = SignalResponseHeader {
            header: MessageHeader::new(
                KIND_SIGNAL_RESPONSE,
                u32::try_from(signal_response_size(count)).unwrap(),
            ),
            convention: 1,
            flags: SIGNAL_FLAG_RAW,
            operation_count: u32::try_from(count).unwrap(),
            reserved: 0,
        };
        let mut bytes = header.as_bytes().to_vec();
        for r in results {
            bytes.extend_from_slice(r.as_bytes());
        }
        bytes
    }

    #[test]
    fn signal_response_decodes_from_unaligned_bytes() {
        let mut a = OperationResult {
            connection_id: 0x2001,
            calls: 4,
            cycles_sum: 4000,
            cycles_max: 1500,
            first_status: 0x12,
            ..OperationResult::default()
        };
        a.histogram[9] = 3;
        a.histogram[10] = 1;
        let b = OperationResult {
            connection_id: 7,
            ..OperationResult::default()
        };
        let bytes = response_bytes(&[a, b]);
        // Shift by one byte so nothing is aligned.
        let mut shifted = std::vec![0u8];
        shifted.extend_from_slice(&bytes);
        let response = SignalResponse::decode(&shifted[1..]).unwrap();
        assert_eq!(response.len(), 2);
        assert!(!response.is_empty());
        assert!(response.raw());
        assert_eq!(response.convention(), Some(CallingConvention::Memory));
        assert_eq!(response.operation(0), Some(a));
        assert_eq!(response.operation(1), Some(b));
        assert_eq!(response.operation(2), None);
        assert_eq!(response.operations().collect::<Vec<_>>(), [a, b]);
        assert_eq!(a.mean_cycles(), Some(1000));
        assert_eq!(b.mean_cycles(), None);
        assert_eq!(a.first_hv_status(), HvStatus::INVALID_CONNECTION_ID);
        assert_eq!(a.cycles_quantile_upper_bound(500), Some(1023));
        assert_eq!(a.cycles_quantile_upper_bound(1000), Some(1500));
    }

    #[test]
    fn signal_response_errors() {
        let bytes = response_bytes(&[OperationResult::default()]);
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
                needed: 368
            }
        );
        let mut wrong = bytes.clone();
        wrong[24] = 2; // count 2, size still for 1
        assert_eq!(
            SignalResponse::decode(&wrong).unwrap_err(),
            ResponseError::SizeMismatch {
                declared: 368,
                expected: 704
            }
        );
        let mut wrong = bytes.clone();
        wrong[24] = 65;
        assert_eq!(
            SignalResponse::decode(&wrong).unwrap_err(),
            ResponseError::TooManyOperations { count: 65 }
        );
    }
}
