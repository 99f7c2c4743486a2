//! The per-caller handle implementing [`hvcall::HypercallPrimitive`] over the model.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hvcall::{CpuidResult, HypercallPrimitive, InputPage, PAGE_SIZE};

use crate::hypervisor::{CallOutcome, Hypervisor, Stage};

/// GPA of the first caller's input page; caller `n` gets `INPUT_PAGE_BASE_GPA + n * 4096`.
pub const INPUT_PAGE_BASE_GPA: u64 = 0x0010_0000;
/// Callers beyond this many reuse page GPAs (GPAs stay below 2^52).
const GPA_SLOTS: u64 = 1 << 30;

/// One caller (a thread or VP) of the model: issues hypercalls, answers CPUID from the world,
/// owns a 4096-byte input page at a distinct page-aligned GPA and a deterministic **simulated**
/// TSC that advances by the modelled cost of each call (`docs/MODEL.md`, "Timing").
pub struct ModelPrimitive {
    hv: Arc<Hypervisor>,
    index: u64,
    page: Box<[u8; PAGE_SIZE]>,
    gpa: u64,
    tsc: AtomicU64,
    rng: u64,
    last: Option<CallOutcome>,
}

impl std::fmt::Debug for ModelPrimitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelPrimitive")
            .field("index", &self.index)
            .field("gpa", &format_args!("{:#x}", self.gpa))
            .field("tsc", &self.tsc.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl ModelPrimitive {
    /// A new caller of `hv`. Callers are numbered in creation order; the number decides the
    /// input page GPA and seeds the jitter generator.
    #[must_use]
    pub fn new(hv: Arc<Hypervisor>) -> Self {
        let index = hv.next_caller_index();
        let timing = *hv.world().timing();
        Self {
            gpa: INPUT_PAGE_BASE_GPA
                .saturating_add((index % GPA_SLOTS).saturating_mul(PAGE_SIZE as u64)),
            index,
            page: Box::new([0u8; PAGE_SIZE]),
            tsc: AtomicU64::new(timing.tsc_start),
            rng: timing.seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
            hv,
            last: None,
        }
    }

    /// The hypervisor this caller talks to.
    #[must_use]
    pub fn hypervisor(&self) -> &Arc<Hypervisor> {
        &self.hv
    }

    /// The caller's number (creation order, from 0).
    #[must_use]
    pub fn caller_index(&self) -> u64 {
        self.index
    }

    /// The GPA of this caller's input page.
    #[must_use]
    pub fn input_page_gpa(&self) -> u64 {
        self.gpa
    }

    /// What the model decided for this caller's last hypercall.
    #[must_use]
    pub fn last_outcome(&self) -> Option<CallOutcome> {
        self.last
    }

    /// The virtual TSC now, without advancing it.
    #[must_use]
    pub fn peek_tsc(&self) -> u64 {
        self.tsc.load(Ordering::Relaxed)
    }

    /// The next SplitMix64 output.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(crate::splitmix64::GAMMA);
        crate::splitmix64::mix(self.rng)
    }

    /// The modelled cost of a call with this outcome, in cycles.
    fn cost(&mut self, outcome: &CallOutcome) -> u64 {
        // One number per call, whatever the outcome.
        let r = self.next_random();
        let t = self.hv.world().timing();
        let mut cycles = match outcome.stage {
            Stage::Decode => t.decode_error_cycles,
            Stage::Lookup => t.lookup_error_cycles,
            Stage::Signalled => t.success_cycles,
        };
        if outcome.signal.is_some_and(|s| s.newly_set) {
            cycles = cycles.saturating_add(t.interrupt_cycles);
        }
        if outcome.user_exit {
            cycles = cycles.saturating_add(t.user_exit_cycles);
        }
        let jitter = match t.jitter_cycles.checked_add(1) {
            Some(span) => r.checked_rem(span).unwrap_or(r),
            None => r,
        };
        cycles = cycles.saturating_add(jitter);
        if t.outlier_one_in != 0 && (r >> 32).is_multiple_of(u64::from(t.outlier_one_in)) {
            cycles = cycles.saturating_add(t.outlier_cycles);
        }
        cycles
    }
}

impl HypercallPrimitive for ModelPrimitive {
    fn hypercall(&mut self, rcx: u64, rdx: u64, r8: u64) -> u64 {
        let outcome = self.hv.hypercall_detailed(
            rcx,
            rdx,
            r8,
            Some(&InputPage {
                bytes: &mut self.page,
                gpa: self.gpa,
            }),
        );
        let cost = self.cost(&outcome);
        // `&mut self`: no other reference can read or advance the counter meanwhile, so a
        // plain add does what `fetch_add` (wrapping) did, without a locked instruction.
        let tsc = self.tsc.get_mut();
        *tsc = tsc.wrapping_add(cost);
        self.last = Some(outcome);
        outcome.rax()
    }

    fn cpuid(&self, leaf: u32) -> CpuidResult {
        self.hv.cpuid(leaf)
    }

    /// Returns the simulated TSC, then advances it by `[timing] timestamp_cycles`.
    fn timestamp(&self) -> u64 {
        let cost = self.hv.world().timing().timestamp_cycles;
        self.tsc.fetch_add(cost, Ordering::Relaxed)
    }

    fn input_page(&mut self) -> Option<InputPage<'_>> {
        Some(InputPage {
            bytes: &mut self.page,
            gpa: self.gpa,
        })
    }

    fn tsc_frequency_hz(&self) -> Option<u64> {
        self.hv.world().tsc_frequency_hz()
    }
}
