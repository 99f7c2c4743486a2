//! The Hyper-V hypercall ABI, as far as `HvCallSignalEvent` (call code 0x005D) needs it.
//!
//! Everything here follows the Hyper-V Top Level Functional Specification (TLFS) as summarised,
//! with sources, in docs/HYPERCALL.md:
//!
//! - [`control`]: the hypercall input value (control word, RCX), every field typed and checked;
//! - [`result`]: the hypercall result value (RAX): status and reps completed;
//! - [`status`]: every known `HV_STATUS` with its TLFS name and a one-line meaning;
//! - [`signal`]: the 8-byte `HvCallSignalEvent` input and its fast-call RDX form;
//! - [`cpuid`]: the hypervisor CPUID leaves 0x40000000–0x40000006, the partition privilege mask
//!   and the choice between `vmcall` and `vmmcall`;
//! - [`primitive`]: the one operation everything is built on, `hypercall(rcx, rdx, r8) -> rax`,
//!   with the few other things a caller needs from the machine;
//! - [`readiness`]: whether this machine may take a hypercall at all, and with which
//!   instruction (the checks that keep a hypercall from faulting in the kernel);
//! - [`native`] (x86_64 only): the real instruction, legal only at CPL 0.
//!
//! The crate is `no_std`, allocates nothing and never panics on any input: it is linked into the
//! kernel driver, where a panic is a bugcheck of the whole virtual machine.
//!
//! # Example
//!
//! The three registers of a fast `HvCallSignalEvent`, and what its result says:
//!
//! ```
//! use hvcall::{
//!     HvStatus, HypercallControl, HypercallResult, SIGNAL_EVENT, SignalEventInput,
//!     check_connection_id,
//! };
//!
//! // RCX: call code 0x005D with bit 16 (the register calling convention) set.
//! let control = HypercallControl::signal_event(true);
//! assert_eq!(control.raw(), 0x0001_005D);
//! assert_eq!((control.call_code(), control.fast()), (SIGNAL_EVENT, true));
//!
//! // RDX: ConnectionId | FlagNumber << 32 | RsvdZ << 48.
//! let input = SignalEventInput::new(0x2001, 3)?;
//! assert_eq!(input.to_rdx(), 0x0000_0003_0000_2001);
//!
//! // RAX: HV_STATUS in bits 15:0 — here HV_STATUS_INVALID_CONNECTION_ID (0x0012).
//! let result = HypercallResult::from_raw(0x12);
//! assert_eq!(result.status(), HvStatus::INVALID_CONNECTION_ID);
//! assert_eq!(result.status().name(), Some("HV_STATUS_INVALID_CONNECTION_ID"));
//! assert_eq!(result.reps_completed(), 0);
//!
//! // A connection id is 24 bits: 0x1000000 sets reserved bit 24.
//! assert!(check_connection_id(0x0100_0000).is_err());
//! assert_eq!(check_connection_id(0x00FF_FFFF), Ok(0x00FF_FFFF));
//! # Ok::<(), hvcall::SignalInputError>(())
//! ```

#![no_std]

pub mod control;
pub mod cpuid;
#[cfg(target_arch = "x86_64")]
pub mod native;
pub mod primitive;
pub mod readiness;
pub mod result;
pub mod signal;
pub mod status;

pub use control::{ControlError, ControlField, HypercallControl, SIGNAL_EVENT};
pub use cpuid::{
    CpuVendor, CpuidResult, FeaturesAndPrivileges, HypercallInstruction, HypervisorCpuid,
    HypervisorVersion, PrivilegeBit, PrivilegeMask, named_bits,
};
pub use primitive::{HypercallPrimitive, InputPage, PAGE_SIZE};
pub use readiness::{
    HYPERCALL_RAX, HypercallMsr, IsolationConfig, IsolationType, Readiness, Refusal,
};
pub use result::HypercallResult;
pub use signal::{
    CONNECTION_ID_MASK, PORT_ID_MASK, SignalEventInput, SignalInputError, check_connection_id,
};
pub use status::HvStatus;
