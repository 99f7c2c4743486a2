//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hvcall::{HvStatus, HypercallResult};
use hvmodel::{Hypervisor, Profile, World};

/// Fast-convention `HvCallSignalEvent` control word.
pub const FAST: u64 = 0x1_005D;
/// Memory-convention `HvCallSignalEvent` control word.
pub const SLOW: u64 = 0x5D;

/// The shipped world files, `crates/hvmodel/worlds/`.
pub fn worlds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("worlds")
}

/// A shipped world file, parsed.
pub fn world(name: &str) -> World {
    let path = worlds_dir().join(name);
    World::from_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// A hypervisor for a shipped world, under its own profile or another one.
pub fn hv(name: &str, profile: Option<Profile>) -> Arc<Hypervisor> {
    let w = world(name);
    let w = match profile {
        Some(p) => w.with_profile(p),
        None => w,
    };
    Hypervisor::new(w)
}

/// The fast-call RDX for a connection id field (all 32 bits), flag number and RsvdZ.
pub fn rdx(connection_id: u32, flag: u16, rsvd: u16) -> u64 {
    u64::from(connection_id) | u64::from(flag) << 32 | u64::from(rsvd) << 48
}

/// One fast call; the status.
pub fn fast(hv: &Hypervisor, connection_id: u32, flag: u16) -> HvStatus {
    status(hv.hypercall(FAST, rdx(connection_id, flag, 0), 0, None))
}

/// A call with any RCX/RDX and no input page; the status.
pub fn raw(hv: &Hypervisor, rcx: u64, rdx: u64) -> HvStatus {
    status(hv.hypercall(rcx, rdx, 0, None))
}

/// The status of a RAX value, checking the rest of RAX is zero (simple call, no reps).
pub fn status(rax: u64) -> HvStatus {
    assert_eq!(rax >> 16, 0, "RAX {rax:#x} has bits beyond the status");
    HypercallResult::from_raw(rax).status()
}

/// The profiles that implement `HvCallSignalEvent` (every one but `xen`, whose viridian layer
/// answers INVALID_HYPERCALL_CODE to it), in documentation order.
pub const SIGNAL_EVENT_PROFILES: [hvmodel::Profile; 4] = [
    hvmodel::Profile::Tlfs,
    hvmodel::Profile::Kvm,
    hvmodel::Profile::Qemu,
    hvmodel::Profile::Openvmm,
];
