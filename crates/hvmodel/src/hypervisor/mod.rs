//! The shared hypervisor state and the decision function: registers in, RAX out.
//!
//! [`Hypervisor::hypercall`] decodes a call once ([`decode`]: control word, input from RDX or
//! the input page) and hands the decoded call to its world's profile, one module each
//! ([`tlfs`], [`kvm`], [`qemu`], [`openvmm`], [`xen`]), which decides the status and effect; this
//! module applies the effect to the SIEF pages and counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap;

use hvcall::{
    CpuidResult, HYPERCALL_RAX, HvStatus, HypercallMsr, HypercallResult, InputPage, PAGE_SIZE,
    PrivilegeMask,
};

use crate::world::{Blocked, FLAGS_PER_SINT, Port, SINT_COUNT, World};
use crate::{ModelPrimitive, Profile};

use decode::DecodedCall;

mod decode;
mod kvm;
mod openvmm;
mod qemu;
mod tlfs;
mod xen;

pub use kvm::KVM_RESERVED_CONTROL_MASK;
pub use xen::XEN_ENOSYS;

/// Size of a SINT's slot in the SIEF page (`HV_SYNIC_EVENT_FLAGS`).
pub const SIEF_SLOT_SIZE: usize = 256;
const WORDS_PER_SLOT: usize = SIEF_SLOT_SIZE / 8;
const STATUS_SLOTS: usize = 32;

/// How far a call got, which the timing model prices differently.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Stage {
    /// Rejected while decoding: call code, control word, input GPA, privilege, reserved input
    /// bits (no connection lookup made).
    Decode,
    /// Rejected after the connection, port or target VP was looked up.
    Lookup,
    /// Accepted (HV_STATUS_SUCCESS).
    Signalled,
}

/// One event flag the call set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Signal {
    /// The receiving partition.
    pub partition: u64,
    /// The VP whose SIEF page was written.
    pub vp: u32,
    /// The SINT slot.
    pub sint: u8,
    /// The absolute flag number in the slot (port base flag + flag number).
    pub flag: u16,
    /// The flag was clear before, so the SINT was raised (one interrupt counted).
    pub newly_set: bool,
}

/// Everything the model decided for one call.
#[allow(
    clippy::struct_excessive_bools,
    reason = "independent observations of one call, not a state machine"
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CallOutcome {
    /// The status in RAX bits 15:0.
    pub status: HvStatus,
    /// How far the call got.
    pub stage: Stage,
    /// The `kvm` profile handed the call to user space (QEMU).
    pub user_exit: bool,
    /// The flag set, when one was.
    pub signal: Option<Signal>,
    /// The call succeeded but the receiver could not take the event and it was silently
    /// dropped (`kvm`, `qemu` and `openvmm` profiles only).
    pub dropped: bool,
    /// The `xen` profile ran the call as a Xen hypercall (RAX bit 31 clear): RAX is
    /// [`XEN_ENOSYS`], not a Hyper-V result value.
    pub xen_hypercall: bool,
    /// On real hardware the instruction would have faulted (#UD: no hypervisor, the guest OS ID
    /// not set, hypercalls not enabled; or an isolated VM that does not take it). The model
    /// cannot fault, so it answers INVALID_HYPERCALL_CODE and counts it in
    /// [`Hypervisor::faults`]; hvsignal's checks exist so that this never happens.
    pub faulted: bool,
}

impl CallOutcome {
    /// The result value: the status and zero reps completed (SignalEvent is a simple call).
    #[must_use]
    pub const fn result(&self) -> HypercallResult {
        HypercallResult::new(self.status, 0)
    }

    /// The RAX the caller sees: [`Self::result`], or [`XEN_ENOSYS`] for a Xen hypercall.
    #[must_use]
    pub const fn rax(&self) -> u64 {
        if self.xen_hypercall {
            XEN_ENOSYS
        } else {
            self.result().raw()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effect {
    None,
    Deliver { slot: usize, sint: u8, flag: u32 },
    Drop,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Decision {
    status: HvStatus,
    stage: Stage,
    user_exit: bool,
    effect: Effect,
    xen_hypercall: bool,
    faulted: bool,
}

const fn reject(status: HvStatus, stage: Stage) -> Decision {
    Decision {
        status,
        stage,
        user_exit: false,
        effect: Effect::None,
        xen_hypercall: false,
        faulted: false,
    }
}

const fn accept(effect: Effect) -> Decision {
    Decision {
        status: HvStatus::SUCCESS,
        stage: Stage::Signalled,
        user_exit: false,
        effect,
        xen_hypercall: false,
        faulted: false,
    }
}

/// What real hardware would do instead of answering: fault.
const fn fault() -> Decision {
    Decision {
        faulted: true,
        ..reject(HvStatus::INVALID_HYPERCALL_CODE, Stage::Decode)
    }
}

struct VpState {
    partition: u64,
    index: u32,
    /// The SIEF page as 512 little-endian words: SINT `s`, flag `n` is bit `n % 64` of word
    /// `32 * s + n / 64`, i.e. byte `256 * s + n / 8`, bit `n % 8`.
    sief: Box<[AtomicU64]>,
    interrupts: [AtomicU64; SINT_COUNT as usize],
}

impl VpState {
    fn new(partition: u64, index: u32) -> Self {
        Self {
            partition,
            index,
            sief: (0..PAGE_SIZE / 8).map(|_| AtomicU64::new(0)).collect(),
            interrupts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn word(&self, sint: u8, flag: u32) -> Option<(&AtomicU64, u64)> {
        if sint >= SINT_COUNT || flag >= FLAGS_PER_SINT {
            return None;
        }
        // In range: sint < SINT_COUNT and flag < FLAGS_PER_SINT were checked just above.
        let index = usize::from(sint)
            .saturating_mul(WORDS_PER_SLOT)
            .saturating_add((flag / 64) as usize);
        self.sief.get(index).map(|w| (w, 1u64 << (flag % 64)))
    }

    /// Sets the flag atomically; raises the SINT (counts an interrupt) only on 0→1.
    fn set(&self, sint: u8, flag: u32) -> Option<bool> {
        let (word, mask) = self.word(sint, flag)?;
        let newly = word.fetch_or(mask, Ordering::AcqRel) & mask == 0;
        if newly && let Some(count) = self.interrupts.get(usize::from(sint)) {
            count.fetch_add(1, Ordering::AcqRel);
        }
        Some(newly)
    }

    fn slot(&self, sint: u8, clear: bool) -> Option<[u8; SIEF_SLOT_SIZE]> {
        if sint >= SINT_COUNT {
            return None;
        }
        let first = usize::from(sint).saturating_mul(WORDS_PER_SLOT);
        let words = self.sief.get(first..first.saturating_add(WORDS_PER_SLOT))?;
        let mut out = [0u8; SIEF_SLOT_SIZE];
        for (chunk, word) in out.as_chunks_mut::<8>().0.iter_mut().zip(words) {
            let value = if clear {
                word.swap(0, Ordering::AcqRel)
            } else {
                word.load(Ordering::Acquire)
            };
            *chunk = value.to_le_bytes();
        }
        Some(out)
    }
}

/// Where one connection's events go, resolved once when the [`Hypervisor`] is built: the world
/// is immutable, so the connection → port → partition → VP chain cannot change afterwards and a
/// call needs only the one lookup of its connection id.
#[derive(Clone, Copy, Debug)]
struct Resolved {
    /// The port is a live event port: not deleted, an event port, its partition present and
    /// active ([`Port::is_live_event_port`]).
    live: bool,
    /// The port's SINT.
    sint: u8,
    /// The port's first flag.
    base_flag: u16,
    /// The port's number of flags.
    flag_count: u16,
    /// Lowest caller VTL allowed to signal the port.
    min_vtl: u8,
    /// The index in `Hypervisor::vps` of the VP the port's events go to, or why none can take
    /// them.
    target: Result<usize, Blocked>,
}

/// The hypervisor: an immutable [`World`] plus the mutable, atomically updated state (SIEF
/// pages, interrupt counts, call statistics). Shared between callers as `Arc<Hypervisor>`;
/// each caller issues calls through its own [`ModelPrimitive`].
pub struct Hypervisor {
    world: World,
    /// Connection id → where its events go, for every connection whose port exists: the one
    /// lookup a call makes. FxHash, not SipHash: the key is one integer from the world file the
    /// user gave (at most one per 24-bit id), so ids chosen to collide could only slow that
    /// user's own model, and SipHash cost most of a call.
    routes: FxHashMap<u32, Resolved>,
    vp_slots: HashMap<(u64, u32), usize>,
    vps: Vec<VpState>,
    status_counts: [AtomicU64; STATUS_SLOTS],
    other_status_count: AtomicU64,
    dropped: AtomicU64,
    user_exits: AtomicU64,
    faults: AtomicU64,
    next_caller: AtomicU64,
}

impl std::fmt::Debug for Hypervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hypervisor")
            .field("profile", &self.world.profile())
            .field("total_calls", &self.total_calls())
            .finish_non_exhaustive()
    }
}

impl Hypervisor {
    /// Builds the hypervisor for `world`, with every SIEF page clear and every counter zero.
    #[must_use]
    pub fn new(world: World) -> Arc<Self> {
        let mut vp_slots = HashMap::new();
        let mut vps = Vec::new();
        for p in world.partitions() {
            for vp in &p.vps {
                vp_slots.insert((p.id, vp.index), vps.len());
                vps.push(VpState::new(p.id, vp.index));
            }
        }
        let routes = routes(&world, &vp_slots);
        Arc::new(Self {
            world,
            routes,
            vp_slots,
            vps,
            status_counts: std::array::from_fn(|_| AtomicU64::new(0)),
            other_status_count: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            user_exits: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            next_caller: AtomicU64::new(0),
        })
    }

    /// The world it simulates.
    #[must_use]
    pub fn world(&self) -> &World {
        &self.world
    }

    /// A new caller (one per thread or VP) with its own input page and virtual TSC.
    #[must_use]
    pub fn primitive(self: &Arc<Self>) -> ModelPrimitive {
        ModelPrimitive::new(Arc::clone(self))
    }

    pub(crate) fn next_caller_index(&self) -> u64 {
        self.next_caller.fetch_add(1, Ordering::Relaxed)
    }

    /// CPUID as the caller sees it in this world.
    #[must_use]
    pub fn cpuid(&self, leaf: u32) -> CpuidResult {
        crate::cpuid::leaf(&self.world, leaf)
    }

    /// Executes one hypercall issued as hvsignal issues every call (RAX =
    /// [`HYPERCALL_RAX`]) and returns RAX. `page` is the caller's input page, used only by
    /// memory-convention calls; a GPA outside it is not backed by model memory.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvcall::{HvStatus, HypercallControl, HypercallResult, SignalEventInput};
    /// use hvmodel::{Hypervisor, World};
    ///
    /// let hv = Hypervisor::new(World::builtin());
    /// let fast = HypercallControl::signal_event(true).raw(); // 0x1005D
    /// let status = |rax| HypercallResult::from_raw(rax).status();
    ///
    /// // Connection 0x2002 is port 2: base flag 16, so flag 1 is SIEF flag 17 of SINT 2.
    /// let rdx = SignalEventInput::new(0x2002, 1)?.to_rdx();
    /// assert_eq!(status(hv.hypercall(fast, rdx, 0, None)), HvStatus::SUCCESS);
    /// assert_eq!(hv.sief_flag(1, 0, 2, 17), Some(true));
    ///
    /// // No connection 0x3001; flag 16 is not below port 1's flag count (16).
    /// let rdx = SignalEventInput::new(0x3001, 0)?.to_rdx();
    /// assert_eq!(status(hv.hypercall(fast, rdx, 0, None)), HvStatus::INVALID_CONNECTION_ID);
    /// let rdx = SignalEventInput::new(0x2001, 16)?.to_rdx();
    /// assert_eq!(status(hv.hypercall(fast, rdx, 0, None)), HvStatus::INVALID_PARAMETER);
    ///
    /// // A rep count on SignalEvent (not a rep call).
    /// let rep = HypercallControl::signal_event(true).with_rep_count(1)?.raw();
    /// let rdx = SignalEventInput::new(0x2001, 0)?.to_rdx();
    /// assert_eq!(status(hv.hypercall(rep, rdx, 0, None)), HvStatus::INVALID_HYPERCALL_INPUT);
    /// assert_eq!(hv.total_calls(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hypercall(&self, rcx: u64, rdx: u64, r8: u64, page: Option<&InputPage<'_>>) -> u64 {
        self.hypercall_detailed(rcx, rdx, r8, page).rax()
    }

    /// [`Self::hypercall`], saying what happened. Side effects (the flag, the interrupt count,
    /// the statistics) are applied atomically per item: concurrent calls lose nothing.
    pub fn hypercall_detailed(
        &self,
        rcx: u64,
        rdx: u64,
        r8: u64,
        page: Option<&InputPage<'_>>,
    ) -> CallOutcome {
        self.hypercall_with_rax(HYPERCALL_RAX, rcx, rdx, r8, page)
    }

    /// One hypercall with any RAX, to show what the RAX convention decides (only the `xen`
    /// profile reads RAX, as Xen does).
    pub fn hypercall_with_rax(
        &self,
        rax: u64,
        rcx: u64,
        rdx: u64,
        r8: u64,
        page: Option<&InputPage<'_>>,
    ) -> CallOutcome {
        let decision = self.decide(rax, rcx, rdx, r8, page);
        self.apply(decision)
    }

    /// The status a call would return, without any side effect (nothing set, nothing counted).
    #[must_use]
    pub fn probe(&self, rcx: u64, rdx: u64, r8: u64, page: Option<&InputPage<'_>>) -> HvStatus {
        self.decide(HYPERCALL_RAX, rcx, rdx, r8, page).status
    }

    /// RDMSR of one of the hypercall MSRs, as the world describes them. `None` where real
    /// hardware raises #GP: no hypervisor, or the caller lacks AccessHypercallMsrs; that read
    /// is counted in [`Self::faults`].
    pub fn read_msr(&self, msr: HypercallMsr) -> Option<u64> {
        let hypervisor = self.world.hypervisor();
        if !hypervisor.present
            || !self
                .world
                .privileges()
                .has(PrivilegeMask::ACCESS_HYPERCALL_MSRS)
        {
            self.faults.fetch_add(1, Ordering::AcqRel);
            return None;
        }
        Some(match msr {
            HypercallMsr::GuestOsId => hypervisor.guest_os_id,
            HypercallMsr::Hypercall => hypervisor.hypercall_msr,
        })
    }

    /// What [`hvcall::Readiness::assess`] finds in this world: the same rule the driver applies
    /// to the real machine, over the world's CPUID and MSRs.
    #[must_use]
    pub fn readiness(&self) -> hvcall::Readiness {
        hvcall::Readiness::assess(
            |leaf| self.cpuid(leaf),
            |msr| self.read_msr(msr).unwrap_or(0),
        )
    }

    /// Instructions that would have faulted on real hardware: hypercalls the environment does
    /// not take ([`CallOutcome::faulted`]) and MSR reads that raise #GP ([`Self::read_msr`]).
    #[must_use]
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Acquire)
    }

    fn apply(&self, d: Decision) -> CallOutcome {
        // Each call counts once, under its status; the total is their sum.
        match self.status_counts.get(usize::from(d.status.code())) {
            Some(counter) => counter.fetch_add(1, Ordering::AcqRel),
            None => self.other_status_count.fetch_add(1, Ordering::AcqRel),
        };
        if d.user_exit {
            self.user_exits.fetch_add(1, Ordering::AcqRel);
        }
        if d.faulted {
            self.faults.fetch_add(1, Ordering::AcqRel);
        }
        let mut outcome = CallOutcome {
            status: d.status,
            stage: d.stage,
            user_exit: d.user_exit,
            signal: None,
            dropped: false,
            xen_hypercall: d.xen_hypercall,
            faulted: d.faulted,
        };
        let delivered = match d.effect {
            Effect::None => return outcome,
            Effect::Deliver { slot, sint, flag } => self
                .vps
                .get(slot)
                .and_then(|vp| Some((vp, sint, flag, vp.set(sint, flag)?))),
            Effect::Drop => None,
        };
        if let Some((vp, sint, flag, newly_set)) = delivered {
            outcome.signal = Some(Signal {
                partition: vp.partition,
                vp: vp.index,
                sint,
                #[allow(clippy::cast_possible_truncation, reason = "flag < 2048")]
                flag: flag as u16,
                newly_set,
            });
        } else {
            self.dropped.fetch_add(1, Ordering::AcqRel);
            outcome.dropped = true;
        }
        outcome
    }

    /// Decodes the call once and hands it to the world's profile. R8 (the output GPA) is
    /// unused: SignalEvent has no output.
    fn decide(
        &self,
        rax: u64,
        rcx: u64,
        rdx: u64,
        _r8: u64,
        page: Option<&InputPage<'_>>,
    ) -> Decision {
        if self.instruction_faults() {
            return fault();
        }
        let call = DecodedCall::new(rax, rcx, rdx, page);
        match self.world.profile() {
            Profile::Tlfs => tlfs::decide(self, &call),
            Profile::Kvm => kvm::decide(self, &call),
            Profile::Qemu => qemu::decide(self, &call),
            Profile::Openvmm => openvmm::decide(self, &call),
            Profile::Xen => xen::decide(&call),
        }
    }

    /// Whether the plain hypercall instruction faults in this world: no hypervisor (#UD), the
    /// guest OS ID not set or hypercalls not enabled (#UD, TLFS "Hypercall Interface"), or a
    /// confidential VM whose hypercalls a driver's instruction does not reach (TDX, SEV-SNP).
    fn instruction_faults(&self) -> bool {
        let hypervisor = self.world.hypervisor();
        let isolated = hypervisor
            .isolation
            .is_some_and(hvcall::IsolationConfig::reroutes_hypercalls);
        !hypervisor.present
            || hypervisor.guest_os_id == 0
            || hypervisor.hypercall_msr & hvcall::readiness::HYPERCALL_MSR_ENABLE == 0
            || isolated
    }

    /// The route of `connection_id`: `None` when the caller has no such connection or its port
    /// does not exist. The one lookup a call makes.
    fn route(&self, connection_id: u32) -> Option<&Resolved> {
        self.routes.get(&connection_id)
    }

    /// The route of `connection_id` when its port is an event port that can receive: what KVM's
    /// eventfd table, QEMU's handler list and OpenVMM's port map contain.
    fn registered_event_port(&self, connection_id: u32) -> Option<&Resolved> {
        self.route(connection_id).filter(|r| r.live)
    }

    fn vp_state(&self, partition: u64, vp: u32) -> Option<&VpState> {
        self.vp_slots
            .get(&(partition, vp))
            .and_then(|&i| self.vps.get(i))
    }

    /// The 4096-byte SIEF page of a VP (16 slots of 256 bytes).
    #[must_use]
    pub fn sief_page(&self, partition: u64, vp: u32) -> Option<[u8; PAGE_SIZE]> {
        let state = self.vp_state(partition, vp)?;
        let mut page = [0u8; PAGE_SIZE];
        for (chunk, word) in page
            .as_chunks_mut::<8>()
            .0
            .iter_mut()
            .zip(state.sief.iter())
        {
            *chunk = word.load(Ordering::Acquire).to_le_bytes();
        }
        Some(page)
    }

    /// The 256-byte slot of `sint` in a VP's SIEF page: flag `n` is byte `n / 8`, bit `n % 8`.
    #[must_use]
    pub fn sief_slot(&self, partition: u64, vp: u32, sint: u8) -> Option<[u8; SIEF_SLOT_SIZE]> {
        self.vp_state(partition, vp)?.slot(sint, false)
    }

    /// Reads and clears a slot atomically word by word, as the receiver does (TLFS: clear with
    /// a locked operation, then act). Returns the flags that were set.
    pub fn take_sief_slot(
        &self,
        partition: u64,
        vp: u32,
        sint: u8,
    ) -> Option<[u8; SIEF_SLOT_SIZE]> {
        self.vp_state(partition, vp)?.slot(sint, true)
    }

    /// Whether absolute flag `flag` (0–2047) of `sint` is set in a VP's SIEF page.
    #[must_use]
    pub fn sief_flag(&self, partition: u64, vp: u32, sint: u8, flag: u16) -> Option<bool> {
        let (word, mask) = self.vp_state(partition, vp)?.word(sint, u32::from(flag))?;
        Some(word.load(Ordering::Acquire) & mask != 0)
    }

    /// How many times `sint` of a VP was raised (0→1 flag changes).
    #[must_use]
    pub fn interrupts(&self, partition: u64, vp: u32, sint: u8) -> Option<u64> {
        self.vp_state(partition, vp)?
            .interrupts
            .get(usize::from(sint))
            .map(|c| c.load(Ordering::Acquire))
    }

    /// Interrupts raised on every VP and SINT together.
    #[must_use]
    pub fn total_interrupts(&self) -> u64 {
        self.vps
            .iter()
            .flat_map(|vp| vp.interrupts.iter())
            .map(|c| c.load(Ordering::Acquire))
            .fold(0, u64::wrapping_add)
    }

    /// How many calls returned `status`.
    #[must_use]
    pub fn calls_with_status(&self, status: HvStatus) -> u64 {
        self.status_counts
            .get(usize::from(status.code()))
            .map_or(0, |c| c.load(Ordering::Acquire))
    }

    /// Every status returned at least once, ascending, with its count.
    #[must_use]
    pub fn status_counts(&self) -> Vec<(HvStatus, u64)> {
        (0u16..)
            .zip(self.status_counts.iter())
            .map(|(code, c)| (HvStatus::from_code(code), c.load(Ordering::Acquire)))
            .filter(|(_, n)| *n != 0)
            .collect()
    }

    /// Every call made.
    #[must_use]
    pub fn total_calls(&self) -> u64 {
        self.status_counts
            .iter()
            .chain([&self.other_status_count])
            .map(|c| c.load(Ordering::Acquire))
            .fold(0, u64::wrapping_add)
    }

    /// Successful calls whose event the receiver could not take (silently dropped).
    #[must_use]
    pub fn dropped_signals(&self) -> u64 {
        self.dropped.load(Ordering::Acquire)
    }

    /// Calls the `kvm` profile handed to user space.
    #[must_use]
    pub fn user_exits(&self) -> u64 {
        self.user_exits.load(Ordering::Acquire)
    }

    /// Clears every SIEF page and counter. Not atomic as a whole: call it while no call runs.
    pub fn reset(&self) {
        let counters = self
            .status_counts
            .iter()
            .chain([&self.other_status_count, &self.dropped, &self.user_exits])
            .chain(self.vps.iter().flat_map(|vp| vp.sief.iter()))
            .chain(self.vps.iter().flat_map(|vp| vp.interrupts.iter()));
        for c in counters {
            c.store(0, Ordering::Release);
        }
    }
}

/// Resolves every connection of `world` to its port, the port's partition and target VP, once.
/// A connection whose port does not exist gets no route (INVALID_CONNECTION_ID); the world's
/// validation makes ids unique, and where they were not the last definition would win, as in a
/// map built in file order.
fn routes(world: &World, vp_slots: &HashMap<(u64, u32), usize>) -> FxHashMap<u32, Resolved> {
    let ports: HashMap<u32, &Port> = world.ports().iter().map(|p| (p.id, p)).collect();
    let partitions: HashMap<u64, _> = world.partitions().iter().map(|p| (p.id, p)).collect();
    let connections: HashMap<u32, _> = world.connections().iter().map(|c| (c.id, c)).collect();
    connections
        .into_values()
        .filter_map(|c| {
            let port = *ports.get(&c.port)?;
            let partition = partitions.get(&port.partition).copied();
            let target = partition
                .ok_or(Blocked::VpMissing)
                .and_then(|p| Ok((p.id, p.target(port.target_vp, port.sint)?.index)))
                .and_then(|key| vp_slots.get(&key).copied().ok_or(Blocked::VpMissing));
            let route = Resolved {
                live: port.is_live_event_port(partition),
                sint: port.sint,
                base_flag: port.base_flag,
                flag_count: port.flag_count,
                min_vtl: port.min_vtl,
                target,
            };
            Some((c.id, route))
        })
        .collect()
}

/// Delivery that never fails the call: the flag is set when the target can take it, otherwise
/// the event is dropped (QEMU `hyperv_set_event_flag`, OpenVMM `SynicPortMap`).
fn best_effort(route: &Resolved, flag_number: u32) -> Effect {
    let flag = u32::from(route.base_flag).saturating_add(flag_number);
    match route.target {
        Ok(slot) if flag < FLAGS_PER_SINT => Effect::Deliver {
            slot,
            sint: route.sint,
            flag,
        },
        _ => Effect::Drop,
    }
}
