//! Timing: the timed per-call loop, its cycle statistics and histogram, and the timer
//! overhead measurement; the only code that runs once per hypercall.

use hvcall::{HypercallPrimitive, HypercallResult};
use hvsignal_proto::wire::histogram_entry;
use hvsignal_proto::{
    Failure, HISTOGRAM_BUCKETS, OPTION_SAMPLES, Operation, OperationResult, histogram_bucket,
    trailing_words,
};
use zerocopy::IntoBytes;
use zerocopy::byteorder::{LittleEndian, U32};

/// A trailing region of the response as little-endian words (any alignment).
pub type Words = [U32<LittleEndian>];

/// Statistics of one operation's calls (the cycle distribution itself goes to the response's
/// trailing words, see [`Accumulator::run_into`]).
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
    /// Trailing words written: samples, or histogram entries.
    pub words: u32,
}

impl Default for Accumulator {
    fn default() -> Self {
        Self::new()
    }
}

/// The fewest cycles an empty timed region (the same timestamp pair the primitive's
/// `timed_calls` takes, with no call between) took over `pairs` tries, saturated to `u32`.
pub fn timer_overhead<P: HypercallPrimitive>(primitive: &P, pairs: u32) -> u32 {
    let mut fewest = u64::MAX;
    for _ in 0..pairs {
        let start = primitive.timestamp();
        let end = primitive.timestamp();
        fewest = fewest.min(end.saturating_sub(start));
    }
    saturate(if pairs == 0 { 0 } else { fewest })
}

/// Sorts the words ascending in place: a heapsort, so the kernel stack stays flat (no recursion,
/// unlike the standard library's quicksort) and nothing is allocated; O(n log n) for the at most
/// `HISTOGRAM_BUCKETS` words of one operation.
fn heapsort(words: &mut Words) {
    let len = words.len();
    for start in (0..len / 2).rev() {
        sift_down(words, start, len);
    }
    for end in (1..len).rev() {
        swap_words(words, 0, end);
        sift_down(words, 0, end);
    }
}

/// Swaps two words; out-of-range indices (never passed) leave the slice as it is.
fn swap_words(words: &mut Words, i: usize, j: usize) {
    let (Some(a), Some(b)) = (words.get(i).map(|w| w.get()), words.get(j).map(|w| w.get())) else {
        return;
    };
    if let Some(w) = words.get_mut(i) {
        w.set(b);
    }
    if let Some(w) = words.get_mut(j) {
        w.set(a);
    }
}

/// Restores the max-heap property below `root` within `words[..end]`.
fn sift_down(words: &mut Words, mut root: usize, end: usize) {
    let value = |words: &Words, i: usize| words.get(i).map_or(0, |w| w.get());
    loop {
        let left = root.saturating_mul(2).saturating_add(1);
        if left >= end {
            return;
        }
        let right = left.saturating_add(1);
        let child = if right < end && value(words, right) > value(words, left) {
            right
        } else {
            left
        };
        if value(words, root) >= value(words, child) {
            return;
        }
        swap_words(words, root, child);
        root = child;
    }
}

/// A cycle count as a sample word.
#[inline]
const fn saturate(cycles: u64) -> u32 {
    if cycles > u32::MAX as u64 {
        u32::MAX
    } else {
        #[allow(clippy::cast_possible_truncation, reason = "checked just above")]
        {
            cycles as u32
        }
    }
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
            words: 0,
        }
    }

    /// Counts one call that returned `rax` after `cycles` cycles ([`Self::calls`] is set by
    /// the loop, from its length, so the per-call path does not count it again).
    #[inline]
    fn record(&mut self, rax: u64, cycles: u64) {
        // Counts stay far below u32::MAX (at most MAX_CALLS_PER_REQUEST per request); wrapping
        // is only there to make the arithmetic total.
        self.successes = self.successes.wrapping_add(u32::from(
            HypercallResult::from_raw(rax).status().is_success(),
        ));
        self.last_result = rax;
        self.min = self.min.min(cycles);
        self.max = self.max.max(cycles);
        self.sum = self.sum.saturating_add(cycles);
    }

    /// Issues one call per item of `each` (a count `0..n`, or the slots its results go to),
    /// counts them, and hands every call's slot and cycles, in order, to `per_call`. A
    /// timestamp counter that goes backwards (a migrated thread on an unsynchronised TSC)
    /// counts as 0 cycles.
    #[inline]
    fn run_with<P: HypercallPrimitive, I: IntoIterator<IntoIter: ExactSizeIterator>>(
        primitive: &mut P,
        registers: (u64, u64, u64),
        each: I,
        mut per_call: impl FnMut(I::Item, u64),
    ) -> Self {
        let mut acc = Self::new();
        let mut each = each.into_iter();
        acc.calls = u32::try_from(each.len()).unwrap_or(u32::MAX);
        // The first call apart, so the loop does not test for it.
        primitive.timed_calls(registers, each.next(), |item, rax, cycles| {
            acc.first_result = rax;
            acc.record(rax, cycles);
            per_call(item, cycles);
        });
        primitive.timed_calls(registers, each, |item, rax, cycles| {
            acc.record(rax, cycles);
            per_call(item, cycles);
        });
        acc
    }

    /// Issues `repeat` calls and counts them, without keeping their distribution.
    pub fn run<P: HypercallPrimitive>(
        primitive: &mut P,
        rcx: u64,
        rdx: u64,
        r8: u64,
        repeat: u32,
    ) -> Self {
        Self::run_with(primitive, (rcx, rdx, r8), 0..repeat, |_, _| {})
    }

    /// Issues `repeat` calls, counts them and writes their distribution into `region` (the
    /// operation's trailing words, [`trailing_words`] of them): with `samples`, every call's
    /// cycle count (saturated) in call order; otherwise the histogram's non-empty buckets as
    /// ascending [`histogram_entry`] words. [`Self::words`] says how many were written.
    ///
    /// The histogram is built in `region` itself, so nothing of it lives on the stack: with
    /// at least [`HISTOGRAM_BUCKETS`] calls the region holds one counter per bucket, which is
    /// then packed in place; with fewer, each call's bucket index is stored, sorted and
    /// run-length packed in place.
    ///
    /// # Errors
    /// [`Failure::OutputTooSmall`] when `region` is shorter than the operation needs.
    pub fn run_into<P: HypercallPrimitive>(
        primitive: &mut P,
        registers: (u64, u64, u64),
        repeat: u32,
        samples: bool,
        region: &mut Words,
    ) -> Result<Self, Failure> {
        let options = if samples { OPTION_SAMPLES } else { 0 };
        let region = region
            .get_mut(..trailing_words(repeat, options))
            .ok_or(Failure::OutputTooSmall)?;
        let mut acc = if samples {
            // One slot per call: the region is exactly `repeat` words.
            Self::run_with(primitive, registers, region.iter_mut(), |word, cycles| {
                word.set(saturate(cycles));
            })
        } else if region.len() == HISTOGRAM_BUCKETS {
            for word in region.iter_mut() {
                word.set(0);
            }
            let acc = Self::run_with(primitive, registers, 0..repeat, |_, cycles| {
                if let Some(word) = region.get_mut(histogram_bucket(cycles)) {
                    word.set(word.get().wrapping_add(1));
                }
            });
            let mut packed = 0usize;
            for bucket in 0..HISTOGRAM_BUCKETS {
                let count = region.get(bucket).map_or(0, |w| w.get());
                if count != 0
                    && let Some(word) = region.get_mut(packed)
                {
                    // packed ≤ bucket: the counters not yet read are never overwritten.
                    word.set(histogram_entry(bucket, count));
                    packed = packed.saturating_add(1);
                }
            }
            Self {
                words: u32::try_from(packed).unwrap_or(u32::MAX),
                ..acc
            }
        } else {
            // One slot per call (fewer calls than buckets): each call's bucket index.
            let acc = Self::run_with(primitive, registers, region.iter_mut(), |word, cycles| {
                #[allow(clippy::cast_possible_truncation, reason = "a bucket < 2^16")]
                word.set(histogram_bucket(cycles) as u32);
            });
            heapsort(region);
            let mut packed = 0usize;
            let mut read = 0usize;
            while let Some(bucket) = region.get(read).map(|w| w.get()) {
                let mut end = read;
                while region.get(end).is_some_and(|w| w.get() == bucket) {
                    end = end.saturating_add(1);
                }
                let count = u32::try_from(end.saturating_sub(read)).unwrap_or(u32::MAX);
                if let Some(word) = region.get_mut(packed) {
                    // packed ≤ read: an entry never overwrites an index not yet read.
                    word.set(histogram_entry(bucket as usize, count));
                }
                packed = packed.saturating_add(1);
                read = end;
            }
            Self {
                words: u32::try_from(packed).unwrap_or(u32::MAX),
                ..acc
            }
        };
        if samples {
            acc.words = acc.calls;
        }
        Ok(acc)
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
            options: operation.options,
            histogram_entries: if operation.wants_samples() {
                0
            } else {
                self.words
            },
        }
    }

    /// Writes [`Self::result`] into `entry`, the operation's `OPERATION_RESULT_SIZE` bytes of
    /// the response.
    ///
    /// # Errors
    /// [`Failure::OutputTooSmall`] when `entry` is shorter than `OPERATION_RESULT_SIZE`.
    pub fn write_result(
        &self,
        operation: &Operation,
        control: u64,
        entry: &mut [u8],
    ) -> Result<(), Failure> {
        self.result(operation, control)
            .write_to_prefix(entry)
            .map_err(|_| Failure::OutputTooSmall)
    }
}
