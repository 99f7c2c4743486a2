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
    HISTOGRAM_BUCKETS, MAX_CALLS_PER_REQUEST, MAX_OPERATIONS, MAX_SIGNAL_REQUEST_SIZE,
    MAX_SIGNAL_RESPONSE_SIZE, MessageHeader, OPTION_SAMPLES, OperationEntry, OperationResult,
    PROTOCOL_VERSION, QUERY_RESPONSE_SIZE, QueryResponse, SignalRequestHeader,
    SignalResponseHeader, histogram_bucket, histogram_bucket_bounds, signal_request_size,
    signal_response_size, trailing_words,
};
