//! The hvsignal driver's device contract, shared by the driver (`hvsignal-core`) and the
//! `hvsignal` console program:
//!
//! - [`names`]: service, hardware ID, binary, policy value, SDDL and the device interface GUID;
//! - [`ioctl`]: the IOCTL codes, built with a `const fn` equivalent of `CTL_CODE`;
//! - [`wire`]: the versioned `#[repr(C)]` layouts of every message and the protocol's limits;
//! - [`request`]: the signal request as a typed value, its validation, encoding and parsing;
//! - [`response`]: reading the responses;
//! - [`ntstatus`]: every NTSTATUS the driver fails with, its Win32 error, when it happens and the
//!   message to show;
//! - [`trace`]: the driver's and the console program's TraceLogging (ETW) events, field by field.
//!
//! `docs/PROTOCOL.md` describes every IOCTL byte by byte.
//!
//! The crate is `no_std`, allocates nothing and never panics on any input: the driver runs its
//! parser on bytes from user mode, where a panic is a bugcheck of the whole virtual machine.
//!
//! # Example
//!
//! A round trip: the program encodes a signal request, the driver parses it back, and the
//! program reads the driver's response. The request is docs/PROTOCOL.md's example — one fast
//! operation, connection 0x2001, flag 3, 10 calls, 56 bytes:
//!
//! ```
//! use hvsignal_proto::wire::{KIND_SIGNAL_RESPONSE, histogram_entry};
//! use hvsignal_proto::{
//!     CallingConvention, IOCTL_HVSIGNAL_SIGNAL, MessageHeader, Operation, OperationResult,
//!     SignalRequest, SignalResponse, SignalResponseHeader,
//! };
//! use zerocopy::IntoBytes;
//!
//! // The console program: the request's bytes, sent with IOCTL 0x0022_A004.
//! let mut request = SignalRequest::new(CallingConvention::Fast, false);
//! request.push(Operation::new(0x2001, 3, 10))?;
//! let mut input = [0u8; 56];
//! assert_eq!(request.encode(&mut input), Ok(56));
//! assert_eq!(IOCTL_HVSIGNAL_SIGNAL, 0x0022_A004);
//! // Header: "HvSg", version 2, kind 2 (signal request), size 56.
//! assert_eq!(input[..16], [0x48, 0x76, 0x53, 0x67, 2, 0, 2, 0, 56, 0, 0, 0, 0, 0, 0, 0]);
//! // Operation 0: connection 0x2001, flag 3, RsvdZ 0, ..., repeat 10.
//! assert_eq!(input[32..40], [0x01, 0x20, 0, 0, 3, 0, 0, 0]);
//! assert_eq!(input[48..52], [10, 0, 0, 0]);
//!
//! // The driver: parse and validate, then issue RCX = 0x1005D (fast SignalEvent) ten times.
//! let parsed = SignalRequest::parse(&input)?;
//! assert_eq!(parsed, request);
//! let operation = parsed.operations()[0];
//! assert_eq!(operation.control(parsed.convention()).raw(), 0x0001_005D);
//! assert_eq!(operation.input().to_rdx(), 0x0000_0003_0000_2001);
//! // Output buffer needed: 32 + 80 × 1 + 4 × min(10, 3328) bytes.
//! assert_eq!(parsed.response_capacity(), 152);
//!
//! // What the driver answers when all ten calls succeed in 200 cycles each: the header, one
//! // 80-byte result and one histogram entry (bucket 200 holds 10 calls): 116 bytes.
//! let mut output = Vec::new();
//! output.extend_from_slice(SignalResponseHeader {
//!     header: MessageHeader::new(KIND_SIGNAL_RESPONSE, 116),
//!     convention: CallingConvention::Fast.to_wire(),
//!     flags: 0,
//!     operation_count: 1,
//!     timer_overhead_cycles: 25,
//! }.as_bytes());
//! output.extend_from_slice(OperationResult {
//!     connection_id: 0x2001,
//!     flag_number: 3,
//!     control: 0x0001_005D,
//!     calls: 10,
//!     successes: 10,
//!     cycles_min: 200,
//!     cycles_max: 200,
//!     cycles_sum: 2000,
//!     histogram_entries: 1,
//!     ..OperationResult::default()
//! }.as_bytes());
//! output.extend_from_slice(&histogram_entry(200, 10).to_le_bytes());
//!
//! // The console program reads it.
//! let response = SignalResponse::decode(&output)?;
//! assert_eq!((response.len(), response.convention()), (1, Some(CallingConvention::Fast)));
//! let result = response.operation(0).ok_or("no operation 0")?;
//! assert_eq!((result.calls, result.successes, result.failures), (10, 10, 0));
//! assert!(result.first_hv_status().is_success());
//! assert_eq!(result.mean_cycles(), Some(200));
//! let view = response.views().next().ok_or("no operation view")?;
//! assert_eq!(view.histogram().collect::<Vec<_>>(), [(200, 10)]);
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
#![no_std]

pub mod ioctl;
pub mod names;
pub mod ntstatus;
pub mod request;
pub mod response;
pub mod trace;
pub mod wire;

pub use ioctl::{IOCTL_HVSIGNAL_QUERY, IOCTL_HVSIGNAL_SIGNAL, Ioctl, ctl_code};
pub use names::{
    DEVICE_SDDL, DRIVER_BINARY, Guid, HARDWARE_ID, HVSIGNAL_INTERFACE_GUID,
    HVSIGNAL_INTERFACE_GUID_STR, POLICY_KEY_PATH, RAW_POLICY_VALUE_NAME, SERVICE_NAME,
};
pub use ntstatus::{
    Failure, NtStatus, STATUS_ACCESS_DENIED, STATUS_BUFFER_TOO_SMALL,
    STATUS_DATATYPE_MISALIGNMENT_ERROR, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_ADDRESS,
    STATUS_INVALID_BUFFER_SIZE, STATUS_INVALID_DEVICE_REQUEST, STATUS_INVALID_DEVICE_STATE,
    STATUS_INVALID_PARAMETER, STATUS_INVALID_USER_BUFFER, STATUS_NOT_SUPPORTED,
    STATUS_REVISION_MISMATCH, STATUS_SUCCESS, Stage, describe, describe_win32, nt_success,
};
pub use request::{
    CallingConvention, EncodeError, FIXED_CONTROL_BITS, Operation, OperationError, ParseError,
    RawField, SignalRequest,
};
pub use response::{
    OperationView, ResponseError, SignalResponse, cpu_vendor_code, instruction_code,
};
pub use wire::{
    HISTOGRAM_BUCKETS, HeaderMismatch, MAX_CALLS_PER_REQUEST, MAX_OPERATIONS,
    MAX_SIGNAL_REQUEST_SIZE, MAX_SIGNAL_RESPONSE_SIZE, MessageHeader, OPTION_SAMPLES,
    OperationEntry, OperationResult, PROTOCOL_VERSION, QUERY_RESPONSE_SIZE, QueryResponse,
    SignalRequestHeader, SignalResponseHeader, histogram_bucket, histogram_bucket_bounds,
    signal_request_size, signal_response_size, trailing_words,
};
