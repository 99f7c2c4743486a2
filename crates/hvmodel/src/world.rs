//! The world the model simulates: the caller, the receiving partitions with their virtual
//! processors, ports and connections, the CPUID the caller sees and the timing model.
//!
//! A [`World`] is only ever built validated: from a TOML world file
//! ([`World::from_toml_str`], [`World::from_file`]) or as the built-in default
//! ([`World::builtin`]). `docs/MODEL.md` lists every key, its default and its allowed values.

mod parse;

use std::path::Path;

use hvcall::cpuid::{HV1_INTERFACE_SIGNATURE, MICROSOFT_HV_SIGNATURE, registers_to_bytes};
use hvcall::{CpuVendor, HypervisorVersion, IsolationConfig, PrivilegeMask};

use crate::Profile;

pub use parse::WorldError;

/// `HV_ANY_VP`: the port's target VP is "any VP that can take the interrupt".
pub const HV_ANY_VP: u32 = 0xFFFF_FFFF;
/// Number of synthetic interrupt sources per VP.
pub const SINT_COUNT: u8 = 16;
/// Event flags per SINT: one 256-byte slot of the SIEF page.
pub const FLAGS_PER_SINT: u32 = 2048;
/// Largest VTL number a world may give (`HV_INPUT_VTL` has 4 bits).
pub const MAX_VTL: u8 = 15;
/// Most VPs a world may have, over all its partitions. The model keeps a 4 KiB SIEF page per VP
/// ([`crate::Hypervisor::new`] allocates them all up front), so this bounds a world's memory to
/// 64 MiB of SIEF pages; a bigger world file is refused rather than exhausting memory.
pub const MAX_VPS: usize = 16_384;

/// The privilege mask of a typical Generation 2 guest: a WSL2 guest on host build 22610 logged
/// "privilege flags low 0x2e7f, high 0x3b8030" (docs/HYPERCALL.md, Privilege mask;
/// microsoft/wslg issue #716). It includes PostMessages (bit 36) and SignalEvents (bit 37).
pub const GEN2_PRIVILEGE_MASK: PrivilegeMask = PrivilegeMask(0x003B_8030_0000_2E7F);

/// The guest OS ID a Windows guest registers (TLFS "Guest OS Identity" for proprietary
/// operating systems: vendor 0x0001 Microsoft in bits 63:48, OS 4 Windows NT in 47:40,
/// version 10.0 in 39:24, build 26100 in 15:0). Illustrative: any non-zero value enables
/// hypercalls.
pub const WINDOWS_GUEST_OS_ID: u64 = 0x0001_040A_0000_65F4;
/// `HV_X64_MSR_HYPERCALL` with the enable bit set and the hypercall page at GPA 0x1000
/// (illustrative: the guest OS chooses the page).
pub const ENABLED_HYPERCALL_MSR: u64 = 0x1001;

/// "Linux KVM Hv": the vendor signature KVM's `KVM_GET_SUPPORTED_HV_CPUID` reports.
pub const KVM_HV_SIGNATURE: [u8; 12] = *b"Linux KVM Hv";

/// Whether a receiving partition is running.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum PartitionState {
    /// Running: its ports can receive.
    #[default]
    Active,
    /// Not active (e.g. being torn down): its ports answer INVALID_PORT_ID.
    Inactive,
}

impl PartitionState {
    /// The world-file spelling.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }
}

/// The type of a port (TLFS 6.0b `HV_PORT_TYPE`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum PortType {
    /// `HvPortTypeMessage` = 1.
    Message,
    /// `HvPortTypeEvent` = 2: the only type `HvCallSignalEvent` can signal.
    #[default]
    Event,
    /// `HvPortTypeMonitor` = 3.
    Monitor,
}

impl PortType {
    /// The world-file spelling.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Event => "event",
            Self::Monitor => "monitor",
        }
    }

    /// The TLFS 6.0b numeric value.
    #[must_use]
    pub const fn code(self) -> u32 {
        match self {
            Self::Message => 1,
            Self::Event => 2,
            Self::Monitor => 3,
        }
    }
}

/// The VP a port delivers to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TargetVp {
    /// One VP, by index.
    Index(u32),
    /// `HV_ANY_VP`: the lowest-indexed VP that can take the interrupt.
    Any,
}

impl TargetVp {
    /// The raw `TargetVp` field value (`HV_ANY_VP` = 0xFFFFFFFF for "any").
    #[must_use]
    pub const fn raw(self) -> u32 {
        match self {
            Self::Index(i) => i,
            Self::Any => HV_ANY_VP,
        }
    }
}

/// A virtual processor of a receiving partition.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Vp {
    /// The VP index.
    pub index: u32,
    /// SCONTROL enabled.
    pub synic: bool,
    /// SIEF page enabled.
    pub sief: bool,
    /// Bit `n` set: SINT `n` is masked.
    pub masked_sints: u16,
    /// The VP was removed: ports still name it, but it is gone (INVALID_VP_INDEX).
    pub removed: bool,
}

impl Vp {
    /// True when SINT `sint` is masked (and for any `sint` ≥ 16).
    #[must_use]
    pub fn is_masked(&self, sint: u8) -> bool {
        sint >= SINT_COUNT || self.masked_sints & (1 << sint) != 0
    }

    /// True when the VP exists and an event on `sint` can be delivered to it.
    #[must_use]
    pub fn can_take(&self, sint: u8) -> bool {
        !self.removed && self.synic && self.sief && !self.is_masked(sint)
    }
}

/// A receiving partition.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Partition {
    /// The partition id.
    pub id: u64,
    /// A label for listings (no meaning to the model).
    pub name: String,
    /// Active or not.
    pub state: PartitionState,
    /// Its VPs, in file order.
    pub vps: Vec<Vp>,
}

impl Partition {
    /// The VP with this index, removed or not.
    #[must_use]
    pub fn vp(&self, index: u32) -> Option<&Vp> {
        self.vps.iter().find(|vp| vp.index == index)
    }

    /// The VP an event for `target` on `sint` goes to (TLFS `HvCallSignalEvent`, steps 9 and
    /// 10 of the `tlfs` order): the named VP when it exists and its SynIC, SIEF page and SINT
    /// are enabled, or for "any" the lowest-indexed VP that can take the event.
    ///
    /// # Errors
    /// Why no VP can take it.
    pub fn target(&self, target: TargetVp, sint: u8) -> Result<&Vp, Blocked> {
        match target {
            TargetVp::Index(index) => {
                let vp = self
                    .vp(index)
                    .filter(|vp| !vp.removed)
                    .ok_or(Blocked::VpMissing)?;
                if !vp.synic {
                    return Err(Blocked::SynicDisabled);
                }
                if !vp.sief {
                    return Err(Blocked::SiefDisabled);
                }
                if vp.is_masked(sint) {
                    return Err(Blocked::SintMasked);
                }
                Ok(vp)
            }
            TargetVp::Any => self
                .vps
                .iter()
                .filter(|vp| vp.can_take(sint))
                .min_by_key(|vp| vp.index)
                .ok_or(Blocked::NoVpAvailable),
        }
    }
}

/// Why the target of a port cannot take an event now.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Blocked {
    /// The port was deleted, is not an event port, or its partition is not active.
    PortNotLive,
    /// The port names a VP its partition does not have, or one that was removed.
    VpMissing,
    /// The port targets any VP, and none can take the event on its SINT.
    NoVpAvailable,
    /// The target VP's SynIC (SCONTROL) is disabled.
    SynicDisabled,
    /// The target VP's SIEF page is disabled.
    SiefDisabled,
    /// The port's SINT is masked on the target VP.
    SintMasked,
    /// The absolute flag is beyond the 2048 flags of a SINT's slot.
    FlagOutOfRange,
}

impl Blocked {
    /// A short machine-readable name (`sint_masked`, …).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::PortNotLive => "port_not_live",
            Self::VpMissing => "vp_missing",
            Self::NoVpAvailable => "no_vp_available",
            Self::SynicDisabled => "synic_disabled",
            Self::SiefDisabled => "sief_disabled",
            Self::SintMasked => "sint_masked",
            Self::FlagOutOfRange => "flag_out_of_range",
        }
    }
}

/// A port in a receiving partition.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Port {
    /// The port id (24 bits).
    pub id: u32,
    /// The id of the partition that owns it.
    pub partition: u64,
    /// Event, message or monitor.
    pub port_type: PortType,
    /// The VP it delivers to.
    pub target_vp: TargetVp,
    /// The SINT it delivers on (0–15).
    pub sint: u8,
    /// First event flag of the port within the SINT's 2048 flags.
    pub base_flag: u16,
    /// Number of event flags; `base_flag + flag_count` ≤ 2048.
    pub flag_count: u16,
    /// The port was deleted; connections to it remain but are useless.
    pub deleted: bool,
    /// Lowest caller VTL allowed to signal it (checked only by the `openvmm` profile).
    pub min_vtl: u8,
}

impl Port {
    /// True when the port can receive a signal: an event port, not deleted, owned by
    /// `partition` (its owner, when the world has it) while that partition is active (TLFS
    /// `HvCallSignalEvent`, INVALID_PORT_ID).
    #[must_use]
    pub fn is_live_event_port(&self, partition: Option<&Partition>) -> bool {
        !self.deleted
            && self.port_type == PortType::Event
            && partition.is_some_and(|p| p.state == PartitionState::Active)
    }
}

/// A connection of the caller to a port.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub struct Connection {
    /// The connection id (24 bits) the caller passes to `HvCallSignalEvent`.
    pub id: u32,
    /// The port it is bound to.
    pub port: u32,
}

/// The partition that runs the driver.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Caller {
    /// `HV_PARTITION_PRIVILEGE_MASK` (CPUID 0x40000003 EAX/EBX).
    pub privileges: PrivilegeMask,
    /// The caller's own SynIC is active (KVM's fall-through path checks it; docs/HYPERCALL.md,
    /// KVM).
    pub synic: bool,
    /// The caller's VTL (the `openvmm` profile compares it with a port's `min_vtl`).
    pub vtl: u8,
}

/// What the hypervisor says about itself through CPUID.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct HypervisorInfo {
    /// A hypervisor is present (CPUID 1 ECX bit 31 and the 0x4000000x leaves).
    pub present: bool,
    /// Leaf 0x40000000 vendor signature; `None` = the profile's default.
    pub vendor_signature: Option<[u8; 12]>,
    /// Leaf 0x40000002; `None` = the profile's default.
    pub version: Option<HypervisorVersion>,
    /// Leaf 0x40000003 EDX; `None` = FrequencyMsrsAvailable (bit 8) when the TSC frequency is
    /// known and the caller has AccessFrequencyRegs, else 0.
    pub features_edx: Option<u32>,
    /// KVM only: `KVM_CAP_HYPERV_ENFORCE_CPUID` is on, so KVM checks the SignalEvents privilege.
    pub kvm_enforce_cpuid: bool,
    /// KVM only: a memory-convention SignalEvent that falls through to user space hands QEMU
    /// the input's value in place of its GPA (kernels since the May 2021 change that collects
    /// Hyper-V hypercall parameters into `struct kvm_hv_hcall`; false for earlier kernels).
    pub kvm_slow_input_as_gpa: bool,
    /// `HV_X64_MSR_GUEST_OS_ID` as the guest OS left it; 0 = not registered (hypercalls #UD).
    pub guest_os_id: u64,
    /// `HV_X64_MSR_HYPERCALL` as the guest OS left it; bit 0 clear = hypercalls #UD.
    pub hypercall_msr: u64,
    /// CPUID 0x4000000C, when the VM reports its isolation (the caller then also holds the
    /// Isolation privilege, bit 54, and the highest hypervisor leaf is 0x4000000C).
    pub isolation: Option<IsolationConfig>,
}

impl HypervisorInfo {
    /// The hypervisor of the built-in world: present, every CPUID field the profile's default,
    /// the guest OS registered and hypercalls enabled, no isolation.
    #[must_use]
    pub const fn builtin() -> Self {
        Self {
            present: true,
            vendor_signature: None,
            version: None,
            features_edx: None,
            kvm_enforce_cpuid: false,
            kvm_slow_input_as_gpa: true,
            guest_os_id: WINDOWS_GUEST_OS_ID,
            hypercall_msr: ENABLED_HYPERCALL_MSR,
            isolation: None,
        }
    }
}

/// The simulated cost of hypercalls on the virtual TSC (see `docs/MODEL.md`, "Timing").
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct Timing {
    /// The frequency reported by `tsc_frequency_hz`; 0 = unknown.
    pub tsc_frequency_hz: u64,
    /// Initial value of every caller's virtual TSC.
    pub tsc_start: u64,
    /// Cycles of a call rejected while decoding (control word, memory, privilege, reserved bits).
    pub decode_error_cycles: u64,
    /// Cycles of a call rejected after the connection lookup started.
    pub lookup_error_cycles: u64,
    /// Cycles of a successful call.
    pub success_cycles: u64,
    /// Extra cycles when a call raises a SINT (a 0→1 flag change).
    pub interrupt_cycles: u64,
    /// Extra cycles when the `kvm` profile exits to user space (QEMU).
    pub user_exit_cycles: u64,
    /// Cycles one `timestamp` read adds (the cost of RDTSC itself).
    pub timestamp_cycles: u64,
    /// Up to this many cycles of deterministic pseudo-random jitter per call.
    pub jitter_cycles: u64,
    /// On average one call in this many is an outlier; 0 = never.
    pub outlier_one_in: u32,
    /// Extra cycles of an outlier (e.g. a host interrupt during the call).
    pub outlier_cycles: u64,
    /// Seed of the jitter generator.
    pub seed: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            tsc_frequency_hz: 2_400_000_000,
            tsc_start: 1_000_000,
            decode_error_cycles: 900,
            lookup_error_cycles: 1_100,
            success_cycles: 1_250,
            interrupt_cycles: 350,
            user_exit_cycles: 3_000,
            timestamp_cycles: 25,
            jitter_cycles: 60,
            outlier_one_in: 1_000,
            outlier_cycles: 12_000,
            seed: 0x5EED,
        }
    }
}

/// A parsed, validated world.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct World {
    pub(crate) profile: Profile,
    pub(crate) vendor: CpuVendor,
    pub(crate) hypervisor: HypervisorInfo,
    pub(crate) allow_raw_hypercalls: bool,
    pub(crate) caller: Caller,
    pub(crate) partitions: Vec<Partition>,
    pub(crate) ports: Vec<Port>,
    pub(crate) connections: Vec<Connection>,
    pub(crate) timing: Timing,
}

impl World {
    /// Parses and validates a world file's text; `source` names the file in error messages.
    ///
    /// # Errors
    /// The text is not TOML, has a key the format does not know, a value of the wrong type or
    /// out of range, duplicate ids, or a reference to something that does not exist. The error
    /// names the file, line, column and key and says what is allowed.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvmodel::World;
    ///
    /// // One event port of 16 flags on SINT 2 of VP 0, reached through connection 0x2001.
    /// let text = r#"
    /// [[partition]]
    /// id = 1
    /// [[partition.vp]]
    /// index = 0
    ///
    /// [[port]]
    /// id = 1
    /// partition = 1
    /// target_vp = 0
    /// sint = 2
    /// flag_count = 16
    ///
    /// [[connection]]
    /// id = 0x2001
    /// port = 1
    /// "#;
    /// let world = World::from_toml_str(text, "one-port.toml")?;
    /// assert_eq!(world.connection(0x2001).map(|c| c.port), Some(1));
    /// assert_eq!(world.port(1).map(|p| (p.sint, p.flag_count)), Some((2, 16)));
    ///
    /// // SINTs are 0–15: the error names the file, the line and the key.
    /// let error = World::from_toml_str(&text.replace("sint = 2", "sint = 16"), "one-port.toml")
    ///     .err();
    /// assert_eq!(
    ///     error.map(|e| (e.file, e.line, e.key)),
    ///     Some(("one-port.toml".to_string(), Some(11), Some("port.sint".to_string())))
    /// );
    /// # Ok::<(), hvmodel::WorldError>(())
    /// ```
    pub fn from_toml_str(text: &str, source: &str) -> Result<Self, WorldError> {
        parse::parse(text, source)
    }

    /// Reads and validates a world file.
    ///
    /// # Errors
    /// The file cannot be read, is not a regular file or is larger than
    /// [`crate::input::MAX_INPUT_FILE_BYTES`], or see [`World::from_toml_str`].
    pub fn from_file(path: &Path) -> Result<Self, WorldError> {
        let source = path.display().to_string();
        let text = crate::input::read_input_file(path).map_err(|e| WorldError {
            file: source.clone(),
            line: None,
            column: None,
            key: None,
            message: e.to_string(),
        })?;
        Self::from_toml_str(&text, &source)
    }

    /// The built-in default world: a typical Generation 2 guest. The caller has the WSL2 privilege
    /// mask ([`GEN2_PRIVILEGE_MASK`]); the host (partition 1, two VPs, everything enabled) has
    /// four event ports on SINT 2 targeting VP 0, each with 16 flags (ports 1–4 at base flags 0,
    /// 16, 32, 48), reached through VMBus-style connections 0x2001–0x2004
    /// (`channel | sint << 12`, docs/HYPERCALL.md, OpenVMM). Nothing else. Identical to
    /// `crates/hvmodel/worlds/default.toml`.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvmodel::World;
    ///
    /// let world = World::builtin();
    /// assert_eq!(world.privileges().0, 0x003B_8030_0000_2E7F);
    /// assert!(world.privileges().signal_events());
    /// let ids: Vec<_> = world.connections().iter().map(|c| (c.id, c.port)).collect();
    /// assert_eq!(ids, [(0x2001, 1), (0x2002, 2), (0x2003, 3), (0x2004, 4)]);
    /// let port = world.port(3).map(|p| (p.partition, p.sint, p.base_flag, p.flag_count));
    /// assert_eq!(port, Some((1, 2, 32, 16)));
    /// ```
    #[must_use]
    pub fn builtin() -> Self {
        let vp = |index| Vp {
            index,
            synic: true,
            sief: true,
            masked_sints: 0,
            removed: false,
        };
        let ports = (0..4u16)
            .map(|n| Port {
                id: u32::from(n) + 1,
                partition: 1,
                port_type: PortType::Event,
                target_vp: TargetVp::Index(0),
                sint: 2,
                base_flag: n.saturating_mul(16),
                flag_count: 16,
                deleted: false,
                min_vtl: 0,
            })
            .collect();
        let connections = (1..=4u32)
            .map(|n| Connection {
                id: 0x2000_u32.saturating_add(n),
                port: n,
            })
            .collect();
        Self {
            profile: Profile::Tlfs,
            vendor: CpuVendor::Intel,
            hypervisor: HypervisorInfo::builtin(),
            allow_raw_hypercalls: false,
            caller: Caller {
                privileges: GEN2_PRIVILEGE_MASK,
                synic: true,
                vtl: 0,
            },
            partitions: vec![Partition {
                id: 1,
                name: "host".to_owned(),
                state: PartitionState::Active,
                vps: vec![vp(0), vp(1)],
            }],
            ports,
            connections,
            timing: Timing::default(),
        }
    }

    /// The same world under another profile (for comparing implementations).
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// The behaviour profile.
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The CPU vendor (decides `vmcall`/`vmmcall` and CPUID leaf 0).
    #[must_use]
    pub fn vendor(&self) -> CpuVendor {
        self.vendor
    }

    /// The `[hypervisor]` table as written (profile defaults not applied).
    #[must_use]
    pub fn hypervisor(&self) -> &HypervisorInfo {
        &self.hypervisor
    }

    /// True when a hypervisor is present.
    #[must_use]
    pub fn hypervisor_present(&self) -> bool {
        self.hypervisor.present
    }

    /// The raw-call policy (`[driver] allow_raw_hypercalls`).
    #[must_use]
    pub fn allow_raw_hypercalls(&self) -> bool {
        self.allow_raw_hypercalls
    }

    /// The caller.
    #[must_use]
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The caller's privilege mask.
    #[must_use]
    pub fn privileges(&self) -> PrivilegeMask {
        self.caller.privileges
    }

    /// The receiving partitions.
    #[must_use]
    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// The ports.
    #[must_use]
    pub fn ports(&self) -> &[Port] {
        &self.ports
    }

    /// The caller's connections.
    #[must_use]
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    /// The partition with this id.
    #[must_use]
    pub fn partition(&self, id: u64) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.id == id)
    }

    /// The port with this id.
    #[must_use]
    pub fn port(&self, id: u32) -> Option<&Port> {
        self.ports.iter().find(|p| p.id == id)
    }

    /// The connection with this id.
    #[must_use]
    pub fn connection(&self, id: u32) -> Option<&Connection> {
        self.connections.iter().find(|c| c.id == id)
    }

    /// The timing model.
    #[must_use]
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// The TSC frequency the model reports, `None` when the world says 0 (unknown).
    #[must_use]
    pub fn tsc_frequency_hz(&self) -> Option<u64> {
        (self.timing.tsc_frequency_hz != 0).then_some(self.timing.tsc_frequency_hz)
    }

    /// Leaf 0x40000000's vendor signature: the world's, else "Microsoft Hv" for every profile:
    /// the TLFS; QEMU's default `hv-vendor-id`, which is what a KVM guest sees through QEMU
    /// (`qemu/qemu docs/system/i386/hyperv.rst`, `target/i386/kvm/kvm.c`); Xen's viridian
    /// leaves; OpenVMM's hv1 emulator. ([`KVM_HV_SIGNATURE`] is what KVM's own
    /// `KVM_GET_SUPPORTED_HV_CPUID` suggests to a VMM; a world can give it.)
    #[must_use]
    pub fn vendor_signature(&self) -> [u8; 12] {
        self.hypervisor
            .vendor_signature
            .unwrap_or(registers_to_bytes(MICROSOFT_HV_SIGNATURE))
    }

    /// Leaf 0x40000001 EAX: always "Hv#1".
    #[must_use]
    pub fn interface_signature(&self) -> u32 {
        HV1_INTERFACE_SIGNATURE
    }

    /// Leaf 0x40000002: the world's, else build 14393 version 10.0 for `kvm` (KVM's
    /// `kvm_get_hv_cpuid`, "Hyper-V 2016") and `qemu` (QEMU's `hv-version-id-*` defaults since
    /// machine type 6.2), else build 26100 version 10.0 (an illustrative current Windows host
    /// build; no source fixes one for the TLFS or OpenVMM).
    #[must_use]
    pub fn hypervisor_version(&self) -> HypervisorVersion {
        self.hypervisor.version.unwrap_or(match self.profile {
            Profile::Kvm | Profile::Qemu => HypervisorVersion {
                build: 0x3839,
                major: 10,
                minor: 0,
                ..HypervisorVersion::default()
            },
            // Xen's viridian leaves: version 6.0 build 0x1772, Windows Server 2008's
            // (`xen-project/xen xen/arch/x86/hvm/viridian/viridian.c`).
            Profile::Xen => HypervisorVersion {
                build: 0x1772,
                major: 6,
                minor: 0,
                ..HypervisorVersion::default()
            },
            Profile::Tlfs | Profile::Openvmm => HypervisorVersion {
                build: 26_100,
                major: 10,
                minor: 0,
                ..HypervisorVersion::default()
            },
        })
    }

    /// The privilege mask CPUID 0x40000003 shows: the caller's, plus Isolation (bit 54) when the
    /// VM reports its isolation.
    #[must_use]
    pub fn cpuid_privileges(&self) -> PrivilegeMask {
        let isolation_bit = if self.hypervisor.isolation.is_some() {
            1u64 << PrivilegeMask::ISOLATION
        } else {
            0
        };
        PrivilegeMask(self.caller.privileges.0 | isolation_bit)
    }

    /// Leaf 0x40000003 EDX: the world's, else FrequencyMsrsAvailable (bit 8) when the TSC
    /// frequency is known and the caller has AccessFrequencyRegs, else 0.
    #[must_use]
    pub fn features_edx(&self) -> u32 {
        self.hypervisor.features_edx.unwrap_or_else(|| {
            if self.tsc_frequency_hz().is_some()
                && self
                    .caller
                    .privileges
                    .has(PrivilegeMask::ACCESS_FREQUENCY_REGS)
            {
                hvcall::cpuid::FEATURE_FREQUENCY_MSRS_AVAILABLE
            } else {
                0
            }
        })
    }
}
