//! The hypervisor CPUID leaves 0x40000000–0x40000006, the partition privilege mask, and the
//! choice of hypercall instruction from the CPU vendor (docs/HYPERCALL.md, CPUID leaves).

use core::fmt;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The four registers CPUID returns, in that order: also the 16-byte wire layout of a leaf in
/// the driver's query response.
#[repr(C)]
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
pub struct CpuidResult {
    /// EAX.
    pub eax: u32,
    /// EBX.
    pub ebx: u32,
    /// ECX.
    pub ecx: u32,
    /// EDX.
    pub edx: u32,
}

const _: () = assert!(size_of::<CpuidResult>() == 16);

/// CPUID leaf 1: ECX bit 31 is set when a hypervisor is present.
pub const LEAF_FEATURES: u32 = 0x0000_0001;
/// ECX bit 31 of leaf 1.
pub const HYPERVISOR_PRESENT_BIT: u32 = 1 << 31;
/// First hypervisor leaf: max leaf and vendor signature.
pub const LEAF_VENDOR: u32 = 0x4000_0000;
/// Interface signature ("Hv#1").
pub const LEAF_INTERFACE: u32 = 0x4000_0001;
/// Hypervisor version.
pub const LEAF_VERSION: u32 = 0x4000_0002;
/// Privilege mask (EAX, EBX) and features (ECX, EDX).
pub const LEAF_FEATURES_AND_PRIVILEGES: u32 = 0x4000_0003;
/// Implementation recommendations.
pub const LEAF_RECOMMENDATIONS: u32 = 0x4000_0004;
/// Implementation limits.
pub const LEAF_LIMITS: u32 = 0x4000_0005;
/// Hardware features in use.
pub const LEAF_HARDWARE_FEATURES: u32 = 0x4000_0006;
/// Number of hypervisor leaves this crate decodes (0x40000000–0x40000006).
pub const HYPERVISOR_LEAF_COUNT: usize = 7;
/// `"Hv#1"` as EAX of leaf 0x40000001.
pub const HV1_INTERFACE_SIGNATURE: u32 = 0x3123_7648;
/// `"Microsoft Hv"` as EBX, ECX, EDX of leaf 0x40000000.
pub const MICROSOFT_HV_SIGNATURE: [u32; 3] = [0x7263_694D, 0x666F_736F, 0x7648_2074];
/// Hyper-V's synthetic MSR holding the TSC frequency in Hz.
pub const HV_X64_MSR_TSC_FREQUENCY: u32 = 0x4000_0022;
/// Leaf 0x40000003 EDX bit 8: the frequency MSRs are available.
pub const FEATURE_FREQUENCY_MSRS_AVAILABLE: u32 = 1 << 8;

/// Named bits of leaf 0x40000003 EDX (Linux `hvgdk_mini.h` "Group D" features, TLFS).
pub const EDX_FEATURE_BITS: &[(u8, &str)] = &[
    (0, "MwaitAvailable"),
    (1, "GuestDebuggingAvailable"),
    (2, "PerformanceMonitorAvailable"),
    (3, "CpuDynamicPartitioningAvailable"),
    (4, "XmmRegistersForFastHypercallInput"),
    (5, "GuestIdleStateAvailable"),
    (8, "FrequencyMsrsAvailable"),
    (10, "GuestCrashMsrsAvailable"),
    (11, "DebugMsrsAvailable"),
    (15, "XmmRegistersForFastHypercallOutput"),
    (17, "SintPollingModeAvailable"),
    (18, "HypercallMsrLockAvailable"),
    (19, "DirectSyntheticTimers"),
];

/// Named bits of leaf 0x40000003 ECX (miscellaneous features, docs/HYPERCALL.md, CPUID leaves).
pub const ECX_FEATURE_BITS: &[(u8, &str)] = &[
    (5, "InvariantMperfAvailable"),
    (6, "SupervisorShadowStackAvailable"),
    (7, "ArchitecturalPmuAvailable"),
    (8, "ExceptionTrapInterceptAvailable"),
];

/// Named bits of leaf 0x40000004 EAX (implementation recommendations; docs/HYPERCALL.md, CPUID
/// leaves, Linux `hyperv-tlfs.h`). Only bits confirmed by two sources are named.
pub const RECOMMENDATION_BITS: &[(u8, &str)] = &[
    (0, "AddressSpaceSwitchHypercall"),
    (1, "LocalTlbFlushHypercall"),
    (9, "DeprecateAutoEoi"),
    (10, "SyntheticClusterIpi"),
    (11, "ExProcessorMasks"),
    (12, "Nested"),
    (14, "EnlightenedVmcs"),
    (18, "NoNonArchitecturalCoreSharing"),
];

/// Named bits of leaf 0x40000006 EAX (hardware features in use; TLFS, Windows
/// `_HV_HYPERVISOR_HARDWARE_FEATURES`). Bits 13:10 are the nesting level, see
/// [`HypervisorCpuid::nesting_level`].
pub const HARDWARE_FEATURE_BITS: &[(u8, &str)] = &[
    (0, "ApicOverlayAssistInUse"),
    (1, "MsrBitmapsInUse"),
    (2, "ArchitecturalPerformanceCountersInUse"),
    (3, "SecondLevelAddressTranslationInUse"),
    (4, "DmaRemappingInUse"),
    (5, "InterruptRemappingInUse"),
    (6, "MemoryPatrolScrubberPresent"),
];

/// The names of the bits of `value` found in `table`, in table order; bits the table does not
/// name are skipped.
///
/// # Examples
///
/// ```
/// use hvcall::cpuid::EDX_FEATURE_BITS;
/// use hvcall::named_bits;
///
/// // Leaf 0x40000003 EDX with bits 4 and 8 set (and unnamed bit 30).
/// let names: Vec<_> = named_bits(1 << 4 | 1 << 8 | 1 << 30, EDX_FEATURE_BITS).collect();
/// assert_eq!(names, ["XmmRegistersForFastHypercallInput", "FrequencyMsrsAvailable"]);
/// ```
pub fn named_bits(
    value: u32,
    table: &'static [(u8, &'static str)],
) -> impl Iterator<Item = &'static str> {
    table
        .iter()
        .filter(move |(bit, _)| *bit < 32 && value & (1 << bit) != 0)
        .map(|(_, name)| *name)
}

/// One named bit of `HV_PARTITION_PRIVILEGE_MASK`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PrivilegeBit {
    /// Bit number in the 64-bit mask (EAX = 0–31, EBX = 32–63 of leaf 0x40000003).
    pub bit: u8,
    /// Name: the TLFS name, or for bits the TLFS calls reserved, the OpenVMM/HDK name.
    pub name: &'static str,
    /// True when the TLFS itself names the bit.
    pub tlfs_named: bool,
}

const fn named(bit: u8, name: &'static str) -> PrivilegeBit {
    PrivilegeBit {
        bit,
        name,
        tlfs_named: true,
    }
}
const fn implementation_named(bit: u8, name: &'static str) -> PrivilegeBit {
    PrivilegeBit {
        bit,
        name,
        tlfs_named: false,
    }
}

/// Every named bit of the privilege mask (docs/HYPERCALL.md, Privilege mask), ascending.
pub const PRIVILEGE_BITS: &[PrivilegeBit] = &[
    named(0, "AccessVpRunTimeReg"),
    named(1, "AccessPartitionReferenceCounter"),
    named(2, "AccessSynicRegs"),
    named(3, "AccessSyntheticTimerRegs"),
    named(4, "AccessIntrCtrlRegs"),
    named(5, "AccessHypercallMsrs"),
    named(6, "AccessVpIndex"),
    named(7, "AccessResetReg"),
    named(8, "AccessStatsReg"),
    named(9, "AccessPartitionReferenceTsc"),
    named(10, "AccessGuestIdleReg"),
    named(11, "AccessFrequencyRegs"),
    implementation_named(12, "AccessDebugRegs"),
    named(13, "AccessReenlightenmentControls"),
    implementation_named(14, "AccessRootSchedulerReg"),
    implementation_named(15, "AccessTscInvariantControls"),
    named(32, "CreatePartitions"),
    named(33, "AccessPartitionId"),
    named(34, "AccessMemoryPool"),
    implementation_named(35, "AdjustMessageBuffers"),
    named(36, "PostMessages"),
    named(37, "SignalEvents"),
    named(38, "CreatePort"),
    named(39, "ConnectPort"),
    named(40, "AccessStats"),
    named(43, "Debugging"),
    named(44, "CpuManagement"),
    implementation_named(45, "ConfigureProfiler"),
    implementation_named(46, "AccessVpExitTracing"),
    implementation_named(47, "EnableExtendedGvaRangesForFlushVirtualAddressList"),
    named(48, "AccessVSM"),
    named(49, "AccessVpRegisters"),
    implementation_named(51, "FastHypercallOutput"),
    named(52, "EnableExtendedHypercalls"),
    named(53, "StartVirtualProcessor"),
    implementation_named(54, "Isolation"),
];

/// `HV_PARTITION_PRIVILEGE_MASK`: leaf 0x40000003 EAX (bits 31:0) and EBX (bits 63:32).
///
/// # Examples
///
/// ```
/// use hvcall::PrivilegeMask;
///
/// // EAX bit 5 (AccessHypercallMsrs) and EBX bit 5 (SignalEvents, mask bit 37).
/// let mask = PrivilegeMask::from_registers(0x20, 0x20);
/// assert_eq!(mask.0, 0x0000_0020_0000_0020);
/// assert!(mask.has(PrivilegeMask::ACCESS_HYPERCALL_MSRS));
/// assert!(mask.signal_events());
/// let names: Vec<_> = mask.set_bits().map(|bit| bit.name).collect();
/// assert_eq!(names, ["AccessHypercallMsrs", "SignalEvents"]);
/// assert_eq!(mask.unnamed_bits(), 0);
/// assert_eq!(PrivilegeMask::bit_by_name("signalevents").map(|bit| bit.bit), Some(37));
/// assert_eq!(mask.to_registers(), (0x20, 0x20));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct PrivilegeMask(pub u64);

impl PrivilegeMask {
    /// Bit 5: access to the guest OS ID and hypercall MSRs.
    pub const ACCESS_HYPERCALL_MSRS: u8 = 5;
    /// Bit 11: access to the TSC and APIC frequency MSRs.
    pub const ACCESS_FREQUENCY_REGS: u8 = 11;
    /// Bit 36 (EBX bit 4).
    pub const POST_MESSAGES: u8 = 36;
    /// Bit 37 (EBX bit 5): required by `HvCallSignalEvent`.
    pub const SIGNAL_EVENTS: u8 = 37;
    /// Bit 54 (EBX bit 22): CPUID 0x4000000C describes the VM's isolation.
    pub const ISOLATION: u8 = 54;

    /// The mask from leaf 0x40000003's EAX and EBX.
    #[must_use]
    pub const fn from_registers(eax: u32, ebx: u32) -> Self {
        Self(eax as u64 | (ebx as u64) << 32)
    }

    /// Leaf 0x40000003's EAX and EBX holding the mask: the inverse of [`Self::from_registers`].
    #[must_use]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the two halves, on purpose"
    )]
    pub const fn to_registers(self) -> (u32, u32) {
        (self.0 as u32, (self.0 >> 32) as u32)
    }

    /// True when `bit` (0–63) is set; false for any larger number.
    #[must_use]
    pub const fn has(self, bit: u8) -> bool {
        bit < 64 && self.0 & (1 << bit) != 0
    }

    /// True when the partition may call `HvCallSignalEvent`.
    #[must_use]
    pub const fn signal_events(self) -> bool {
        self.has(Self::SIGNAL_EVENTS)
    }

    /// The named bits that are set.
    pub fn set_bits(self) -> impl Iterator<Item = &'static PrivilegeBit> {
        PRIVILEGE_BITS.iter().filter(move |b| self.has(b.bit))
    }

    /// Set bits that have no name (reserved in every source).
    #[must_use]
    pub fn unnamed_bits(self) -> u64 {
        PRIVILEGE_BITS
            .iter()
            .fold(self.0, |rest, b| rest & !(1u64 << b.bit))
    }

    /// The bit with this name (case-insensitive).
    #[must_use]
    pub fn bit_by_name(name: &str) -> Option<&'static PrivilegeBit> {
        PRIVILEGE_BITS
            .iter()
            .find(|b| b.name.eq_ignore_ascii_case(name))
    }
}

/// The CPU vendor, from CPUID leaf 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CpuVendor {
    /// `GenuineIntel` (VMX).
    Intel,
    /// `AuthenticAMD` or `HygonGenuine` (SVM).
    Amd,
    /// Any other vendor string.
    Other([u8; 12]),
}

/// The instruction that enters the hypervisor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum HypercallInstruction {
    /// `vmcall` (0F 01 C1), Intel VMX.
    Vmcall,
    /// `vmmcall` (0F 01 D9), AMD SVM.
    Vmmcall,
}

impl HypercallInstruction {
    /// The mnemonic.
    #[must_use]
    pub const fn mnemonic(self) -> &'static str {
        match self {
            Self::Vmcall => "vmcall",
            Self::Vmmcall => "vmmcall",
        }
    }

    /// The instruction bytes.
    #[must_use]
    pub const fn encoding(self) -> [u8; 3] {
        match self {
            Self::Vmcall => [0x0F, 0x01, 0xC1],
            Self::Vmmcall => [0x0F, 0x01, 0xD9],
        }
    }
}

impl fmt::Display for HypercallInstruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

impl CpuVendor {
    /// The vendor from CPUID leaf 0 (vendor string in EBX, EDX, ECX order).
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::{CpuVendor, CpuidResult, HypercallInstruction};
    ///
    /// // "Genu" "ineI" "ntel" in EBX, EDX, ECX.
    /// let leaf0 = CpuidResult { eax: 0x16, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69 };
    /// let vendor = CpuVendor::from_leaf0(leaf0);
    /// assert_eq!(vendor, CpuVendor::Intel);
    /// assert_eq!(vendor.instruction(), Some(HypercallInstruction::Vmcall));
    /// assert_eq!(vendor.leaf0_registers(), [0x756E_6547, 0x4965_6E69, 0x6C65_746E]);
    /// assert_eq!(HypercallInstruction::Vmcall.encoding(), [0x0F, 0x01, 0xC1]);
    /// ```
    #[must_use]
    pub fn from_leaf0(leaf0: CpuidResult) -> Self {
        let vendor = registers_to_bytes([leaf0.ebx, leaf0.edx, leaf0.ecx]);
        match &vendor {
            b"GenuineIntel" => Self::Intel,
            b"AuthenticAMD" | b"HygonGenuine" => Self::Amd,
            _ => Self::Other(vendor),
        }
    }

    /// CPUID leaf 0's EBX, EDX, ECX for this vendor (for models and tests).
    #[must_use]
    pub fn leaf0_registers(self) -> [u32; 3] {
        let bytes = match self {
            Self::Intel => *b"GenuineIntel",
            Self::Amd => *b"AuthenticAMD",
            Self::Other(bytes) => bytes,
        };
        bytes_to_registers(bytes)
    }

    /// `vmcall` on Intel, `vmmcall` on AMD, `None` when the vendor is unknown (the caller must
    /// then refuse to issue hypercalls rather than guess: the wrong one raises #UD).
    #[must_use]
    pub const fn instruction(self) -> Option<HypercallInstruction> {
        match self {
            Self::Intel => Some(HypercallInstruction::Vmcall),
            Self::Amd => Some(HypercallInstruction::Vmmcall),
            Self::Other(_) => None,
        }
    }
}

/// Twelve bytes from three little-endian registers.
#[must_use]
pub fn registers_to_bytes(registers: [u32; 3]) -> [u8; 12] {
    let mut out = [0u8; 12];
    for (chunk, register) in out.as_chunks_mut::<4>().0.iter_mut().zip(registers) {
        *chunk = register.to_le_bytes();
    }
    out
}

/// Three little-endian registers from twelve bytes.
#[must_use]
pub fn bytes_to_registers(bytes: [u8; 12]) -> [u32; 3] {
    let mut out = [0u32; 3];
    for (register, chunk) in out.iter_mut().zip(bytes.as_chunks::<4>().0) {
        *register = u32::from_le_bytes(*chunk);
    }
    out
}

/// Leaf 0x40000002 EDX bits 23:0: the service number (bits 31:24 are the service branch).
pub const SERVICE_NUMBER_MASK: u32 = 0x00FF_FFFF;

/// Hypervisor version, leaf 0x40000002.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct HypervisorVersion {
    /// EAX: build number.
    pub build: u32,
    /// EBX 31:16.
    pub major: u16,
    /// EBX 15:0.
    pub minor: u16,
    /// ECX: service pack.
    pub service_pack: u32,
    /// EDX 31:24.
    pub service_branch: u8,
    /// EDX 23:0 (bits above 23 are not part of the field and are never encoded).
    pub service_number: u32,
}

impl HypervisorVersion {
    /// Decodes leaf 0x40000002.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::{CpuidResult, HypervisorVersion};
    ///
    /// // Build 19041, version 10.0, service pack 0, branch 0x01, service number 0x000A21.
    /// let leaf = CpuidResult { eax: 19041, ebx: 0x000A_0000, ecx: 0, edx: 0x0100_0A21 };
    /// let version = HypervisorVersion::from_leaf(leaf);
    /// assert_eq!((version.build, version.major, version.minor), (19041, 10, 0));
    /// assert_eq!((version.service_branch, version.service_number), (0x01, 0x000A21));
    /// assert_eq!(version.to_leaf(), leaf);
    /// ```
    #[must_use]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "register halves and bytes, on purpose"
    )]
    pub const fn from_leaf(l: CpuidResult) -> Self {
        Self {
            build: l.eax,
            major: (l.ebx >> 16) as u16,
            minor: l.ebx as u16,
            service_pack: l.ecx,
            service_branch: (l.edx >> 24) as u8,
            service_number: l.edx & SERVICE_NUMBER_MASK,
        }
    }

    /// Encodes leaf 0x40000002 (a hypervisor's side, e.g. the reference model): the inverse of
    /// [`Self::from_leaf`].
    #[must_use]
    pub const fn to_leaf(self) -> CpuidResult {
        CpuidResult {
            eax: self.build,
            ebx: (self.major as u32) << 16 | self.minor as u32,
            ecx: self.service_pack,
            edx: (self.service_branch as u32) << 24 | (self.service_number & SERVICE_NUMBER_MASK),
        }
    }
}

/// Leaf 0x40000003: the partition privilege mask (EAX, EBX) and the feature words (ECX, EDX).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct FeaturesAndPrivileges {
    /// EAX and EBX.
    pub privileges: PrivilegeMask,
    /// ECX: miscellaneous features.
    pub misc_features: u32,
    /// EDX: feature bits ([`EDX_FEATURE_BITS`]).
    pub features: u32,
}

impl FeaturesAndPrivileges {
    /// Decodes leaf 0x40000003.
    #[must_use]
    pub const fn from_leaf(l: CpuidResult) -> Self {
        Self {
            privileges: PrivilegeMask::from_registers(l.eax, l.ebx),
            misc_features: l.ecx,
            features: l.edx,
        }
    }

    /// Encodes leaf 0x40000003: the inverse of [`Self::from_leaf`].
    #[must_use]
    pub const fn to_leaf(self) -> CpuidResult {
        let (eax, ebx) = self.privileges.to_registers();
        CpuidResult {
            eax,
            ebx,
            ecx: self.misc_features,
            edx: self.features,
        }
    }
}

/// The raw hypervisor leaves 0x40000000–0x40000006 with typed accessors. A leaf the caller
/// did not read, or one beyond the array, reads as all zeros.
///
/// # Examples
///
/// ```
/// use hvcall::{CpuidResult, HypervisorCpuid, PrivilegeMask};
///
/// let hv = HypervisorCpuid::read(|leaf| match leaf {
///     // Highest leaf 0x40000005; "Micr" "osof" "t Hv" in EBX, ECX, EDX.
///     0x4000_0000 => CpuidResult { eax: 0x4000_0005, ebx: 0x7263_694D, ecx: 0x666F_736F, edx: 0x7648_2074 },
///     // "Hv#1".
///     0x4000_0001 => CpuidResult { eax: 0x3123_7648, ..CpuidResult::default() },
///     // Privileges AccessHypercallMsrs (EAX bit 5) and SignalEvents (EBX bit 5).
///     0x4000_0003 => CpuidResult { eax: 0x20, ebx: 0x20, ecx: 0, edx: 0 },
///     _ => CpuidResult::default(),
/// });
/// assert_eq!(&hv.vendor_signature(), b"Microsoft Hv");
/// assert_eq!(hv.max_leaf(), 0x4000_0005);
/// assert!(hv.is_hv1());
/// assert!(hv.privileges().signal_events());
/// assert!(hv.privileges().has(PrivilegeMask::ACCESS_HYPERCALL_MSRS));
/// assert_eq!(hv.nesting_level(), 0);
/// assert!(!hv.tsc_frequency_msr_available());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct HypervisorCpuid {
    /// Leaf `0x40000000 + i` at index `i`.
    pub leaves: [CpuidResult; HYPERVISOR_LEAF_COUNT],
}

impl HypervisorCpuid {
    /// Reads the seven leaves with `cpuid`, which is called once per leaf, in ascending order.
    pub fn read(mut cpuid: impl FnMut(u32) -> CpuidResult) -> Self {
        let mut leaves = [CpuidResult::default(); HYPERVISOR_LEAF_COUNT];
        for (leaf, slot) in (LEAF_VENDOR..).zip(leaves.iter_mut()) {
            *slot = cpuid(leaf);
        }
        Self { leaves }
    }

    fn leaf(&self, leaf: u32) -> CpuidResult {
        leaf.checked_sub(LEAF_VENDOR)
            .and_then(|index| self.leaves.get(index as usize))
            .copied()
            .unwrap_or_default()
    }

    /// Leaf 0x40000000 EAX: the highest hypervisor leaf.
    #[must_use]
    pub fn max_leaf(&self) -> u32 {
        self.leaf(LEAF_VENDOR).eax
    }

    /// The vendor signature, e.g. `Microsoft Hv` (EBX, ECX, EDX of leaf 0x40000000).
    #[must_use]
    pub fn vendor_signature(&self) -> [u8; 12] {
        let l = self.leaf(LEAF_VENDOR);
        registers_to_bytes([l.ebx, l.ecx, l.edx])
    }

    /// Leaf 0x40000001 EAX.
    #[must_use]
    pub fn interface_signature(&self) -> u32 {
        self.leaf(LEAF_INTERFACE).eax
    }

    /// True when the hypervisor implements the Microsoft hypervisor interface (`Hv#1`) and
    /// reports leaves up to at least 0x40000003, so the privilege mask can be trusted.
    #[must_use]
    pub fn is_hv1(&self) -> bool {
        self.interface_signature() == HV1_INTERFACE_SIGNATURE
            && self.max_leaf() >= LEAF_FEATURES_AND_PRIVILEGES
    }

    /// Leaf 0x40000002.
    #[must_use]
    pub fn version(&self) -> HypervisorVersion {
        HypervisorVersion::from_leaf(self.leaf(LEAF_VERSION))
    }

    /// Leaf 0x40000003.
    #[must_use]
    pub fn features_and_privileges(&self) -> FeaturesAndPrivileges {
        FeaturesAndPrivileges::from_leaf(self.leaf(LEAF_FEATURES_AND_PRIVILEGES))
    }

    /// Leaf 0x40000003 EAX/EBX.
    #[must_use]
    pub fn privileges(&self) -> PrivilegeMask {
        self.features_and_privileges().privileges
    }

    /// Leaf 0x40000003 ECX (miscellaneous features).
    #[must_use]
    pub fn misc_features(&self) -> u32 {
        self.features_and_privileges().misc_features
    }

    /// Leaf 0x40000003 EDX (feature bits, see [`EDX_FEATURE_BITS`]).
    #[must_use]
    pub fn features(&self) -> u32 {
        self.features_and_privileges().features
    }

    /// True when the TSC frequency MSR may be read: privilege AccessFrequencyRegs (bit 11) and
    /// feature FrequencyMsrsAvailable (EDX bit 8), the test Linux makes before reading it.
    #[must_use]
    pub fn tsc_frequency_msr_available(&self) -> bool {
        self.is_hv1()
            && self.privileges().has(PrivilegeMask::ACCESS_FREQUENCY_REGS)
            && self.features() & FEATURE_FREQUENCY_MSRS_AVAILABLE != 0
    }

    /// Leaf 0x40000004 EAX (implementation recommendations).
    #[must_use]
    pub fn recommendations(&self) -> u32 {
        self.leaf(LEAF_RECOMMENDATIONS).eax
    }

    /// Leaf 0x40000004 EBX: spinlock retry count (0xFFFFFFFF = never notify).
    #[must_use]
    pub fn spin_retry_count(&self) -> u32 {
        self.leaf(LEAF_RECOMMENDATIONS).ebx
    }

    /// Leaf 0x40000004 ECX bits 6:0: implemented physical address bits (0 when not reported).
    #[must_use]
    pub fn physical_address_bits(&self) -> u8 {
        #[allow(clippy::cast_possible_truncation, reason = "masked to 7 bits first")]
        let bits = (self.leaf(LEAF_RECOMMENDATIONS).ecx & 0x7F) as u8;
        bits
    }

    /// Leaf 0x40000005 EAX: maximum virtual processors.
    #[must_use]
    pub fn max_virtual_processors(&self) -> u32 {
        self.leaf(LEAF_LIMITS).eax
    }

    /// Leaf 0x40000005 EBX: maximum logical processors.
    #[must_use]
    pub fn max_logical_processors(&self) -> u32 {
        self.leaf(LEAF_LIMITS).ebx
    }

    /// Leaf 0x40000005 ECX: maximum interrupt-remapping vectors.
    #[must_use]
    pub fn max_interrupt_vectors(&self) -> u32 {
        self.leaf(LEAF_LIMITS).ecx
    }

    /// Leaf 0x40000006 EAX bits 13:10: hypervisor nesting level (0 = not nested).
    #[must_use]
    pub fn nesting_level(&self) -> u8 {
        #[allow(clippy::cast_possible_truncation, reason = "masked to 4 bits first")]
        let level = ((self.hardware_features() >> 10) & 0xF) as u8;
        level
    }

    /// Leaf 0x40000006 EAX (hardware features in use).
    #[must_use]
    pub fn hardware_features(&self) -> u32 {
        self.leaf(LEAF_HARDWARE_FEATURES).eax
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn signatures_have_their_reference_values() {
        assert_eq!(&registers_to_bytes(MICROSOFT_HV_SIGNATURE), b"Microsoft Hv");
        assert_eq!(HV1_INTERFACE_SIGNATURE.to_le_bytes(), *b"Hv#1");
        assert_eq!(
            MICROSOFT_HV_SIGNATURE,
            [0x7263_694D, 0x666F_736F, 0x7648_2074]
        );
        assert_eq!(HV1_INTERFACE_SIGNATURE, 0x3123_7648);
    }

    fn hyperv_leaves(privileges_low: u32, privileges_high: u32, features: u32) -> HypervisorCpuid {
        let [b, c, d] = MICROSOFT_HV_SIGNATURE;
        HypervisorCpuid::read(|leaf| match leaf {
            LEAF_VENDOR => CpuidResult {
                eax: 0x4000_000C,
                ebx: b,
                ecx: c,
                edx: d,
            },
            LEAF_INTERFACE => CpuidResult {
                eax: HV1_INTERFACE_SIGNATURE,
                ..Default::default()
            },
            LEAF_VERSION => CpuidResult {
                eax: 26100,
                ebx: 0x000A_0000,
                ecx: 0,
                edx: 0x0100_1234,
            },
            LEAF_FEATURES_AND_PRIVILEGES => CpuidResult {
                eax: privileges_low,
                ebx: privileges_high,
                ecx: 0,
                edx: features,
            },
            LEAF_LIMITS => CpuidResult {
                eax: 2048,
                ebx: 512,
                ecx: 0,
                edx: 0,
            },
            _ => CpuidResult::default(),
        })
    }

    #[test]
    fn decodes_a_hyperv_guest() {
        // Privilege mask of a WSL2 guest, low 0x2e7f, high 0x3b8030 (docs/HYPERCALL.md,
        // Privilege mask).
        let cpuid = hyperv_leaves(0x2E7F, 0x003B_8030, 0x0000_0100);
        assert_eq!(&cpuid.vendor_signature(), b"Microsoft Hv");
        assert!(cpuid.is_hv1());
        assert_eq!(cpuid.max_leaf(), 0x4000_000C);
        let v = cpuid.version();
        assert_eq!(
            (
                v.build,
                v.major,
                v.minor,
                v.service_branch,
                v.service_number
            ),
            (26100, 10, 0, 1, 0x1234)
        );
        let mask = cpuid.privileges();
        assert_eq!(mask.0, 0x003B_8030_0000_2E7F);
        assert!(mask.signal_events());
        assert!(mask.has(PrivilegeMask::POST_MESSAGES));
        assert!(mask.has(PrivilegeMask::ACCESS_FREQUENCY_REGS));
        assert!(cpuid.tsc_frequency_msr_available());
        assert_eq!(
            (
                cpuid.max_virtual_processors(),
                cpuid.max_logical_processors()
            ),
            (2048, 512)
        );
    }

    #[test]
    fn signal_events_is_ebx_bit_5_of_leaf_0x40000003() {
        assert_eq!(PrivilegeMask::SIGNAL_EVENTS, 37);
        assert!(PrivilegeMask::from_registers(0, 1 << 5).signal_events());
        assert!(!PrivilegeMask::from_registers(u32::MAX, !(1 << 5)).signal_events());
        assert!(PrivilegeMask::from_registers(0, 1 << 4).has(PrivilegeMask::POST_MESSAGES));
        assert_eq!(
            PrivilegeMask::bit_by_name("signalevents").map(|b| b.bit),
            Some(37)
        );
        assert_eq!(
            PrivilegeMask::bit_by_name("PostMessages").map(|b| b.bit),
            Some(36)
        );
    }

    #[test]
    fn privilege_bits_are_found_by_name_and_sorted() {
        for bit in PRIVILEGE_BITS {
            assert_eq!(PrivilegeMask::bit_by_name(bit.name), Some(bit));
            assert_eq!(
                PrivilegeMask::bit_by_name(&bit.name.to_ascii_uppercase()),
                Some(bit)
            );
        }
        assert!(PRIVILEGE_BITS.windows(2).all(|w| w[0].bit < w[1].bit));
        assert_eq!(PrivilegeMask(1 << 41 | 1 << 37).unnamed_bits(), 1 << 41);
        assert!(!PrivilegeMask(u64::MAX).has(64));
    }

    /// The remaining bit positions and leaf numbers, by value (the privilege and EDX feature
    /// tables are checked against their references in tests/reference_tables.rs).
    #[test]
    fn bit_positions_and_leaves_have_their_reference_values() {
        assert_eq!(
            RECOMMENDATION_BITS
                .iter()
                .map(|(bit, _)| *bit)
                .collect::<std::vec::Vec<_>>(),
            [0, 1, 9, 10, 11, 12, 14, 18]
        );
        assert_eq!(
            HARDWARE_FEATURE_BITS
                .iter()
                .map(|(bit, _)| *bit)
                .collect::<std::vec::Vec<_>>(),
            [0, 1, 2, 3, 4, 5, 6]
        );
        assert_eq!(HV_X64_MSR_TSC_FREQUENCY, 0x4000_0022);
        assert_eq!(
            [
                LEAF_VENDOR,
                LEAF_INTERFACE,
                LEAF_VERSION,
                LEAF_FEATURES_AND_PRIVILEGES
            ],
            [0x4000_0000, 0x4000_0001, 0x4000_0002, 0x4000_0003]
        );
        assert_eq!(
            [LEAF_RECOMMENDATIONS, LEAF_LIMITS, LEAF_HARDWARE_FEATURES],
            [0x4000_0004, 0x4000_0005, 0x4000_0006]
        );
        assert_eq!(HYPERVISOR_PRESENT_BIT, 0x8000_0000);
    }

    #[test]
    fn no_frequency_msr_without_both_bits() {
        assert!(
            !hyperv_leaves(0x2E7F & !(1 << 11), 0x003B_8030, 0x100).tsc_frequency_msr_available()
        );
        assert!(!hyperv_leaves(0x2E7F, 0x003B_8030, 0).tsc_frequency_msr_available());
    }

    #[test]
    fn vendors_choose_their_instruction() {
        let leaf0 = |s: &[u8; 12]| {
            let [ebx, edx, ecx] = bytes_to_registers(*s);
            CpuidResult {
                eax: 0x16,
                ebx,
                ecx,
                edx,
            }
        };
        assert_eq!(
            CpuVendor::from_leaf0(leaf0(b"GenuineIntel")),
            CpuVendor::Intel
        );
        assert_eq!(
            CpuVendor::from_leaf0(leaf0(b"AuthenticAMD")),
            CpuVendor::Amd
        );
        assert_eq!(
            CpuVendor::from_leaf0(leaf0(b"HygonGenuine")),
            CpuVendor::Amd
        );
        assert_eq!(
            CpuVendor::Intel.instruction(),
            Some(HypercallInstruction::Vmcall)
        );
        assert_eq!(
            CpuVendor::Amd.instruction(),
            Some(HypercallInstruction::Vmmcall)
        );
        assert_eq!(
            CpuVendor::from_leaf0(leaf0(b"VIA VIA VIA ")).instruction(),
            None
        );
        assert_eq!(HypercallInstruction::Vmcall.encoding(), [0x0F, 0x01, 0xC1]);
        assert_eq!(HypercallInstruction::Vmmcall.encoding(), [0x0F, 0x01, 0xD9]);
        // GenuineIntel in leaf 0 order: EBX "Genu", EDX "ineI", ECX "ntel".
        assert_eq!(
            CpuVendor::Intel.leaf0_registers(),
            [0x756E_6547, 0x4965_6E69, 0x6C65_746E]
        );
    }

    #[test]
    fn feature_tables_have_reference_positions() {
        let find = |table: &[(u8, &str)], name: &str| {
            table.iter().find(|(_, n)| *n == name).map(|(b, _)| *b)
        };
        assert_eq!(
            find(EDX_FEATURE_BITS, "XmmRegistersForFastHypercallInput"),
            Some(4)
        );
        assert_eq!(find(EDX_FEATURE_BITS, "FrequencyMsrsAvailable"), Some(8));
        assert_eq!(
            find(EDX_FEATURE_BITS, "XmmRegistersForFastHypercallOutput"),
            Some(15)
        );
        assert_eq!(find(EDX_FEATURE_BITS, "SintPollingModeAvailable"), Some(17));
        assert_eq!(
            find(EDX_FEATURE_BITS, "HypercallMsrLockAvailable"),
            Some(18)
        );
        assert_eq!(find(EDX_FEATURE_BITS, "DirectSyntheticTimers"), Some(19));
        assert_eq!(find(ECX_FEATURE_BITS, "InvariantMperfAvailable"), Some(5));
        assert_eq!(
            find(ECX_FEATURE_BITS, "ExceptionTrapInterceptAvailable"),
            Some(8)
        );
        assert_eq!(
            find(RECOMMENDATION_BITS, "AddressSpaceSwitchHypercall"),
            Some(0)
        );
        assert_eq!(find(RECOMMENDATION_BITS, "DeprecateAutoEoi"), Some(9));
        assert_eq!(find(RECOMMENDATION_BITS, "EnlightenedVmcs"), Some(14));
        assert_eq!(
            find(RECOMMENDATION_BITS, "NoNonArchitecturalCoreSharing"),
            Some(18)
        );
        assert_eq!(
            find(HARDWARE_FEATURE_BITS, "SecondLevelAddressTranslationInUse"),
            Some(3)
        );
        for table in [
            EDX_FEATURE_BITS,
            ECX_FEATURE_BITS,
            RECOMMENDATION_BITS,
            HARDWARE_FEATURE_BITS,
        ] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        }
        let names: std::vec::Vec<_> =
            named_bits(1 << 4 | 1 << 8 | 1 << 30, EDX_FEATURE_BITS).collect();
        assert_eq!(
            names,
            [
                "XmmRegistersForFastHypercallInput",
                "FrequencyMsrsAvailable"
            ]
        );
    }

    #[test]
    fn limits_nesting_and_address_bits() {
        let cpuid = HypervisorCpuid::read(|leaf| match leaf {
            LEAF_RECOMMENDATIONS => CpuidResult {
                eax: 1 << 12,
                ebx: 0xFFFF_FFFF,
                ecx: 0x80 | 0x2E,
                edx: 0,
            },
            LEAF_LIMITS => CpuidResult {
                eax: 240,
                ebx: 64,
                ecx: 1024,
                edx: 0,
            },
            LEAF_HARDWARE_FEATURES => CpuidResult {
                eax: 0b1000 | (2 << 10),
                ..Default::default()
            },
            _ => CpuidResult::default(),
        });
        assert_eq!(cpuid.physical_address_bits(), 46);
        assert_eq!(cpuid.spin_retry_count(), 0xFFFF_FFFF);
        assert_eq!(cpuid.recommendations(), 1 << 12);
        assert_eq!(cpuid.max_interrupt_vectors(), 1024);
        assert_eq!(cpuid.nesting_level(), 2);
        assert_eq!(cpuid.hardware_features() & 0x3FF, 0b1000);
    }

    #[test]
    fn absent_hypervisor_is_not_hv1() {
        let cpuid = HypervisorCpuid::default();
        assert!(!cpuid.is_hv1());
        assert!(!cpuid.privileges().signal_events());
    }

    proptest! {
        #[test]
        fn vendor_bytes_round_trip(bytes: [u8; 12]) {
            prop_assert_eq!(registers_to_bytes(bytes_to_registers(bytes)), bytes);
            let vendor = CpuVendor::Other(bytes);
            let [ebx, edx, ecx] = vendor.leaf0_registers();
            let back = CpuVendor::from_leaf0(CpuidResult { eax: 0, ebx, ecx, edx });
            prop_assert!(back == vendor || back.instruction().is_some());
        }

        #[test]
        fn privilege_mask_splits_into_eax_and_ebx(mask: u64) {
            #[allow(clippy::cast_possible_truncation)]
            let m = PrivilegeMask::from_registers(mask as u32, (mask >> 32) as u32);
            prop_assert_eq!(m.0, mask);
            for bit in 0..64u8 { prop_assert_eq!(m.has(bit), mask >> bit & 1 == 1); }
        }
    }

    #[test]
    fn the_version_leaf_encodes_what_it_decodes() {
        let version = HypervisorVersion {
            build: 20348,
            major: 10,
            minor: 0,
            service_pack: 1,
            service_branch: 0xAB,
            service_number: 0x12_3456,
        };
        let leaf = version.to_leaf();
        assert_eq!(
            leaf,
            CpuidResult {
                eax: 20348,
                ebx: 0x000A_0000,
                ecx: 1,
                edx: 0xAB12_3456
            }
        );
        assert_eq!(HypervisorVersion::from_leaf(leaf), version);
    }

    proptest! {
        #[test]
        fn leaves_2_and_3_round_trip(eax: u32, ebx: u32, ecx: u32, edx: u32) {
            let leaf = CpuidResult { eax, ebx, ecx, edx };
            prop_assert_eq!(HypervisorVersion::from_leaf(leaf).to_leaf(), leaf);
            prop_assert_eq!(FeaturesAndPrivileges::from_leaf(leaf).to_leaf(), leaf);
            let mask = PrivilegeMask::from_registers(eax, ebx);
            prop_assert_eq!(mask.to_registers(), (eax, ebx));
        }
    }
}
