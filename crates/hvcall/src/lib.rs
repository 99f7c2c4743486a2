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
