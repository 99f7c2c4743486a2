//! What the hvsignal driver does with a request, generic over [`hvcall::HypercallPrimitive`].
//!
//! The KMDF driver hands every device-control request to [`Device::handle_device_control`] and
//! completes it with the returned [`Completion`]; tests and the console program's model backend
//! run exactly the same code over `hvmodel`'s primitive.
//!
//! - The query fills a [`QueryResponse`] from CPUID (read once, in [`Device::new`]), the
//!   primitive (TSC frequency, input page) and the [`Policy`].
//! - A signal request is parsed completely into an owned [`SignalRequest`] (no heap, 1.6 KiB)
//!   before the output buffer is touched, because with `METHOD_BUFFERED` input and output are
//!   the same system buffer. Then each operation's control word and input are built once, the
//!   call is issued `repeat` times, each call is timed with the timestamp counter, and the
//!   operation's [`OperationResult`] is written to the output as soon as it finishes.
//! - The call code is always 0x005D: the control word is `HvCallSignalEvent` | the
//!   convention's fast bit | the raw extra bits with bits 16:0 masked off.
//! - Every byte of a response up to the returned length is written; nothing else is.
//!
//! The crate is `no_std`, allocates nothing and never panics on any input.
#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::arithmetic_side_effects
    )
)]

mod stats;

use hvcall::cpuid::{HYPERVISOR_PRESENT_BIT, LEAF_FEATURES};
use hvcall::{
    CpuVendor, CpuidResult, HypercallInstruction, HypercallPrimitive, HypervisorCpuid, PAGE_SIZE,
};
use hvsignal_proto::wire::{
    KIND_QUERY_RESPONSE, KIND_SIGNAL_RESPONSE, QUERY_FLAG_HV1_INTERFACE,
    QUERY_FLAG_HYPERCALLS_AVAILABLE, QUERY_FLAG_HYPERVISOR_PRESENT, QUERY_FLAG_MEMORY_CONVENTION,
    QUERY_FLAG_RAW_ALLOWED, SIGNAL_FLAG_RAW, SIGNAL_HEADER_SIZE, VersionTriple,
};
use hvsignal_proto::{
    CallingConvention, Failure, Ioctl, MAX_CALLS_PER_REQUEST, MAX_OPERATIONS, MessageHeader,
    Operation, OperationResult, QUERY_RESPONSE_SIZE, QueryResponse, STATUS_SUCCESS, SignalRequest,
    SignalResponseHeader, cpu_vendor_code, instruction_code, signal_response_size,
};
use zerocopy::IntoBytes;

pub use hvsignal_proto::NtStatus;
pub use stats::Accumulator;

/// The driver's version: this crate's version, which is the workspace's (and so the driver
/// package's) version.
pub const DRIVER_VERSION: VersionTriple = VersionTriple {
    major: parse_version_part(env!("CARGO_PKG_VERSION_MAJOR")),
    minor: parse_version_part(env!("CARGO_PKG_VERSION_MINOR")),
    patch: parse_version_part(env!("CARGO_PKG_VERSION_PATCH")),
    reserved: 0,
};

/// A decimal version component; saturates at `u16::MAX`, stops at the first non-digit.
const fn parse_version_part(text: &str) -> u16 {
    let mut rest = text.as_bytes();
    let mut value: u16 = 0;
    while let [byte, tail @ ..] = rest {
        if !byte.is_ascii_digit() {
            break;
        }
        value = value
            .saturating_mul(10)
            .saturating_add(byte.wrapping_sub(b'0') as u16);
        rest = tail;
    }
    value
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "asserted to fit at compile time"
)]
const QUERY_RESPONSE_SIZE_U32: u32 = {
    assert!(QUERY_RESPONSE_SIZE <= u32::MAX as usize);
    QUERY_RESPONSE_SIZE as u32
};

#[allow(
    clippy::cast_possible_truncation,
    reason = "asserted to fit at compile time"
)]
const MAX_OPERATIONS_U32: u32 = {
    assert!(MAX_OPERATIONS <= u32::MAX as usize);
    MAX_OPERATIONS as u32
};

/// What the driver may do, read once when the device starts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Policy {
    /// Raw mode is allowed (`AllowRawHypercalls` = 1 under the service's `Parameters` key).
    pub allow_raw_hypercalls: bool,
}

/// The request's buffers, as the driver gets them from KMDF.
pub trait IoBuffers {
    /// The request's input bytes. With METHOD_BUFFERED the input and output share one system
    /// buffer, so the core parses the input into an owned value *before* it asks for the output;
    /// the borrow checker enforces that the two slices never live at the same time.
    ///
    /// # Errors
    /// The NTSTATUS to complete the request with (e.g. what `WdfRequestRetrieveInputBuffer`
    /// returned).
    fn input(&mut self) -> Result<&[u8], NtStatus>;

    /// The request's output buffer.
    ///
    /// # Errors
    /// The NTSTATUS to complete the request with.
    fn output(&mut self) -> Result<&mut [u8], NtStatus>;
}

/// How to complete a request: `WdfRequestCompleteWithInformation(request, status, information)`.
/// `information` is 0 on failure; on success it is the response's length, never larger than the
/// output buffer, and every byte up to it has been written.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Completion {
    /// The NTSTATUS.
    pub status: NtStatus,
    /// Bytes of output.
    pub information: usize,
}

impl Completion {
    /// Success with `information` bytes of output.
    #[must_use]
    pub const fn success(information: usize) -> Self {
        Self {
            status: STATUS_SUCCESS,
            information,
        }
    }

    /// Failure with `status` and no output.
    #[must_use]
    pub const fn failed(status: NtStatus) -> Self {
        Self {
            status,
            information: 0,
        }
    }
}

impl From<Failure> for Completion {
    fn from(failure: Failure) -> Self {
        Self::failed(failure.nt_status())
    }
}

/// The CPU facts the device reads once.
#[derive(Clone, Copy, Debug)]
struct CpuFacts {
    vendor: CpuVendor,
    vendor_string: [u8; 12],
    leaf1_ecx: u32,
    hypervisor: HypervisorCpuid,
}

/// The instruction to issue hypercalls with, when the machine can take Hyper-V hypercalls: a
/// hypervisor is present (CPUID 1 ECX bit 31), it implements the Microsoft interface ("Hv#1",
/// with leaves up to 0x40000003) and the CPU vendor is known, so `vmcall` or `vmmcall` can be
/// chosen. `None` otherwise. The driver (and the console program's model backend) create the
/// primitive only when this is `Some`, and pass `None` to [`Device::new`] otherwise; this one
/// rule decides for both.
pub fn hypercall_instruction(
    mut cpuid: impl FnMut(u32) -> CpuidResult,
) -> Option<HypercallInstruction> {
    if cpuid(LEAF_FEATURES).ecx & HYPERVISOR_PRESENT_BIT == 0 {
        return None;
    }
    let vendor = CpuVendor::from_leaf0(cpuid(0));
    if !HypervisorCpuid::read(cpuid).is_hv1() {
        return None;
    }
    vendor.instruction()
}

/// The driver's device: CPUID facts, the hypercall primitive (when the machine can take
/// hypercalls) and the policy.
#[derive(Debug)]
pub struct Device<P> {
    cpu: CpuFacts,
    hypercalls: Option<P>,
    policy: Policy,
}

impl<P: HypercallPrimitive> Device<P> {
    /// `cpuid` is read once here (it is legal in any mode): leaves 0, 1 and
    /// 0x40000000–0x40000006. `hypercalls` is `None` when the machine cannot take hypercalls
    /// (no "Hv#1", unknown CPU vendor): queries still work and signal requests fail with
    /// [`Failure::NoHypervisor`] without issuing anything.
    pub fn new(
        mut cpuid: impl FnMut(u32) -> CpuidResult,
        hypercalls: Option<P>,
        policy: Policy,
    ) -> Self {
        let leaf0 = cpuid(0);
        let leaf1 = cpuid(LEAF_FEATURES);
        let hypervisor = HypervisorCpuid::read(&mut cpuid);
        Self {
            cpu: CpuFacts {
                vendor: CpuVendor::from_leaf0(leaf0),
                vendor_string: hvcall::cpuid::registers_to_bytes([leaf0.ebx, leaf0.edx, leaf0.ecx]),
                leaf1_ecx: leaf1.ecx,
                hypervisor,
            },
            hypercalls,
            policy,
        }
    }

    /// The policy.
    #[must_use]
    pub const fn policy(&self) -> Policy {
        self.policy
    }

    /// The primitive, when the device has one.
    #[must_use]
    pub const fn hypercalls(&self) -> Option<&P> {
        self.hypercalls.as_ref()
    }

    /// The primitive, mutably (tests use it to inspect a model).
    pub const fn hypercalls_mut(&mut self) -> Option<&mut P> {
        self.hypercalls.as_mut()
    }

    /// Handles one device-control request.
    pub fn handle_device_control(
        &mut self,
        ioctl_code: u32,
        buffers: &mut impl IoBuffers,
    ) -> Completion {
        match Ioctl::from_code(ioctl_code) {
            Some(Ioctl::Query) => self.handle_query(buffers),
            Some(Ioctl::Signal) => self.handle_signal(buffers),
            None => Failure::UnknownRequest.into(),
        }
    }

    fn handle_query(&mut self, buffers: &mut impl IoBuffers) -> Completion {
        // The query takes no input; it is never read.
        let response = self.query();
        let output = match buffers.output() {
            Ok(output) => output,
            Err(status) => return Completion::failed(status),
        };
        match output.get_mut(..QUERY_RESPONSE_SIZE) {
            Some(out) => {
                out.copy_from_slice(response.as_bytes());
                Completion::success(QUERY_RESPONSE_SIZE)
            }
            None => Failure::OutputTooSmall.into(),
        }
    }

    fn handle_signal(&mut self, buffers: &mut impl IoBuffers) -> Completion {
        // Parse the whole input into an owned value before the shared buffer is reused.
        let request = match buffers.input() {
            Ok(input) => SignalRequest::parse(input),
            Err(status) => return Completion::failed(status),
        };
        let request = match request {
            Ok(request) => request,
            Err(error) => return Completion::failed(error.nt_status()),
        };
        if let Err(failure) = self.check_signal(&request) {
            return failure.into();
        }
        let output = match buffers.output() {
            Ok(output) => output,
            Err(status) => return Completion::failed(status),
        };
        match self.signal(&request, output) {
            Ok(len) => Completion::success(len),
            Err(failure) => failure.into(),
        }
    }

    /// The query's response.
    pub fn query(&mut self) -> QueryResponse {
        let mut flags = 0;
        if self.cpu.leaf1_ecx & HYPERVISOR_PRESENT_BIT != 0 {
            flags |= QUERY_FLAG_HYPERVISOR_PRESENT;
        }
        if self.cpu.hypervisor.is_hv1() {
            flags |= QUERY_FLAG_HV1_INTERFACE;
        }
        let mut tsc_frequency_hz = 0;
        let mut instruction = None;
        if let Some(primitive) = self.hypercalls.as_mut() {
            flags |= QUERY_FLAG_HYPERCALLS_AVAILABLE;
            if primitive.input_page().is_some() {
                flags |= QUERY_FLAG_MEMORY_CONVENTION;
            }
            tsc_frequency_hz = primitive.tsc_frequency_hz().unwrap_or(0);
            instruction = self.cpu.vendor.instruction();
        }
        if self.policy.allow_raw_hypercalls {
            flags |= QUERY_FLAG_RAW_ALLOWED;
        }
        QueryResponse {
            header: MessageHeader::new(KIND_QUERY_RESPONSE, QUERY_RESPONSE_SIZE_U32),
            driver_version: DRIVER_VERSION,
            flags,
            cpu_vendor: cpu_vendor_code(self.cpu.vendor),
            instruction: instruction_code(instruction),
            max_operations: MAX_OPERATIONS_U32,
            max_calls_per_request: MAX_CALLS_PER_REQUEST,
            leaf1_ecx: self.cpu.leaf1_ecx,
            tsc_frequency_hz,
            cpu_vendor_string: self.cpu.vendor_string,
            reserved: 0,
            hypervisor_leaves: self.cpu.hypervisor.leaves.map(Into::into),
        }
    }

    /// Whether this device may run `request` at all, in the order the driver checks:
    /// a primitive exists, raw mode is allowed when asked for, the input page exists for the
    /// memory convention.
    ///
    /// # Errors
    /// [`Failure::NoHypervisor`], [`Failure::RawNotAllowed`] or [`Failure::NoInputPage`].
    pub fn check_signal(&mut self, request: &SignalRequest) -> Result<(), Failure> {
        let Some(primitive) = self.hypercalls.as_mut() else {
            return Err(Failure::NoHypervisor);
        };
        if request.raw() && !self.policy.allow_raw_hypercalls {
            return Err(Failure::RawNotAllowed);
        }
        if request.convention() == CallingConvention::Memory && primitive.input_page().is_none() {
            return Err(Failure::NoInputPage);
        }
        Ok(())
    }

    /// Runs a parsed request and writes its response to `output`, returning the response's
    /// length. Nothing is issued unless [`Self::check_signal`] passes and `output` can hold the
    /// whole response.
    ///
    /// # Errors
    /// A [`Self::check_signal`] failure, or [`Failure::OutputTooSmall`].
    pub fn signal(&mut self, request: &SignalRequest, output: &mut [u8]) -> Result<usize, Failure> {
        self.check_signal(request)?;
        let operations = request.operations();
        let size = signal_response_size(operations.len());
        let output = output.get_mut(..size).ok_or(Failure::OutputTooSmall)?;
        let Some(primitive) = self.hypercalls.as_mut() else {
            return Err(Failure::NoHypervisor);
        };
        let (head, entries) = output.split_at_mut(SIGNAL_HEADER_SIZE);
        let convention = request.convention();
        for (entry, operation) in entries
            .chunks_exact_mut(hvsignal_proto::wire::OPERATION_RESULT_SIZE)
            .zip(operations)
        {
            let result = run_operation(primitive, convention, operation)?;
            entry.copy_from_slice(result.as_bytes());
        }
        let header = SignalResponseHeader {
            header: MessageHeader::new(
                KIND_SIGNAL_RESPONSE,
                u32::try_from(size).unwrap_or(u32::MAX),
            ),
            convention: convention.to_wire(),
            flags: if request.raw() { SIGNAL_FLAG_RAW } else { 0 },
            operation_count: u32::try_from(operations.len()).unwrap_or(u32::MAX),
            reserved: 0,
        };
        head.copy_from_slice(header.as_bytes());
        Ok(size)
    }
}

/// Builds one operation's registers, issues it `repeat` times and returns its statistics.
///
/// # Errors
/// [`Failure::NoInputPage`] when the memory convention is asked for and the primitive has no
/// input page (checked before this is called, so only a primitive that loses its page fails).
pub fn run_operation<P: HypercallPrimitive>(
    primitive: &mut P,
    convention: CallingConvention,
    operation: &Operation,
) -> Result<OperationResult, Failure> {
    let control = operation.control(convention).raw();
    let input = operation.input();
    let rdx = match convention {
        CallingConvention::Fast => input.to_rdx(),
        CallingConvention::Memory => {
            let page = primitive.input_page().ok_or(Failure::NoInputPage)?;
            let offset = usize::from(operation.input_offset).min(PAGE_SIZE.saturating_sub(1));
            // Only the bytes that fit in the page are written; the rest would cross it.
            if let Some(destination) = page.bytes.get_mut(offset..) {
                for (to, from) in destination.iter_mut().zip(input.to_bytes()) {
                    *to = from;
                }
            }
            page.gpa.wrapping_add(offset as u64)
        }
    };
    let accumulator = Accumulator::run(primitive, control, rdx, 0, operation.repeat);
    Ok(accumulator.result(operation, control))
}
