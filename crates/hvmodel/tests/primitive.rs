//! The model primitive: CPUID per world and profile, the simulated TSC, the TSC frequency.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

mod common;

use common::{FAST, rdx};
use hvcall::cpuid::registers_to_bytes;
use hvcall::{CpuVendor, HypercallInstruction, HypercallPrimitive, HypervisorCpuid};
use hvmodel::{Hypervisor, Profile, World};

#[test]
fn builtin_world_cpuid_is_a_hyperv_gen2_guest() {
    let hv = Hypervisor::new(World::builtin());
    let caller = hv.primitive();
    let leaf0 = caller.cpuid(0);
    assert_eq!(leaf0.eax, 0xD);
    assert_eq!(CpuVendor::from_leaf0(leaf0), CpuVendor::Intel);
    assert_eq!(
        CpuVendor::from_leaf0(leaf0).instruction(),
        Some(HypercallInstruction::Vmcall)
    );
    assert_eq!(caller.cpuid(1).ecx, 1 << 31);
    let hv_leaves = HypervisorCpuid::read(|leaf| caller.cpuid(leaf));
    assert_eq!(&hv_leaves.vendor_signature(), b"Microsoft Hv");
    assert_eq!(hv_leaves.max_leaf(), 0x4000_0006);
    assert_eq!(hv_leaves.interface_signature(), 0x3123_7648);
    assert!(hv_leaves.is_hv1());
    let l3 = caller.cpuid(0x4000_0003);
    assert_eq!((l3.eax, l3.ebx), (0x2E7F, 0x003B_8030));
    assert_eq!(l3.ebx & (1 << 5), 1 << 5, "SignalEvents = EBX bit 5");
    assert_eq!(l3.edx, 1 << 8, "FrequencyMsrsAvailable");
    assert!(hv_leaves.tsc_frequency_msr_available());
    let v = hv_leaves.version();
    assert_eq!((v.build, v.major, v.minor), (26_100, 10, 0));
    assert_eq!(caller.cpuid(0x4000_0004).ebx, 0xFFFF_FFFF);
    assert_eq!(
        (
            hv_leaves.max_virtual_processors(),
            hv_leaves.max_logical_processors()
        ),
        (2048, 512)
    );
    assert_eq!(caller.cpuid(0x4000_0007), hvcall::CpuidResult::default());
    assert_eq!(caller.tsc_frequency_hz(), Some(2_400_000_000));
}

#[test]
fn kvm_profile_shows_qemus_microsoft_hv_and_hyperv_2016() {
    let hv = common::hv("kvm.toml", None);
    let caller = hv.primitive();
    assert_eq!(CpuVendor::from_leaf0(caller.cpuid(0)), CpuVendor::Amd);
    let leaves = HypervisorCpuid::read(|leaf| caller.cpuid(leaf));
    assert_eq!(&leaves.vendor_signature(), b"Microsoft Hv");
    assert!(leaves.is_hv1());
    let v = leaves.version();
    assert_eq!((v.build, v.major, v.minor), (0x3839, 10, 0));
    assert_eq!(caller.cpuid(0x4000_0002).ebx, 0x000A_0000);
}

#[test]
fn qemu_and_openvmm_show_microsoft_hv() {
    for (profile, build) in [(Profile::Qemu, 14_393), (Profile::Openvmm, 26_100)] {
        let hv = Hypervisor::new(World::builtin().with_profile(profile));
        let leaves = HypervisorCpuid::read(|leaf| hv.cpuid(leaf));
        assert_eq!(&leaves.vendor_signature(), b"Microsoft Hv", "{profile}");
        assert_eq!(leaves.version().build, build, "{profile}");
    }
}

#[test]
fn world_overrides_of_the_hypervisor_leaves() {
    let w = World::from_toml_str(
        "profile = \"kvm\"\n[hypervisor]\nvendor_signature = \"Microsoft Hv\"\nbuild = 20348\nmajor = 10\nfeatures_edx = 0x10\n[timing]\ntsc_frequency_hz = 0\n[caller]\nprivilege_mask = 0x3000000000\n",
        "o.toml",
    )
    .unwrap();
    let hv = Hypervisor::new(w);
    let leaves = HypervisorCpuid::read(|leaf| hv.cpuid(leaf));
    assert_eq!(&leaves.vendor_signature(), b"Microsoft Hv");
    assert_eq!(leaves.version().build, 20_348);
    assert_eq!(leaves.features(), 0x10);
    assert_eq!((leaves.privileges().0), 0x30_0000_0000);
    assert_eq!(hv.cpuid(0x4000_0003).eax, 0);
    assert_eq!(hv.cpuid(0x4000_0003).ebx, 0x30);
    assert_eq!(hv.primitive().tsc_frequency_hz(), None);
    // Without the frequency the default EDX does not claim the frequency MSRs.
    let hv = Hypervisor::new(
        World::from_toml_str("[timing]\ntsc_frequency_hz = 0\n", "f.toml").unwrap(),
    );
    assert_eq!(hv.cpuid(0x4000_0003).edx, 0);
}

#[test]
fn no_hypervisor_world_hides_every_hypervisor_leaf() {
    let hv = common::hv("no-hypervisor.toml", None);
    let caller = hv.primitive();
    assert_eq!(caller.cpuid(1).ecx & (1 << 31), 0);
    for leaf in 0x4000_0000..=0x4000_0006 {
        assert_eq!(
            caller.cpuid(leaf),
            hvcall::CpuidResult::default(),
            "{leaf:#x}"
        );
    }
    let leaves = HypervisorCpuid::read(|leaf| caller.cpuid(leaf));
    assert!(!leaves.is_hv1());
    // The CPU is still identified.
    assert_eq!(
        registers_to_bytes({
            let l = caller.cpuid(0);
            [l.ebx, l.edx, l.ecx]
        }),
        *b"GenuineIntel"
    );
    // A caller that issues a hypercall anyway gets INVALID_HYPERCALL_CODE (real hardware: #UD).
    assert_eq!(
        common::raw(&hv, FAST, rdx(1, 0, 0)),
        hvcall::HvStatus::INVALID_HYPERCALL_CODE
    );
}

#[test]
fn timestamp_reads_cost_timestamp_cycles_and_calls_cost_their_outcome() {
    // No jitter, no outliers: costs are exact.
    let w = World::from_toml_str(
        &format!(
            "[timing]\ntsc_start = 5000\njitter_cycles = 0\noutlier_one_in = 0\ntimestamp_cycles = 20\ndecode_error_cycles = 700\nlookup_error_cycles = 900\nsuccess_cycles = 1000\ninterrupt_cycles = 300\n{}",
            std::fs::read_to_string(common::worlds_dir().join("invalid-connection-id.toml"))
                .unwrap()
        ),
        "t.toml",
    )
    .unwrap();
    let hv = Hypervisor::new(w);
    let mut c = hv.primitive();
    assert_eq!(c.timestamp(), 5000);
    assert_eq!(c.timestamp(), 5020);
    let mut timed = |rcx, rdx| {
        let t0 = c.timestamp();
        c.hypercall(rcx, rdx, 0);
        c.timestamp() - t0
    };
    assert_eq!(
        timed(FAST, rdx(0x2001, 0, 0)),
        20 + 1000 + 300,
        "first: interrupt"
    );
    assert_eq!(
        timed(FAST, rdx(0x2001, 0, 0)),
        20 + 1000,
        "flag already set"
    );
    assert_eq!(timed(FAST, rdx(0x7777, 0, 0)), 20 + 900, "lookup error");
    assert_eq!(timed(0x1_005E, 0), 20 + 700, "decode error");
}

#[test]
fn kvm_user_exits_cost_extra() {
    let w = World::from_toml_str(
        &format!(
            "{}\n[timing]\njitter_cycles = 0\noutlier_one_in = 0\ntimestamp_cycles = 0\nlookup_error_cycles = 900\nuser_exit_cycles = 3000\n",
            std::fs::read_to_string(common::worlds_dir().join("kvm.toml")).unwrap()
        ),
        "k.toml",
    )
    .unwrap();
    let hv = Hypervisor::new(w);
    let mut c = hv.primitive();
    let t0 = c.timestamp();
    c.hypercall(FAST, rdx(0x7777, 0, 0), 0);
    assert_eq!(c.timestamp() - t0, 3900);
}

fn trace(seed_world: &World, calls: u32) -> Vec<u64> {
    let hv = Hypervisor::new(seed_world.clone());
    let mut c = hv.primitive();
    let mut out = Vec::new();
    for n in 0..calls {
        let t0 = c.timestamp();
        c.hypercall(FAST, rdx(0x2001 + n % 5, 0, 0), 0);
        out.push(c.timestamp() - t0);
    }
    out
}

#[test]
fn simulated_tsc_is_deterministic_and_jitter_stays_in_its_bounds() {
    let w = World::builtin();
    let a = trace(&w, 5000);
    assert_eq!(a, trace(&w, 5000), "same world, same trace");
    let t = *w.timing();
    let lo = t.timestamp_cycles + t.lookup_error_cycles.min(t.success_cycles);
    let hi = t.timestamp_cycles
        + t.success_cycles.max(t.lookup_error_cycles)
        + t.interrupt_cycles
        + t.jitter_cycles
        + t.outlier_cycles;
    assert!(a.iter().all(|c| (lo..=hi).contains(c)), "{lo}..={hi}");
    // Jitter varies, and outliers occur about once per `outlier_one_in` calls.
    let distinct: std::collections::BTreeSet<_> = a.iter().collect();
    assert!(distinct.len() > 20, "{}", distinct.len());
    let outliers = a.iter().filter(|c| **c >= t.outlier_cycles).count();
    assert!((1..=20).contains(&outliers), "{outliers}");
    // Another seed, another trace of the same world.
    let text = std::fs::read_to_string(common::worlds_dir().join("default.toml")).unwrap();
    let reseeded =
        World::from_toml_str(&format!("{text}\n[timing]\nseed = 7\n"), "s.toml").unwrap();
    assert_eq!(reseeded.connections(), w.connections());
    assert_ne!(trace(&reseeded, 5000), a);
}
