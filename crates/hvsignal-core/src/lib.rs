//! What the hvsignal driver does with a request, generic over [`hvcall::HypercallPrimitive`].
//!
//! The KMDF driver hands every device-control request to [`RequestHandler::handle_device_control`] and
//! completes it with the returned [`Completion`]; tests and the console program's model backend
//! run exactly the same code over `hvmodel`'s primitive.
//!
//! - The query fills a [`QueryResponse`] from CPUID (read once, in [`RequestHandler::new`]), the
//!   primitive (TSC frequency, input page) and the [`Policy`].
//! - The device is built from a [`Readiness`]: the checks that a hypercall is legal on this
//!   machine (`hvcall::readiness`). When they refuse, no primitive is kept and every signal
//!   request fails with [`Failure::HypercallsRefused`]; the query says why.
//! - A signal request is parsed completely, in place, into the device's own [`SignalRequest`]
//!   (no heap, never on the stack per request) before the output buffer is touched, because
//!   with `METHOD_BUFFERED` input and output are the same system buffer. Then each operation's
//!   control word and input are built once, the call is issued `repeat` times, each call is
//!   timed with the timestamp counter, and the operation's result
//!   ([`hvsignal_proto::OperationResult`]) and its samples or histogram are written to the
//!   output as soon as it finishes.
//! - The call code is always 0x005D: the control word is `HvCallSignalEvent` | the
//!   convention's fast bit | the raw extra bits with bits 16:0 masked off.
//! - Every byte of a response up to the returned length is written; the rest of the request's
//!   response capacity ([`SignalRequest::response_capacity`]) is zeroed (it held scratch work);
//!   nothing past the capacity is touched.
//!
//! The crate is `no_std`, allocates nothing and never panics on any input.
//!
//! # Example
//!
//! A device over the reference model's built-in world (`hvmodel`, a dev-dependency), answering
//! a query and a signal request the way the driver completes them:
//!
//! ```
//! use hvcall::HvStatus;
//! use hvmodel::{Hypervisor, World};
//! use hvsignal_core::{Completion, IoBuffers, NtStatus, Policy, RequestHandler};
//! use hvsignal_proto::{
//!     CallingConvention, IOCTL_HVSIGNAL_QUERY, IOCTL_HVSIGNAL_SIGNAL, Operation, QueryResponse,
//!     STATUS_INVALID_DEVICE_REQUEST, SignalRequest, SignalResponse,
//! };
//!
//! /// Separate input and output buffers (the driver's are WDF's).
//! struct Buffers {
//!     input: Vec<u8>,
//!     output: Vec<u8>,
//! }
//!
//! impl IoBuffers for Buffers {
//!     fn input(&mut self) -> Result<&[u8], NtStatus> {
//!         Ok(&self.input)
//!     }
//!     fn output(&mut self) -> Result<&mut [u8], NtStatus> {
//!         Ok(&mut self.output)
//!     }
//! }
//!
//! let hv = Hypervisor::new(World::builtin());
//! let mut device = RequestHandler::new(hv.readiness(), Some(hv.primitive()), Policy::default());
//!
//! // The query: 224 bytes, never reads its input.
//! let mut query = Buffers { input: Vec::new(), output: vec![0; 224] };
//! assert_eq!(device.handle_device_control(IOCTL_HVSIGNAL_QUERY, &mut query), Completion::success(224));
//! assert!(QueryResponse::decode(&query.output)?.hypercalls_available());
//!
//! // A signal request: connection 0x2001 (port 1 of the built-in world) twice, and 0x3001,
//! // which no connection has, once; each operation asks for its per-call samples.
//! let mut request = SignalRequest::new(CallingConvention::Fast, false);
//! request.push(Operation::new(0x2001, 0, 2).with_samples())?;
//! request.push(Operation::new(0x3001, 0, 1).with_samples())?;
//! let mut input = vec![0; request.encoded_len()];
//! request.encode(&mut input)?;
//! let mut signal = Buffers { input, output: vec![0; request.response_capacity()] };
//! let completion = device.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut signal);
//! // 32-byte header, two 80-byte results, 2 + 1 samples of 4 bytes.
//! assert_eq!(completion, Completion::success(32 + 2 * 80 + 3 * 4));
//!
//! let response = SignalResponse::decode(&signal.output[..completion.information])?;
//! let results: Vec<_> = response.operations().collect();
//! assert_eq!((results[0].calls, results[0].successes), (2, 2));
//! assert_eq!(results[0].control, 0x0001_005D);
//! assert_eq!(results[0].last_hv_status(), HvStatus::SUCCESS);
//! assert_eq!((results[1].calls, results[1].failures), (1, 1));
//! assert_eq!(results[1].first_hv_status(), HvStatus::INVALID_CONNECTION_ID); // 0x0012
//! assert_eq!(response.views().map(|v| v.samples().count()).collect::<Vec<_>>(), [2, 1]);
//! // The first call set flag 0 of port 1 and raised the SINT; the second found it set.
//! assert_eq!(hv.interrupts(1, 0, 2), Some(1));
//!
//! // Any other IOCTL code: STATUS_INVALID_DEVICE_REQUEST, no output.
//! assert_eq!(
//!     device.handle_device_control(0x0022_6004, &mut signal),
//!     Completion::failed(STATUS_INVALID_DEVICE_REQUEST)
//! );
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
#![no_std]

mod timing;

use core::sync::atomic::{Ordering, fence};

use hvcall::{
    HypercallPrimitive, IsolationConfig, PAGE_SIZE, Readiness, Refusal, SignalEventInput,
};
use hvsignal_proto::trace::BUFFER_UNAVAILABLE;
use hvsignal_proto::wire::{
    KIND_QUERY_RESPONSE, KIND_SIGNAL_RESPONSE, OPERATION_RESULT_SIZE, QUERY_FLAG_HV1_INTERFACE,
    QUERY_FLAG_HYPERCALLS_AVAILABLE, QUERY_FLAG_HYPERVISOR_PRESENT, QUERY_FLAG_MEMORY_CONVENTION,
    QUERY_FLAG_RAW_ALLOWED, READINESS_GUEST_OS_ID_READ, READINESS_HYPERCALL_MSR_READ,
    READINESS_ISOLATION_READ, SIGNAL_FLAG_RAW, SIGNAL_HEADER_SIZE, TIMER_OVERHEAD_PAIRS,
    VersionTriple,
};
use hvsignal_proto::{
    CallingConvention, Failure, Ioctl, MAX_CALLS_PER_REQUEST, MAX_OPERATIONS, MessageHeader,
    Operation, QUERY_RESPONSE_SIZE, QueryResponse, STATUS_SUCCESS, SignalRequest,
    SignalResponseHeader, cpu_vendor_code, instruction_code, signal_response_size,
};
use zerocopy::{FromBytes, IntoBytes};

pub use hvsignal_proto::NtStatus;
pub use timing::{Accumulator, Words};

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
    /// For a refusal, the check behind it, for traces: the parse error's rule
    /// ([`hvsignal_proto::ParseError::rule`]) for a malformed request, the readiness refusal's
    /// name ([`hvcall::Refusal::name`]) when hypercalls are refused, [`BUFFER_UNAVAILABLE`] when
    /// [`IoBuffers`] could not give the request's buffers; empty otherwise.
    pub detail: &'static str,
}

impl Completion {
    /// Success with `information` bytes of output.
    #[must_use]
    pub const fn success(information: usize) -> Self {
        Self {
            status: STATUS_SUCCESS,
            information,
            detail: "",
        }
    }

    /// Failure with `status` and no output.
    #[must_use]
    pub const fn failed(status: NtStatus) -> Self {
        Self::refused(status, "")
    }

    /// Failure with `status`, no output, and the check behind it (`detail`).
    #[must_use]
    pub const fn refused(status: NtStatus, detail: &'static str) -> Self {
        Self {
            status,
            information: 0,
            detail,
        }
    }
}

impl From<Failure> for Completion {
    fn from(failure: Failure) -> Self {
        Self::failed(failure.nt_status())
    }
}

/// The driver's device: what the machine offers ([`Readiness`]), the hypercall primitive (only
/// when the readiness verdict allows hypercalls), the policy, and the one signal request it
/// parses every IOCTL into.
#[derive(Debug)]
pub struct RequestHandler<P> {
    readiness: Readiness,
    hypercalls: Option<P>,
    policy: Policy,
    /// Scratch space for the request being handled: parsed in place, so the 1.6 KiB request is
    /// never built or copied on the kernel stack per request (it is built once, with the
    /// device, in `RequestHandler::new`).
    request: SignalRequest,
}

impl<P: HypercallPrimitive> RequestHandler<P> {
    /// `readiness` is what [`Readiness::assess`] found on this machine (the driver's
    /// `hvcall::native::readiness`, or the model's). `hypercalls` is dropped unless the verdict
    /// allows hypercalls, so a refused machine never issues one: queries still work and signal
    /// requests fail with [`Failure::HypercallsRefused`] without issuing anything.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::HypercallInstruction;
    /// use hvmodel::{Hypervisor, World};
    /// use hvsignal_core::{Policy, RequestHandler};
    ///
    /// // The built-in world: an Intel Hyper-V guest that takes hypercalls.
    /// let hv = Hypervisor::new(World::builtin());
    /// let policy = Policy { allow_raw_hypercalls: true };
    /// let mut device = RequestHandler::new(hv.readiness(), Some(hv.primitive()), policy);
    /// assert_eq!(device.readiness().verdict, Ok(HypercallInstruction::Vmcall));
    /// assert!(device.hypercalls().is_some());
    /// let query = device.query();
    /// assert!(query.hypercalls_available() && query.raw_allowed());
    /// assert_eq!(query.hypercall_instruction(), Some(HypercallInstruction::Vmcall));
    /// ```
    pub fn new(readiness: Readiness, hypercalls: Option<P>, policy: Policy) -> Self {
        Self {
            readiness,
            hypercalls: hypercalls.filter(|_| readiness.verdict.is_ok()),
            policy,
            request: SignalRequest::new(CallingConvention::Fast, false),
        }
    }

    /// What the device found about the machine at start.
    #[must_use]
    pub const fn readiness(&self) -> &Readiness {
        &self.readiness
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

    /// Handles one device-control request and says how to complete it.
    ///
    /// [`hvsignal_proto::IOCTL_HVSIGNAL_QUERY`] writes the [`QueryResponse`] (224 bytes) and
    /// never reads the input. [`hvsignal_proto::IOCTL_HVSIGNAL_SIGNAL`] parses the whole input
    /// first, then checks the device may run it (a primitive, the raw-mode policy, the input
    /// page for the memory convention) and that the output holds
    /// [`SignalRequest::response_capacity`] bytes, and only then issues the calls. Any other
    /// code is [`Failure::UnknownRequest`] and touches neither buffer. A failure's completion
    /// carries its NTSTATUS ([`Failure::nt_status`], or the buffer retrieval's own status) and
    /// 0 bytes.
    ///
    /// # Examples
    ///
    /// The crate's front page runs a query and a signal request; a device whose readiness
    /// verdict refused hypercalls keeps no primitive and refuses every signal request:
    ///
    /// ```
    /// use hvcall::Refusal;
    /// use hvmodel::{Hypervisor, World};
    /// use hvsignal_core::{Completion, IoBuffers, NtStatus, Policy, RequestHandler};
    /// use hvsignal_proto::{
    ///     CallingConvention, IOCTL_HVSIGNAL_SIGNAL, Operation, STATUS_NOT_SUPPORTED, SignalRequest,
    /// };
    ///
    /// struct Buffers(Vec<u8>, Vec<u8>);
    /// impl IoBuffers for Buffers {
    ///     fn input(&mut self) -> Result<&[u8], NtStatus> { Ok(&self.0) }
    ///     fn output(&mut self) -> Result<&mut [u8], NtStatus> { Ok(&mut self.1) }
    /// }
    ///
    /// // A world whose guest OS has not registered itself (guest OS ID 0; docs/MODEL.md).
    /// let world = World::from_toml_str("[hypervisor]\nguest_os_id = 0\n", "example.toml")?;
    /// let hv = Hypervisor::new(world);
    /// let mut device = RequestHandler::new(hv.readiness(), Some(hv.primitive()), Policy::default());
    /// assert_eq!(device.readiness().verdict, Err(Refusal::GuestOsIdNotSet));
    /// assert!(device.hypercalls().is_none());
    ///
    /// let mut request = SignalRequest::new(CallingConvention::Fast, false);
    /// request.push(Operation::new(0x2001, 0, 1))?;
    /// let mut input = vec![0; request.encoded_len()];
    /// request.encode(&mut input)?;
    /// let mut buffers = Buffers(input, vec![0; request.response_capacity()]);
    /// assert_eq!(
    ///     device.handle_device_control(IOCTL_HVSIGNAL_SIGNAL, &mut buffers),
    ///     // Refused, naming the readiness rule (the driver's Refusal trace event shows it).
    ///     Completion::refused(STATUS_NOT_SUPPORTED, "guest-os-id-not-set")
    /// );
    /// assert_eq!(hv.total_calls(), 0);
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
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
            Err(status) => return Completion::refused(status, BUFFER_UNAVAILABLE),
        };
        match response.write_to_prefix(output) {
            Ok(()) => Completion::success(QUERY_RESPONSE_SIZE),
            Err(_) => Failure::OutputTooSmall.into(),
        }
    }

    fn handle_signal(&mut self, buffers: &mut impl IoBuffers) -> Completion {
        // Parse the whole input into the device's request before the shared buffer is reused.
        let parsed = match buffers.input() {
            Ok(input) => self.request.parse_into(input),
            Err(status) => return Completion::refused(status, BUFFER_UNAVAILABLE),
        };
        if let Err(error) = parsed {
            return Completion::refused(error.nt_status(), error.rule());
        }
        let primitive = match check_signal(&mut self.hypercalls, self.policy, &self.request) {
            Ok(primitive) => primitive,
            Err(Failure::HypercallsRefused) => {
                let detail = self.readiness.verdict.err().map_or("", Refusal::name);
                return Completion::refused(Failure::HypercallsRefused.nt_status(), detail);
            }
            Err(failure) => return failure.into(),
        };
        let output = match buffers.output() {
            Ok(output) => output,
            Err(status) => return Completion::refused(status, BUFFER_UNAVAILABLE),
        };
        match run_request(&self.request, primitive, output) {
            Ok(len) => Completion::success(len),
            Err(failure) => failure.into(),
        }
    }

    /// The query's response: the readiness facts read when the device started, the
    /// primitive's TSC frequency and input page, and the policy (docs/PROTOCOL.md,
    /// `IOCTL_HVSIGNAL_QUERY`). Issues no hypercall.
    pub fn query(&mut self) -> QueryResponse {
        let r = &self.readiness;
        let mut flags = 0;
        if r.hypervisor_present() {
            flags |= QUERY_FLAG_HYPERVISOR_PRESENT;
        }
        if r.cpuid.is_hv1() {
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
            instruction = r.instruction();
        }
        if self.policy.allow_raw_hypercalls {
            flags |= QUERY_FLAG_RAW_ALLOWED;
        }
        let mut readiness_flags = 0;
        if r.guest_os_id.is_some() {
            readiness_flags |= READINESS_GUEST_OS_ID_READ;
        }
        if r.hypercall_msr.is_some() {
            readiness_flags |= READINESS_HYPERCALL_MSR_READ;
        }
        if r.isolation.is_some() {
            readiness_flags |= READINESS_ISOLATION_READ;
        }
        QueryResponse {
            header: MessageHeader::new(KIND_QUERY_RESPONSE, QUERY_RESPONSE_SIZE_U32),
            driver_version: DRIVER_VERSION,
            flags,
            cpu_vendor: cpu_vendor_code(r.vendor()),
            instruction: instruction_code(instruction),
            max_operations: MAX_OPERATIONS_U32,
            max_calls_per_request: MAX_CALLS_PER_REQUEST,
            leaf1_ecx: r.leaf1_ecx,
            tsc_frequency_hz,
            cpu_vendor_string: hvcall::cpuid::registers_to_bytes([
                r.leaf0.ebx,
                r.leaf0.edx,
                r.leaf0.ecx,
            ]),
            reserved: 0,
            hypervisor_leaves: r.cpuid.leaves,
            refusal: match r.verdict {
                Ok(_) => 0,
                Err(refusal) => refusal.code(),
            },
            readiness_flags,
            guest_os_id: r.guest_os_id.unwrap_or(0),
            hypercall_msr: r.hypercall_msr.unwrap_or(0),
            isolation_leaf: r
                .isolation
                .map(IsolationConfig::to_leaf)
                .unwrap_or_default(),
        }
    }
}

/// Whether the device may run the parsed request at all, checked once per request in the order
/// the driver checks: a primitive exists (the readiness verdict allowed hypercalls), raw mode is
/// allowed when asked for, the input page exists for the memory convention. Returns the
/// primitive to run it on.
fn check_signal<'p, P: HypercallPrimitive>(
    hypercalls: &'p mut Option<P>,
    policy: Policy,
    request: &SignalRequest,
) -> Result<&'p mut P, Failure> {
    let Some(primitive) = hypercalls.as_mut() else {
        return Err(Failure::HypercallsRefused);
    };
    if request.raw() && !policy.allow_raw_hypercalls {
        return Err(Failure::RawNotAllowed);
    }
    if request.convention() == CallingConvention::Memory && primitive.input_page().is_none() {
        return Err(Failure::NoInputPage);
    }
    Ok(primitive)
}

/// Runs the parsed request [`check_signal`] allowed, on the primitive it returned, and writes
/// its response to `output`, returning the response's length. Nothing is issued unless `output` can hold the largest response the
/// request can have ([`SignalRequest::response_capacity`]).
fn run_request<P: HypercallPrimitive>(
    request: &SignalRequest,
    primitive: &mut P,
    output: &mut [u8],
) -> Result<usize, Failure> {
    let operations = request.operations();
    let output = output
        .get_mut(..request.response_capacity())
        .ok_or(Failure::OutputTooSmall)?;
    let (head, rest) = output
        .split_at_mut_checked(SIGNAL_HEADER_SIZE)
        .ok_or(Failure::OutputTooSmall)?;
    let (entries, trailing) = rest
        .split_at_mut_checked(OPERATION_RESULT_SIZE.saturating_mul(operations.len()))
        .ok_or(Failure::OutputTooSmall)?;
    let trailing = <Words>::mut_from_bytes(trailing).map_err(|_| Failure::OutputTooSmall)?;
    let timer_overhead_cycles = timing::timer_overhead(primitive, TIMER_OVERHEAD_PAIRS);
    let convention = request.convention();
    // Each operation's words follow the previous operation's words (not its reserve), so
    // the response stays contiguous; the capacity check above covers every reserve.
    let mut used = 0usize;
    for (entry, operation) in entries
        .chunks_exact_mut(OPERATION_RESULT_SIZE)
        .zip(operations)
    {
        let region = trailing.get_mut(used..).ok_or(Failure::OutputTooSmall)?;
        let words = run_operation(primitive, convention, operation, entry, region)?;
        used = used.saturating_add(words);
    }
    // Words past the response held scratch work (bucket indices before packing): clear
    // them, so no byte of the output buffer keeps anything but the response or zeros.
    for word in trailing.get_mut(used..).into_iter().flatten() {
        word.set(0);
    }
    let size = signal_response_size(operations.len(), used);
    let header = SignalResponseHeader {
        header: MessageHeader::new(
            KIND_SIGNAL_RESPONSE,
            u32::try_from(size).unwrap_or(u32::MAX),
        ),
        convention: convention.to_wire(),
        flags: if request.raw() { SIGNAL_FLAG_RAW } else { 0 },
        operation_count: u32::try_from(operations.len()).unwrap_or(u32::MAX),
        timer_overhead_cycles,
    };
    header.write_to(head).map_err(|_| Failure::OutputTooSmall)?;
    Ok(size)
}

/// Builds one operation's registers, issues it `repeat` times, writes its result to `entry`
/// (its `OPERATION_RESULT_SIZE` bytes of the response) and its samples or histogram to the
/// start of `region` (the response's trailing words from this operation on), and returns how
/// many words it wrote.
///
/// # Errors
/// [`Failure::NoInputPage`] when the memory convention is asked for and the primitive has no
/// input page (checked before this is called, so only a primitive that loses its page fails);
/// [`Failure::Malformed`] for an input that would leave the page (refused by parsing first);
/// [`Failure::OutputTooSmall`] when `entry` or `region` is short.
pub fn run_operation<P: HypercallPrimitive>(
    primitive: &mut P,
    convention: CallingConvention,
    operation: &Operation,
    entry: &mut [u8],
    region: &mut Words,
) -> Result<usize, Failure> {
    let control = operation.control(convention).raw();
    let input = operation.input();
    let rdx = match convention {
        CallingConvention::Fast => input.to_rdx(),
        CallingConvention::Memory => {
            let page = primitive.input_page().ok_or(Failure::NoInputPage)?;
            // Parsing refused any input that would reach past the page (`InputBeyondPage`);
            // checked again here so the hypervisor is never pointed outside memory we own.
            let offset = usize::from(operation.input_offset);
            let end = offset.saturating_add(operation.memory_input_size());
            let destination = page
                .bytes
                .get_mut(offset..offset.saturating_add(SignalEventInput::SIZE))
                .filter(|_| end <= PAGE_SIZE)
                .ok_or(Failure::Malformed)?;
            input
                .to_bytes()
                .write_to(destination)
                .map_err(|_| Failure::Malformed)?;
            let gpa = page.gpa.wrapping_add(offset as u64);
            // The hypervisor reads the page the moment the instruction runs. The asm (no `nomem`)
            // already keeps the compiler from moving the write past it, and on x86 this CPU's
            // stores are visible to the hypervisor after the VM exit; the fence states the
            // ordering explicitly at the cost of one MFENCE per operation, not per call.
            fence(Ordering::SeqCst);
            gpa
        }
    };
    let accumulator = Accumulator::run_into(
        primitive,
        (control, rdx, 0),
        operation.repeat,
        operation.wants_samples(),
        region,
    )?;
    accumulator.write_result(operation, control, entry)?;
    Ok(accumulator.words as usize)
}
