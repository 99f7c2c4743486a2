//! `Readiness::assess`: every condition on its own, in order, with the MSRs read only when the
//! earlier checks passed. Bit positions and values are the TLFS's and Linux's
//! (`include/hyperv/hvgdk_mini.h`): AccessHypercallMsrs = privilege bit 5, Isolation = bit 54,
//! CPUID 0x4000000C EAX bit 0 = paravisor, EBX 3:0 = isolation type (1 VBS, 2 SNP, 3 TDX); leaf
//! 0x40000000 must read "Microsoft Hv" with leaves up to 0x40000005 (`ms_hyperv_platform`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::cell::RefCell;

use hvcall::cpuid::{HV1_INTERFACE_SIGNATURE, MICROSOFT_HV_SIGNATURE, registers_to_bytes};
use hvcall::{
    CpuVendor, CpuidResult, HYPERCALL_RAX, HypercallInstruction, HypercallMsr, IsolationConfig,
    IsolationType, Readiness, Refusal,
};

/// A Hyper-V guest's CPUID, with knobs for each condition.
#[derive(Clone, Copy)]
struct Machine {
    vendor: CpuVendor,
    signature: [u8; 12],
    present: bool,
    interface: u32,
    max_leaf: u32,
    privileges: u64,
    isolation_leaf: CpuidResult,
    guest_os_id: u64,
    hypercall_msr: u64,
}

const GEN2_PRIVILEGES: u64 = 0x003B_8030_0000_2E7F;
const WINDOWS_OS_ID: u64 = 0x0001_040A_0000_65F4;

impl Machine {
    fn hyperv(vendor: CpuVendor) -> Self {
        Self {
            vendor,
            signature: *b"Microsoft Hv",
            present: true,
            interface: HV1_INTERFACE_SIGNATURE,
            max_leaf: 0x4000_000C,
            privileges: GEN2_PRIVILEGES,
            isolation_leaf: CpuidResult::default(),
            guest_os_id: WINDOWS_OS_ID,
            hypercall_msr: 0x0000_0000_0010_1001,
        }
    }

    fn isolated(mut self, isolation_type: u32, paravisor: bool) -> Self {
        self.privileges |= 1 << 54;
        self.isolation_leaf = CpuidResult {
            eax: u32::from(paravisor),
            ebx: isolation_type,
            ..CpuidResult::default()
        };
        self
    }

    fn cpuid(&self, leaf: u32) -> CpuidResult {
        let [ebx, edx, ecx] = self.vendor.leaf0_registers();
        match leaf {
            0 => CpuidResult {
                eax: 0x16,
                ebx,
                ecx,
                edx,
            },
            1 => CpuidResult {
                ecx: if self.present { 1 << 31 } else { 0 },
                ..CpuidResult::default()
            },
            0x4000_0000 => {
                let [ebx, ecx, edx] = hvcall::cpuid::bytes_to_registers(self.signature);
                CpuidResult {
                    eax: self.max_leaf,
                    ebx,
                    ecx,
                    edx,
                }
            }
            0x4000_0001 => CpuidResult {
                eax: self.interface,
                ..CpuidResult::default()
            },
            #[allow(clippy::cast_possible_truncation, reason = "the two halves")]
            0x4000_0003 => CpuidResult {
                eax: self.privileges as u32,
                ebx: (self.privileges >> 32) as u32,
                ..CpuidResult::default()
            },
            0x4000_000C => self.isolation_leaf,
            _ => CpuidResult::default(),
        }
    }

    /// Assesses the machine and returns the verdict with the MSRs read, in order.
    fn assess(self) -> (Readiness, Vec<HypercallMsr>) {
        let reads = RefCell::new(Vec::new());
        let readiness = Readiness::assess(
            |leaf| self.cpuid(leaf),
            |msr| {
                reads.borrow_mut().push(msr);
                match msr {
                    HypercallMsr::GuestOsId => self.guest_os_id,
                    HypercallMsr::Hypercall => self.hypercall_msr,
                }
            },
        );
        (readiness, reads.into_inner())
    }
}

const BOTH_MSRS: [HypercallMsr; 2] = [HypercallMsr::GuestOsId, HypercallMsr::Hypercall];

#[test]
fn the_machine_signature_is_microsofts() {
    assert_eq!(registers_to_bytes(MICROSOFT_HV_SIGNATURE), *b"Microsoft Hv");
}

#[test]
fn a_hyperv_guest_takes_vmcall_on_intel_and_vmmcall_on_amd() {
    let (r, reads) = Machine::hyperv(CpuVendor::Intel).assess();
    assert_eq!(r.verdict, Ok(HypercallInstruction::Vmcall));
    assert_eq!(reads, BOTH_MSRS);
    assert_eq!(r.guest_os_id, Some(WINDOWS_OS_ID));
    assert_eq!(r.hypercall_msr, Some(0x0010_1001));
    assert_eq!(
        r.isolation, None,
        "no Isolation privilege: leaf 0x4000000C not read"
    );
    assert!(r.hypervisor_present());
    assert_eq!(r.vendor(), CpuVendor::Intel);

    let (r, _) = Machine::hyperv(CpuVendor::Amd).assess();
    assert_eq!(r.verdict, Ok(HypercallInstruction::Vmmcall));
    assert_eq!(r.instruction(), Some(HypercallInstruction::Vmmcall));
}

#[test]
fn each_cpuid_refusal_reads_no_msr() {
    let intel = Machine::hyperv(CpuVendor::Intel);
    let cases = [
        (
            Machine {
                present: false,
                ..intel
            },
            Refusal::NoHypervisor,
        ),
        (
            Machine {
                interface: 0x3023_7648, // "Hv#0"
                ..intel
            },
            Refusal::NoHv1Interface,
        ),
        (
            Machine {
                max_leaf: 0x4000_0002,
                ..intel
            },
            Refusal::NoHv1Interface,
        ),
        (
            Machine {
                signature: *b"ACRNACRNACRN",
                ..intel
            },
            Refusal::NotMicrosoftHypervisor,
        ),
        (
            Machine {
                signature: *b"Linux KVM Hv",
                ..intel
            },
            Refusal::NotMicrosoftHypervisor,
        ),
        (
            Machine {
                max_leaf: 0x4000_0004,
                ..intel
            },
            Refusal::NotMicrosoftHypervisor,
        ),
        (
            Machine {
                vendor: CpuVendor::Other(*b"VIA VIA VIA "),
                ..intel
            },
            Refusal::UnknownCpuVendor,
        ),
        (
            Machine {
                privileges: GEN2_PRIVILEGES & !(1 << 5),
                ..intel
            },
            Refusal::NoHypercallMsrAccess,
        ),
        (
            Machine {
                max_leaf: 0x4000_000B,
                ..intel.isolated(0, false)
            },
            Refusal::IsolationLeafMissing,
        ),
    ];
    for (machine, refusal) in cases {
        let (r, reads) = machine.assess();
        assert_eq!(r.verdict, Err(refusal));
        assert!(reads.is_empty(), "{refusal:?}: {reads:?}");
        assert_eq!((r.guest_os_id, r.hypercall_msr), (None, None));
    }
}

#[test]
fn isolation_types_that_take_the_plain_instruction() {
    let intel = Machine::hyperv(CpuVendor::Intel);
    let amd = Machine::hyperv(CpuVendor::Amd);
    for (machine, instruction) in [
        (intel.isolated(0, false), HypercallInstruction::Vmcall),
        (intel.isolated(1, false), HypercallInstruction::Vmcall),
        (intel.isolated(1, true), HypercallInstruction::Vmcall),
        (amd.isolated(1, false), HypercallInstruction::Vmmcall),
    ] {
        let (r, reads) = machine.assess();
        assert_eq!(r.verdict, Ok(instruction));
        assert_eq!(reads, BOTH_MSRS);
        assert!(r.isolation.is_some());
    }
    let (r, _) = amd.isolated(1, true).assess();
    assert_eq!(r.isolation.unwrap().isolation_type, IsolationType::Vbs);
}

#[test]
fn isolation_types_that_reroute_hypercalls_are_refused_before_any_msr_read() {
    let intel = Machine::hyperv(CpuVendor::Intel);
    let amd = Machine::hyperv(CpuVendor::Amd);
    for (machine, refusal) in [
        (
            amd.isolated(2, true),
            Refusal::Isolated {
                isolation: IsolationType::Snp,
                paravisor: true,
            },
        ),
        (
            intel.isolated(3, false),
            Refusal::Isolated {
                isolation: IsolationType::Tdx,
                paravisor: false,
            },
        ),
        (
            intel.isolated(3, true),
            Refusal::Isolated {
                isolation: IsolationType::Tdx,
                paravisor: true,
            },
        ),
        (
            intel.isolated(7, false),
            Refusal::Isolated {
                isolation: IsolationType::Unknown(7),
                paravisor: false,
            },
        ),
        (
            amd.isolated(2, false),
            Refusal::Isolated {
                isolation: IsolationType::Snp,
                paravisor: false,
            },
        ),
    ] {
        let (r, reads) = machine.assess();
        assert_eq!(r.verdict, Err(refusal));
        assert!(reads.is_empty(), "{refusal:?}");
    }
}

#[test]
fn the_msrs_decide_last_and_the_hypercall_msr_is_read_only_after_a_set_os_id() {
    let intel = Machine::hyperv(CpuVendor::Intel);
    let (r, reads) = Machine {
        guest_os_id: 0,
        ..intel
    }
    .assess();
    assert_eq!(r.verdict, Err(Refusal::GuestOsIdNotSet));
    assert_eq!(reads, [HypercallMsr::GuestOsId]);
    assert_eq!((r.guest_os_id, r.hypercall_msr), (Some(0), None));

    // Enable bit (bit 0) clear: the page address alone, or the lock bit (bit 1) alone.
    for msr in [0, 0x0010_1000, 0x2] {
        let (r, reads) = Machine {
            hypercall_msr: msr,
            ..intel
        }
        .assess();
        assert_eq!(r.verdict, Err(Refusal::HypercallPageDisabled), "{msr:#x}");
        assert_eq!(reads, BOTH_MSRS);
        assert_eq!(r.hypercall_msr, Some(msr));
    }
    // Enabled and locked.
    let (r, _) = Machine {
        hypercall_msr: 0x3,
        ..intel
    }
    .assess();
    assert_eq!(r.verdict, Ok(HypercallInstruction::Vmcall));
}

#[test]
fn the_isolation_leaf_round_trips_in_linuxs_layout() {
    // EAX bit 0 paravisor; EBX: type 2 (SNP), bit 5 boundary active, bits 11:6 = 47.
    let leaf = CpuidResult {
        eax: 1,
        ebx: 2 | 1 << 5 | 47 << 6,
        ecx: 0,
        edx: 0,
    };
    let config = IsolationConfig::from_leaf(leaf);
    assert_eq!(
        config,
        IsolationConfig {
            paravisor_present: true,
            isolation_type: IsolationType::Snp,
            shared_gpa_boundary_active: true,
            shared_gpa_boundary_bits: 47,
        }
    );
    assert_eq!(config.to_leaf(), leaf);
    for code in 0..16u8 {
        assert_eq!(IsolationType::from_code(code).code(), code);
    }
    assert_eq!(
        [0, 1, 2, 3, 4].map(|c| IsolationType::from_code(c).name()),
        ["none", "vbs", "snp", "tdx", "unknown"]
    );
}

#[test]
fn refusal_codes_round_trip_and_every_refusal_reads_differently() {
    let isolation = Some(IsolationConfig::from_leaf(CpuidResult {
        ebx: 3,
        ..CpuidResult::default()
    }));
    let mut names = Vec::new();
    let mut messages = Vec::new();
    for refusal in Refusal::ALL {
        assert_ne!(refusal.code(), 0);
        assert_eq!(Refusal::from_code(refusal.code(), isolation), Some(refusal));
        names.push(refusal.name());
        messages.push(refusal.to_string());
    }
    assert_eq!(Refusal::ALL.map(Refusal::code), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(Refusal::from_code(0, None), None);
    assert_eq!(Refusal::from_code(10, None), None);
    // An isolation refusal without the leaf it was read from cannot be described.
    assert_eq!(Refusal::from_code(7, None), None);
    names.sort_unstable();
    names.dedup();
    messages.sort_unstable();
    messages.dedup();
    assert_eq!((names.len(), messages.len()), (9, 9));
}

#[test]
fn every_hypercall_is_issued_with_rax_bit_31_set() {
    // Xen's test is `eax & 0x80000000`; nothing else is set.
    assert_eq!(HYPERCALL_RAX, 1 << 31);
}
