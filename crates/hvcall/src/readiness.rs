//! May this machine take a hypercall from us, and with which instruction? One rule, used by the
//! driver (over the real CPU) and by the console program's model backend (over the model).
//!
//! A hypercall instruction in the wrong environment is not an error status: it is a #UD or #GP
//! in the kernel, a bugcheck of the whole VM. So [`Readiness::assess`] checks, in this order,
//! everything that makes the plain `vmcall`/`vmmcall` legal, and stops at the first thing the
//! machine lacks ([`Refusal`]):
//!
//! 1. a hypervisor is present (CPUID 1 ECX bit 31);
//! 2. it implements the Microsoft hypervisor interface: CPUID 0x40000001 EAX = "Hv#1", with
//!    leaves up to 0x40000003 (the TLFS, "Feature Discovery");
//! 3. it says it is Microsoft's: leaf 0x40000000 reads "Microsoft Hv" with leaves up to at
//!    least 0x40000005 — the test Linux makes before it touches any Hyper-V MSR or hypercall
//!    (`torvalds/linux arch/x86/kernel/cpu/mshyperv.c` `ms_hyperv_platform`). Hosts that only
//!    emulate parts of the interface answer "Hv#1" too, yet raise #UD on a real `vmcall`
//!    (ACRN: `projectacrn/acrn-hypervisor hypervisor/arch/x86/guest/vmcall.c`); KVM with QEMU,
//!    Xen's viridian layer and OpenVMM all report "Microsoft Hv";
//! 4. the CPU vendor is Intel (`vmcall`) or AMD (`vmmcall`); the other instruction raises #UD;
//! 5. the partition holds AccessHypercallMsrs (privilege bit 5), without which the hypercall
//!    MSRs cannot be read and which Linux requires before it uses hypercalls at all
//!    (`torvalds/linux arch/x86/kernel/cpu/mshyperv.c`, `arch/x86/hyperv/hv_init.c`);
//! 6. the VM is not a confidential VM: with the Isolation privilege (bit 54) CPUID 0x4000000C
//!    gives the isolation type. No isolation and VBS take the plain instruction. TDX and SEV-SNP
//!    guests are refused: their MSR reads and hypercalls raise #VE/#VC and reach the host only
//!    through the OS's GHCB/TDVMCALL handling or a paravisor (Linux: `tdcall`, a GHCB-aware
//!    `vmmcall`, or the paravisor's hypercall page, `torvalds/linux
//!    arch/x86/include/asm/mshyperv.h` `hv_do_fast_hypercall8`, `arch/x86/hyperv/ivm.c`), and
//!    the memory convention would hand the host an encrypted page. Unknown types are refused;
//! 7. the guest OS ID MSR (0x40000000) is not 0 and the hypercall MSR (0x40000001) has its
//!    enable bit set: until the OS registered itself and enabled the hypercall page, the TLFS
//!    says a hypercall instruction raises #UD ("Hypercall Interface", "Establishing the
//!    Hypercall Interface"). Both MSRs are only read, never written: the running OS owns them.
//!
//! The MSRs are read only after steps 1–6 passed, so a read never faults. See
//! `docs/SECURITY.md`, "When hvsignal refuses to issue a hypercall, and why".

use core::fmt;

use crate::cpuid::{
    CpuVendor, CpuidResult, HYPERVISOR_PRESENT_BIT, HypercallInstruction, HypervisorCpuid,
    LEAF_FEATURES, LEAF_LIMITS, MICROSOFT_HV_SIGNATURE, PrivilegeMask, registers_to_bytes,
};

/// `HV_X64_MSR_GUEST_OS_ID`: the OS's identity; 0 until the OS registers itself.
pub const HV_X64_MSR_GUEST_OS_ID: u32 = 0x4000_0000;
/// `HV_X64_MSR_HYPERCALL`: bit 0 enables the hypercall page, bit 1 locks the MSR, bits 63:12
/// are the page's GPA frame number.
pub const HV_X64_MSR_HYPERCALL: u32 = 0x4000_0001;
/// Bit 0 of `HV_X64_MSR_HYPERCALL`: hypercalls are enabled.
pub const HYPERCALL_MSR_ENABLE: u64 = 1 << 0;
/// CPUID leaf `HYPERV_CPUID_ISOLATION_CONFIG`.
pub const LEAF_ISOLATION_CONFIG: u32 = 0x4000_000C;

/// The RAX every hypercall is issued with: bit 31 set, every other bit clear.
///
/// Hyper-V does not read RAX on input (the TLFS register conventions: RCX, RDX, R8 in, RAX
/// out), so any value is right there. Hosts that also run another hypercall ABI behind the same
/// instruction do read it: Xen with viridian enlightenments takes a VMCALL as a Hyper-V call
/// only when EAX bit 31 is set and otherwise runs the Xen hypercall numbered by EAX
/// (`xen-project/xen xen/arch/x86/hvm/hypercall.c` `hvm_hypercall`; the hypercall page Xen
/// writes starts with `or eax, 0x80000000`, `xen/arch/x86/hvm/viridian/viridian.c`), and KVM
/// with Xen emulation applies the same test (`torvalds/linux arch/x86/kvm/xen.c`
/// `kvm_xen_hypercall`). With this value every "Hv#1" host treats the call as a Hyper-V call.
pub const HYPERCALL_RAX: u64 = 0x8000_0000;

/// One of the two MSRs the assessment may read.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum HypercallMsr {
    /// [`HV_X64_MSR_GUEST_OS_ID`].
    GuestOsId,
    /// [`HV_X64_MSR_HYPERCALL`].
    Hypercall,
}

impl HypercallMsr {
    /// The MSR's index (ECX of RDMSR).
    #[must_use]
    pub const fn index(self) -> u32 {
        match self {
            Self::GuestOsId => HV_X64_MSR_GUEST_OS_ID,
            Self::Hypercall => HV_X64_MSR_HYPERCALL,
        }
    }
}

/// CPUID 0x4000000C EBX bits 3:0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum IsolationType {
    /// 0: not isolated.
    None,
    /// 1: virtualization-based security.
    Vbs,
    /// 2: AMD SEV-SNP.
    Snp,
    /// 3: Intel TDX.
    Tdx,
    /// Any other value (4–15): no source defines it.
    Unknown(u8),
}

impl IsolationType {
    /// The type of EBX bits 3:0.
    #[must_use]
    pub const fn from_code(code: u8) -> Self {
        match code & 0xF {
            0 => Self::None,
            1 => Self::Vbs,
            2 => Self::Snp,
            3 => Self::Tdx,
            other => Self::Unknown(other),
        }
    }

    /// The 4-bit code.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Vbs => 1,
            Self::Snp => 2,
            Self::Tdx => 3,
            Self::Unknown(code) => code & 0xF,
        }
    }

    /// The name shown to users: `none`, `vbs`, `snp`, `tdx`, `unknown`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Vbs => "vbs",
            Self::Snp => "snp",
            Self::Tdx => "tdx",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// CPUID 0x4000000C (`HYPERV_CPUID_ISOLATION_CONFIG`, `torvalds/linux
/// include/hyperv/hvgdk_mini.h`): EAX bit 0 paravisor present; EBX bits 3:0 isolation type,
/// bit 5 shared-GPA boundary active, bits 11:6 the boundary's bit number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IsolationConfig {
    /// EAX bit 0.
    pub paravisor_present: bool,
    /// EBX bits 3:0.
    pub isolation_type: IsolationType,
    /// EBX bit 5.
    pub shared_gpa_boundary_active: bool,
    /// EBX bits 11:6.
    pub shared_gpa_boundary_bits: u8,
}

impl IsolationConfig {
    const PARAVISOR_PRESENT: u32 = 1 << 0;
    const TYPE_MASK: u32 = 0xF;
    const BOUNDARY_ACTIVE: u32 = 1 << 5;
    const BOUNDARY_SHIFT: u32 = 6;
    const BOUNDARY_MASK: u32 = 0x3F;

    /// Decodes the leaf.
    #[must_use]
    #[allow(clippy::cast_possible_truncation, reason = "masked to 4 and 6 bits")]
    pub const fn from_leaf(leaf: CpuidResult) -> Self {
        Self {
            paravisor_present: leaf.eax & Self::PARAVISOR_PRESENT != 0,
            isolation_type: IsolationType::from_code((leaf.ebx & Self::TYPE_MASK) as u8),
            shared_gpa_boundary_active: leaf.ebx & Self::BOUNDARY_ACTIVE != 0,
            shared_gpa_boundary_bits: ((leaf.ebx >> Self::BOUNDARY_SHIFT) & Self::BOUNDARY_MASK)
                as u8,
        }
    }

    /// Encodes the leaf (for models and tests); the inverse of [`Self::from_leaf`] on the
    /// defined bits.
    #[must_use]
    pub const fn to_leaf(self) -> CpuidResult {
        let mut ebx = self.isolation_type.code() as u32 & Self::TYPE_MASK;
        if self.shared_gpa_boundary_active {
            ebx |= Self::BOUNDARY_ACTIVE;
        }
        ebx |= (self.shared_gpa_boundary_bits as u32 & Self::BOUNDARY_MASK) << Self::BOUNDARY_SHIFT;
        CpuidResult {
            eax: if self.paravisor_present {
                Self::PARAVISOR_PRESENT
            } else {
                0
            },
            ebx,
            ecx: 0,
            edx: 0,
        }
    }

    /// True when a driver's plain `vmcall`/`vmmcall` and RDMSR are not known to reach the
    /// hypervisor in this VM: the confidential VMs (TDX, SEV-SNP, with or without a paravisor)
    /// and types no source defines. No isolation and VBS take them.
    #[must_use]
    pub const fn reroutes_hypercalls(self) -> bool {
        !matches!(
            self.isolation_type,
            IsolationType::None | IsolationType::Vbs
        )
    }

    /// Not isolated, no paravisor.
    pub const NONE: Self = Self {
        paravisor_present: false,
        isolation_type: IsolationType::None,
        shared_gpa_boundary_active: false,
        shared_gpa_boundary_bits: 0,
    };
}

/// Why no hypercall may be issued on this machine: the first thing it lacks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Refusal {
    /// CPUID 1 ECX bit 31 is clear.
    NoHypervisor,
    /// CPUID 0x40000001 EAX is not "Hv#1", or leaf 0x40000003 is missing.
    NoHv1Interface,
    /// Leaf 0x40000000 is not "Microsoft Hv" with leaves up to at least 0x40000005.
    NotMicrosoftHypervisor,
    /// The CPU vendor is neither Intel nor AMD.
    UnknownCpuVendor,
    /// Privilege AccessHypercallMsrs (bit 5) is not granted.
    NoHypercallMsrAccess,
    /// The Isolation privilege is set but leaf 0x4000000C is above the highest hypervisor leaf.
    IsolationLeafMissing,
    /// A confidential VM (or an unknown isolation type), whose hypercalls do not go through a
    /// driver's plain instruction.
    Isolated {
        /// The isolation type.
        isolation: IsolationType,
        /// A paravisor is present.
        paravisor: bool,
    },
    /// The guest OS ID MSR is 0.
    GuestOsIdNotSet,
    /// The hypercall MSR's enable bit is clear.
    HypercallPageDisabled,
}

impl Refusal {
    /// The refusal's wire code (never 0, which means "no refusal").
    #[must_use]
    pub const fn code(self) -> u32 {
        match self {
            Self::NoHypervisor => 1,
            Self::NoHv1Interface => 2,
            Self::NotMicrosoftHypervisor => 3,
            Self::UnknownCpuVendor => 4,
            Self::NoHypercallMsrAccess => 5,
            Self::IsolationLeafMissing => 6,
            Self::Isolated { .. } => 7,
            Self::GuestOsIdNotSet => 8,
            Self::HypercallPageDisabled => 9,
        }
    }

    /// The refusal of a wire code; `isolation` (the leaf as read) completes
    /// [`Self::Isolated`]. `None` for 0 (no refusal) and for codes this crate does not know.
    #[must_use]
    pub fn from_code(code: u32, isolation: Option<IsolationConfig>) -> Option<Self> {
        let refusal = Self::ALL.into_iter().find(|r| r.code() == code)?;
        match (refusal, isolation) {
            (Self::Isolated { .. }, Some(config)) => Some(Self::Isolated {
                isolation: config.isolation_type,
                paravisor: config.paravisor_present,
            }),
            // An isolation refusal always comes with the leaf it read; without it the answer
            // is not one this side can describe.
            (Self::Isolated { .. }, None) => None,
            (other, _) => Some(other),
        }
    }

    /// Every refusal, one of each kind (for tests and documentation).
    pub const ALL: [Self; 9] = [
        Self::NoHypervisor,
        Self::NoHv1Interface,
        Self::NotMicrosoftHypervisor,
        Self::UnknownCpuVendor,
        Self::NoHypercallMsrAccess,
        Self::IsolationLeafMissing,
        Self::Isolated {
            isolation: IsolationType::Tdx,
            paravisor: false,
        },
        Self::GuestOsIdNotSet,
        Self::HypercallPageDisabled,
    ];

    /// A short stable name for scripts, e.g. `guest-os-id-not-set`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::NoHypervisor => "no-hypervisor",
            Self::NoHv1Interface => "no-hv1-interface",
            Self::NotMicrosoftHypervisor => "not-microsoft-hypervisor",
            Self::UnknownCpuVendor => "unknown-cpu-vendor",
            Self::NoHypercallMsrAccess => "no-hypercall-msr-access",
            Self::IsolationLeafMissing => "isolation-leaf-missing",
            Self::Isolated { .. } => "isolated",
            Self::GuestOsIdNotSet => "guest-os-id-not-set",
            Self::HypercallPageDisabled => "hypercall-page-disabled",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoHypervisor => f.write_str(
                "no hypervisor is present (CPUID 1 ECX bit 31 is clear)",
            ),
            Self::NoHv1Interface => f.write_str(
                "the hypervisor does not offer the Microsoft hypervisor interface (CPUID 0x40000001 EAX is not \"Hv#1\", or leaf 0x40000003 is missing)",
            ),
            Self::NotMicrosoftHypervisor => f.write_str(
                "the hypervisor's CPUID leaf 0x40000000 is not \"Microsoft Hv\" with leaves up to 0x40000005: it emulates the interface in part, and such hosts may raise #UD on a real hypercall (Linux makes the same test)",
            ),
            Self::UnknownCpuVendor => f.write_str(
                "the CPU is neither Intel's nor AMD's, so neither vmcall nor vmmcall is known to be the right instruction",
            ),
            Self::NoHypercallMsrAccess => f.write_str(
                "the partition lacks the AccessHypercallMsrs privilege (bit 5, CPUID 0x40000003 EAX bit 5), so the hypercall MSRs cannot be read to check that hypercalls are enabled",
            ),
            Self::IsolationLeafMissing => f.write_str(
                "the Isolation privilege is set but CPUID leaf 0x4000000C is beyond the highest hypervisor leaf, so the isolation type is unknown",
            ),
            Self::Isolated {
                isolation: IsolationType::Tdx,
                ..
            } => f.write_str(
                "this is a TDX-isolated VM: hypercalls go through tdcall or the paravisor, not vmcall",
            ),
            Self::Isolated {
                isolation: IsolationType::Snp,
                ..
            } => f.write_str(
                "this is an SEV-SNP VM: hypercalls and the hypercall MSRs reach the host only through the OS's GHCB handling or a paravisor, not a driver's direct vmmcall",
            ),
            Self::Isolated {
                isolation: IsolationType::Unknown(code),
                ..
            } => write!(
                f,
                "the VM reports isolation type {code} (CPUID 0x4000000C EBX bits 3:0), which no source defines"
            ),
            Self::Isolated { isolation, .. } => write!(
                f,
                "the VM's isolation ({}) does not allow a direct hypercall instruction",
                isolation.name()
            ),
            Self::GuestOsIdNotSet => f.write_str(
                "the guest OS ID MSR (0x40000000) is 0: until the OS registers itself, every hypercall raises #UD",
            ),
            Self::HypercallPageDisabled => f.write_str(
                "the hypercall MSR (0x40000001) has its enable bit clear: until the OS enables hypercalls, every hypercall raises #UD",
            ),
        }
    }
}

/// What [`Readiness::assess`] found: every fact it read and its verdict.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Readiness {
    /// CPUID leaf 0 (highest basic leaf, vendor string).
    pub leaf0: CpuidResult,
    /// CPUID leaf 1 ECX (bit 31: a hypervisor is present).
    pub leaf1_ecx: u32,
    /// Leaves 0x40000000–0x40000006.
    pub cpuid: HypervisorCpuid,
    /// Leaf 0x4000000C, when it was read (the Isolation privilege is set and the leaf exists).
    pub isolation: Option<IsolationConfig>,
    /// `HV_X64_MSR_GUEST_OS_ID`, when it was read.
    pub guest_os_id: Option<u64>,
    /// `HV_X64_MSR_HYPERCALL`, when it was read.
    pub hypercall_msr: Option<u64>,
    /// The instruction to use, or why none may be used.
    pub verdict: Result<HypercallInstruction, Refusal>,
}

impl Readiness {
    /// Runs the checks of the module documentation, in order.
    ///
    /// `cpuid` executes CPUID (any leaf is safe to ask). `read_msr` reads one of the two
    /// hypercall MSRs; it is called at most once for each, and only when steps 1–6 passed:
    /// Microsoft's hypervisor with the "Hv#1" interface is present, the CPU vendor is known, the
    /// partition holds AccessHypercallMsrs and the VM is not a confidential VM. The guest
    /// OS ID is read before the hypercall MSR; when it is 0, the hypercall MSR is not read.
    ///
    /// # Examples
    ///
    /// A Hyper-V guest on an Intel CPU, over a fake CPUID and fake MSRs:
    ///
    /// ```
    /// use hvcall::{CpuidResult, HypercallInstruction, HypercallMsr, Readiness, Refusal};
    ///
    /// fn cpuid(leaf: u32) -> CpuidResult {
    ///     let zero = CpuidResult::default();
    ///     match leaf {
    ///         // "Genu" "ineI" "ntel" in EBX, EDX, ECX.
    ///         0 => CpuidResult { eax: 0x16, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69 },
    ///         // ECX bit 31: a hypervisor is present.
    ///         1 => CpuidResult { ecx: 1 << 31, ..zero },
    ///         // Leaves up to 0x40000005, "Microsoft Hv".
    ///         0x4000_0000 => CpuidResult { eax: 0x4000_0005, ebx: 0x7263_694D, ecx: 0x666F_736F, edx: 0x7648_2074 },
    ///         // "Hv#1".
    ///         0x4000_0001 => CpuidResult { eax: 0x3123_7648, ..zero },
    ///         // AccessHypercallMsrs (EAX bit 5) and SignalEvents (EBX bit 5).
    ///         0x4000_0003 => CpuidResult { eax: 0x20, ebx: 0x20, ..zero },
    ///         _ => zero,
    ///     }
    /// }
    ///
    /// // The OS registered itself (a Windows 10.0 build 26100 guest OS ID) and enabled
    /// // hypercalls (HV_X64_MSR_HYPERCALL bit 0, the page at GPA 0x1000).
    /// let ready = Readiness::assess(cpuid, |msr| match msr {
    ///     HypercallMsr::GuestOsId => 0x0001_040A_0000_65F4,
    ///     HypercallMsr::Hypercall => 0x1001,
    /// });
    /// assert_eq!(ready.verdict, Ok(HypercallInstruction::Vmcall));
    /// assert_eq!(ready.hypercall_msr, Some(0x1001));
    ///
    /// // Before the OS registers itself: refused, and the hypercall MSR is never read.
    /// let mut reads = Vec::new();
    /// let early = Readiness::assess(cpuid, |msr| {
    ///     reads.push(msr);
    ///     0
    /// });
    /// assert_eq!(early.verdict, Err(Refusal::GuestOsIdNotSet));
    /// assert_eq!(reads, [HypercallMsr::GuestOsId]);
    /// assert_eq!((early.guest_os_id, early.hypercall_msr), (Some(0), None));
    /// assert_eq!(early.instruction(), None);
    ///
    /// // Without a hypervisor nothing past CPUID is consulted.
    /// let mut reads = Vec::new();
    /// let no_hypervisor = |leaf| if leaf == 1 { CpuidResult::default() } else { cpuid(leaf) };
    /// let bare = Readiness::assess(no_hypervisor, |msr| {
    ///     reads.push(msr);
    ///     0
    /// });
    /// assert_eq!(bare.verdict, Err(Refusal::NoHypervisor));
    /// assert_eq!(bare.verdict.err().map(Refusal::code), Some(1));
    /// assert!(reads.is_empty());
    /// ```
    pub fn assess(
        mut cpuid: impl FnMut(u32) -> CpuidResult,
        mut read_msr: impl FnMut(HypercallMsr) -> u64,
    ) -> Self {
        let leaf0 = cpuid(0);
        let leaf1_ecx = cpuid(LEAF_FEATURES).ecx;
        let hypervisor = HypervisorCpuid::read(&mut cpuid);
        let mut found = Self {
            leaf0,
            leaf1_ecx,
            cpuid: hypervisor,
            isolation: None,
            guest_os_id: None,
            hypercall_msr: None,
            verdict: Err(Refusal::NoHypervisor),
        };
        found.verdict = found.decide(&mut cpuid, &mut read_msr);
        found
    }

    fn decide(
        &mut self,
        cpuid: &mut impl FnMut(u32) -> CpuidResult,
        read_msr: &mut impl FnMut(HypercallMsr) -> u64,
    ) -> Result<HypercallInstruction, Refusal> {
        if !self.hypervisor_present() {
            return Err(Refusal::NoHypervisor);
        }
        if !self.cpuid.is_hv1() {
            return Err(Refusal::NoHv1Interface);
        }
        if self.cpuid.vendor_signature() != registers_to_bytes(MICROSOFT_HV_SIGNATURE)
            || self.cpuid.max_leaf() < LEAF_LIMITS
        {
            return Err(Refusal::NotMicrosoftHypervisor);
        }
        let instruction = self
            .vendor()
            .instruction()
            .ok_or(Refusal::UnknownCpuVendor)?;
        let privileges = self.cpuid.privileges();
        if !privileges.has(PrivilegeMask::ACCESS_HYPERCALL_MSRS) {
            return Err(Refusal::NoHypercallMsrAccess);
        }
        if privileges.has(PrivilegeMask::ISOLATION) {
            if self.cpuid.max_leaf() < LEAF_ISOLATION_CONFIG {
                return Err(Refusal::IsolationLeafMissing);
            }
            let isolation = IsolationConfig::from_leaf(cpuid(LEAF_ISOLATION_CONFIG));
            self.isolation = Some(isolation);
            if isolation.reroutes_hypercalls() {
                return Err(Refusal::Isolated {
                    isolation: isolation.isolation_type,
                    paravisor: isolation.paravisor_present,
                });
            }
        }
        let guest_os_id = read_msr(HypercallMsr::GuestOsId);
        self.guest_os_id = Some(guest_os_id);
        if guest_os_id == 0 {
            return Err(Refusal::GuestOsIdNotSet);
        }
        let hypercall_msr = read_msr(HypercallMsr::Hypercall);
        self.hypercall_msr = Some(hypercall_msr);
        if hypercall_msr & HYPERCALL_MSR_ENABLE == 0 {
            return Err(Refusal::HypercallPageDisabled);
        }
        Ok(instruction)
    }

    /// The CPU vendor (CPUID leaf 0).
    #[must_use]
    pub fn vendor(&self) -> CpuVendor {
        CpuVendor::from_leaf0(self.leaf0)
    }

    /// CPUID 1 ECX bit 31: a hypervisor is present.
    #[must_use]
    pub const fn hypervisor_present(&self) -> bool {
        self.leaf1_ecx & HYPERVISOR_PRESENT_BIT != 0
    }

    /// The instruction, when hypercalls may be issued.
    #[must_use]
    pub const fn instruction(&self) -> Option<HypercallInstruction> {
        match self.verdict {
            Ok(instruction) => Some(instruction),
            Err(_) => None,
        }
    }
}
