//! The per-call loop and its statistics: the only code that runs once per hypercall.

use core::mem::offset_of;

use hvcall::{HypercallPrimitive, HypercallResult};
use hvsignal_proto::wire::OPERATION_RESULT_SIZE;
use hvsignal_proto::{Failure, HISTOGRAM_BUCKETS, Operation, OperationResult, histogram_bucket};
use zerocopy::{FromZeros, IntoBytes};

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
    /// calls the cycle fields are 0. (User-mode and test convenience: the driver writes the
    /// same bytes straight into the response with [`Self::write_result`].)
    #[must_use]
    pub fn result(&self, operation: &Operation, control: u64) -> OperationResult {
        let mut result = OperationResult::new_zeroed();
        // An `OperationResult` is exactly `OPERATION_RESULT_SIZE` bytes, so this cannot fail.
        let _ = self.write_result(operation, control, result.as_mut_bytes());
        result
    }

    /// Writes the wire result of `operation`, issued with `control`, into `entry` (the
    /// operation's `OPERATION_RESULT_SIZE` bytes of the response): every byte, field by field
    /// at the offsets of [`OperationResult`], so no 336-byte result is built on the kernel stack.
    ///
    /// # Errors
    /// [`Failure::OutputTooSmall`] when `entry` is shorter than `OPERATION_RESULT_SIZE`.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "status is the low 16 bits of RAX on purpose"
    )]
    pub fn write_result(
        &self,
        operation: &Operation,
        control: u64,
        entry: &mut [u8],
    ) -> Result<(), Failure> {
        let entry = entry
            .get_mut(..OPERATION_RESULT_SIZE)
            .ok_or(Failure::OutputTooSmall)?;
        entry.fill(0);
        let mut put = |offset: usize, bytes: &[u8]| {
            if let Some(to) = entry.get_mut(offset..offset.saturating_add(bytes.len())) {
                to.copy_from_slice(bytes);
            }
        };
        put(
            offset_of!(OperationResult, connection_id),
            &operation.connection_id.to_le_bytes(),
        );
        put(
            offset_of!(OperationResult, flag_number),
            &operation.flag_number.to_le_bytes(),
        );
        put(
            offset_of!(OperationResult, rsvd_z),
            &operation.rsvd_z.to_le_bytes(),
        );
        put(offset_of!(OperationResult, control), &control.to_le_bytes());
        put(
            offset_of!(OperationResult, calls),
            &self.calls.to_le_bytes(),
        );
        put(
            offset_of!(OperationResult, successes),
            &self.successes.to_le_bytes(),
        );
        let failures = self.calls.saturating_sub(self.successes);
        put(
            offset_of!(OperationResult, failures),
            &failures.to_le_bytes(),
        );
        let first_status = self.first_result as u16;
        put(
            offset_of!(OperationResult, first_status),
            &first_status.to_le_bytes(),
        );
        let last_status = self.last_result as u16;
        put(
            offset_of!(OperationResult, last_status),
            &last_status.to_le_bytes(),
        );
        put(
            offset_of!(OperationResult, first_result),
            &self.first_result.to_le_bytes(),
        );
        put(
            offset_of!(OperationResult, last_result),
            &self.last_result.to_le_bytes(),
        );
        let min = if self.calls == 0 { 0 } else { self.min };
        put(offset_of!(OperationResult, cycles_min), &min.to_le_bytes());
        put(
            offset_of!(OperationResult, cycles_max),
            &self.max.to_le_bytes(),
        );
        put(
            offset_of!(OperationResult, cycles_sum),
            &self.sum.to_le_bytes(),
        );
        put(
            offset_of!(OperationResult, input_offset),
            &operation.input_offset.to_le_bytes(),
        );
        put(
            offset_of!(OperationResult, histogram),
            self.histogram.as_bytes(),
        );
        Ok(())
    }
}
