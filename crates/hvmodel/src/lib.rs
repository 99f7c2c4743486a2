//! A reference model of the hypervisor side of `HvCallSignalEvent` (call code 0x005D), at the
//! instruction boundary.
//!
//! The model receives exactly what Hyper-V receives — RCX (control word), RDX and R8, and for
//! the memory convention the caller's input page — and returns the RAX value. It lets the
//! driver's request handling (`hvsignal-core`) and the console program run end to end on any
//! machine, and it is the oracle of the conformance suite. Everything it reports is
//! **simulated**.
//!
//! - [`World`]: the described world (caller privileges, partitions, VPs, ports, connections,
//!   CPUID, timing), parsed from TOML world files and validated, or [`World::builtin`].
//! - [`Profile`]: whose behaviour the model reproduces — the TLFS (with the check order fixed in
//!   docs/MODEL.md), KVM (+QEMU), QEMU alone, or OpenVMM (docs/HYPERCALL.md, Hypervisors).
//! - [`Hypervisor`]: the shared, thread-safe state; [`Hypervisor::hypercall`] is the decision
//!   function, [`Hypervisor::sief_slot`], [`Hypervisor::interrupts`],
//!   [`Hypervisor::calls_with_status`] the observations.
//! - [`ModelPrimitive`]: one caller, implementing [`hvcall::HypercallPrimitive`].
//!
//! `docs/MODEL.md` documents the world-file format, each profile's check order with its sources,
//! the timing model and what is not modelled.
//!
//! ```
//! use hvcall::{HvStatus, HypercallControl, HypercallPrimitive, HypercallResult, SignalEventInput};
//! use hvmodel::{Hypervisor, World};
//!
//! let hv = Hypervisor::new(World::builtin());
//! let mut caller = hv.primitive();
//! let rdx = SignalEventInput::new(0x2001, 0)?.to_rdx();
//! let rax = caller.hypercall(HypercallControl::signal_event(true).raw(), rdx, 0);
//! assert_eq!(HypercallResult::from_raw(rax).status(), HvStatus::SUCCESS);
//! // Port 1 of the built-in world: partition 1, VP 0, SINT 2, base flag 0.
//! assert_eq!(hv.sief_flag(1, 0, 2, 0), Some(true));
//! assert_eq!(hv.interrupts(1, 0, 2), Some(1));
//! # Ok::<(), hvcall::SignalInputError>(())
//! ```

pub mod cpuid;
mod hypervisor;
pub mod input;
mod primitive;
mod profile;
pub mod receiver;
pub mod splitmix64;
pub mod world;

pub use hypervisor::{
    CallOutcome, Hypervisor, KVM_RESERVED_CONTROL_MASK, SIEF_SLOT_SIZE, Signal, Stage, XEN_ENOSYS,
};
pub use primitive::{INPUT_PAGE_BASE_GPA, ModelPrimitive};
pub use profile::{Profile, UnknownProfile};
pub use world::{
    Caller, Connection, HypervisorInfo, Partition, PartitionState, Port, PortType, TargetVp,
    Timing, Vp, World, WorldError,
};
