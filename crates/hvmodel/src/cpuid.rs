//! The CPUID leaves a world implies.
//!
//! | leaf | content |
//! |---|---|
//! | 0 | EAX = [`MAX_BASIC_LEAF`], vendor string of `vendor` (GenuineIntel / AuthenticAMD) |
//! | 1 | ECX bit 31 (hypervisor present) when `[hypervisor] present`; every other bit 0 |
//! | 0x40000000 | EAX = [`MAX_HYPERVISOR_LEAF`], vendor signature ([`World::vendor_signature`]) |
//! | 0x40000001 | EAX = "Hv#1" |
//! | 0x40000002 | build, major.minor ([`World::hypervisor_version`]) |
//! | 0x40000003 | EAX/EBX = [`World::cpuid_privileges`], ECX = 0, EDX = [`World::features_edx`] |
//! | 0x40000004 | EBX = 0xFFFFFFFF (never notify on spinlock retries), rest 0 |
//! | 0x40000005 | EAX = [`MAX_VIRTUAL_PROCESSORS`], EBX = [`MAX_LOGICAL_PROCESSORS`] (illustrative) |
//! | 0x40000006 | 0 |
//! | 0x4000000C | `[hypervisor] isolation`/`paravisor`, when given (then the highest leaf is 0x4000000C) |
//!
//! Without a hypervisor the 0x4000000x leaves read as zero. Every other leaf reads as zero.

use hvcall::cpuid::{
    HYPERVISOR_PRESENT_BIT, LEAF_FEATURES, LEAF_FEATURES_AND_PRIVILEGES, LEAF_HARDWARE_FEATURES,
    LEAF_INTERFACE, LEAF_LIMITS, LEAF_RECOMMENDATIONS, LEAF_VENDOR, LEAF_VERSION,
    bytes_to_registers,
};
use hvcall::readiness::LEAF_ISOLATION_CONFIG;
use hvcall::{CpuidResult, FeaturesAndPrivileges};

use crate::World;

/// Leaf 0 EAX: the highest basic leaf the model claims (it implements only 0 and 1).
pub const MAX_BASIC_LEAF: u32 = 0x0000_000D;
/// Leaf 0x40000000 EAX: the highest hypervisor leaf the model implements, when the world reports
/// no isolation.
pub const MAX_HYPERVISOR_LEAF: u32 = LEAF_HARDWARE_FEATURES;
/// Leaf 0x40000000 EAX when the world reports its isolation (leaves 7–0xB read as zero).
pub const MAX_HYPERVISOR_LEAF_ISOLATED: u32 = LEAF_ISOLATION_CONFIG;
/// Leaf 0x40000005 EAX (illustrative).
pub const MAX_VIRTUAL_PROCESSORS: u32 = 2048;
/// Leaf 0x40000005 EBX (illustrative).
pub const MAX_LOGICAL_PROCESSORS: u32 = 512;

/// CPUID `leaf` (sub-leaf 0) as the caller in `world` sees it.
#[must_use]
pub fn leaf(world: &World, leaf: u32) -> CpuidResult {
    let present = world.hypervisor_present();
    match leaf {
        0 => {
            let [ebx, edx, ecx] = world.vendor().leaf0_registers();
            CpuidResult {
                eax: MAX_BASIC_LEAF,
                ebx,
                ecx,
                edx,
            }
        }
        LEAF_FEATURES => CpuidResult {
            ecx: if present { HYPERVISOR_PRESENT_BIT } else { 0 },
            ..CpuidResult::default()
        },
        _ if !present => CpuidResult::default(),
        LEAF_VENDOR => {
            let [ebx, ecx, edx] = bytes_to_registers(world.vendor_signature());
            CpuidResult {
                eax: if world.hypervisor().isolation.is_some() {
                    MAX_HYPERVISOR_LEAF_ISOLATED
                } else {
                    MAX_HYPERVISOR_LEAF
                },
                ebx,
                ecx,
                edx,
            }
        }
        LEAF_INTERFACE => CpuidResult {
            eax: world.interface_signature(),
            ..CpuidResult::default()
        },
        LEAF_VERSION => world.hypervisor_version().to_leaf(),
        LEAF_FEATURES_AND_PRIVILEGES => FeaturesAndPrivileges {
            privileges: world.cpuid_privileges(),
            misc_features: 0,
            features: world.features_edx(),
        }
        .to_leaf(),
        LEAF_RECOMMENDATIONS => CpuidResult {
            ebx: u32::MAX,
            ..CpuidResult::default()
        },
        LEAF_ISOLATION_CONFIG => world
            .hypervisor()
            .isolation
            .map(hvcall::IsolationConfig::to_leaf)
            .unwrap_or_default(),
        LEAF_LIMITS => CpuidResult {
            eax: MAX_VIRTUAL_PROCESSORS,
            ebx: MAX_LOGICAL_PROCESSORS,
            ..CpuidResult::default()
        },
        _ => CpuidResult::default(),
    }
}
