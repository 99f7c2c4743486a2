//! The per-call loop and its statistics: the only code that runs once per hypercall.

use hvcall::{HypercallPrimitive, HypercallResult};
use hvsignal_proto::{HISTOGRAM_BUCKETS, Operation, OperationResult, histogram_bucket};

/// Statistics of one operation's calls.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Accumulator {
    /// Calls issued.
    pub calls: u32,
    /// Calls whose status was `HV_STATUS_SUCCESS`.
    pub successes: u32,
    /// RAX of the first call.
    pub first_result: u64,
    /// RAX of the last call.
    pub last_result: u64,
    /// Fewest cycles.
    pub min: u64,
    /// Most cycles.
    pub max: u64,
    /// Sum of cycles, saturating.
    pub sum: u64,
    /// log2 histogram of cycles (see [`histogram_bucket`]).
    pub histogram: [u32; HISTOGRAM_BUCKETS],
}

impl Default for Accumulator {
    fn default() -> Self {
        Self::new()
    }
}

/// Issues one call and returns RAX and the cycles it took. A timestamp counter that goes
/// backwards (a migrated thread on an unsynchronised TSC) counts as 0 cycles.
#[inline]
fn timed_call<P: HypercallPrimitive>(primitive: &mut P, rcx: u64, rdx: u64, r8: u64) -> (u64, u64) {
    let start = primitive.timestamp();
    let rax = primitive.hypercall(rcx, rdx, r8);
    let end = primitive.timestamp();
    (rax, end.saturating_sub(start))
}

impl Accumulator {
    /// No calls yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            calls: 0,
            successes: 0,
            first_result: 0,
            last_result: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
            histogram: [0; HISTOGRAM_BUCKETS],
        }
    }

    /// Counts one call that returned `rax` after `cycles` cycles.
    #[inline]
    pub fn record(&mut self, rax: u64, cycles: u64) {
        // Counts stay far below u32::MAX (at most MAX_CALLS_PER_REQUEST per request); wrapping
        // is only there to make the arithmetic total.
        self.calls = self.calls.wrapping_add(1);
        self.successes = self.successes.wrapping_add(u32::from(
            HypercallResult::from_raw(rax).status().is_success(),
        ));
        self.last_result = rax;
        self.min = self.min.min(cycles);
        self.max = self.max.max(cycles);
        self.sum = self.sum.saturating_add(cycles);
        // `histogram_bucket` is 0..=63; the mask lets the compiler drop the bounds check.
        if let Some(slot) = self.histogram.get_mut(histogram_bucket(cycles) & 63) {
            *slot = slot.wrapping_add(1);
        }
    }

    /// Issues `repeat` calls of (`rcx`, `rdx`, `r8`) and counts them. `repeat` 0 issues nothing.
    pub fn run<P: HypercallPrimitive>(
        primitive: &mut P,
        rcx: u64,
        rdx: u64,
        r8: u64,
        repeat: u32,
    ) -> Self {
        let mut acc = Self::new();
        if repeat == 0 {
            return acc;
        }
        let (rax, cycles) = timed_call(primitive, rcx, rdx, r8);
        acc.first_result = rax;
        acc.record(rax, cycles);
        for _ in 1..repeat {
            let (rax, cycles) = timed_call(primitive, rcx, rdx, r8);
            acc.record(rax, cycles);
        }
        acc
    }

    /// The wire result of `operation`, issued with `control`. Every field is written; with no
    /// calls the cycle fields are 0.
    #[must_use]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "status is the low 16 bits of RAX on purpose"
    )]
    pub fn result(&self, operation: &Operation, control: u64) -> OperationResult {
        OperationResult {
            connection_id: operation.connection_id,
            flag_number: operation.flag_number,
            rsvd_z: operation.rsvd_z,
            control,
            calls: self.calls,
            successes: self.successes,
            failures: self.calls.saturating_sub(self.successes),
            first_status: self.first_result as u16,
            last_status: self.last_result as u16,
            first_result: self.first_result,
            last_result: self.last_result,
            cycles_min: if self.calls == 0 { 0 } else { self.min },
            cycles_max: self.max,
            cycles_sum: self.sum,
            input_offset: operation.input_offset,
            reserved0: 0,
            reserved1: 0,
            histogram: self.histogram,
        }
    }
}
