//! Latency statistics of many hypercalls.
//!
//! Two sources, two methods (docs/CLI.md, "bench"):
//!
//! - **exact**: every call's cycle count is known (the driver sent its samples). Quantiles are
//!   order statistics by the nearest-rank rule: the q-quantile of n sorted values is the value
//!   of rank ⌈q·n⌉ (at least 1).
//! - **histogram**: only the driver's log-linear histograms (merged by adding bucket counts),
//!   the exact minimum, maximum and sum are known. The call of rank ⌈q·n⌉ is located in its
//!   bucket; the bucket's range is clamped to the exact [min, max], and the value is
//!   interpolated as if the bucket's c calls were evenly spread over it:
//!   `L + (H − L)·(2k − 1)/(2c)` for the k-th call of the bucket. A bucket is one value wide
//!   below 256 cycles and at most 1/128 of its lower bound above, so the estimate is within
//!   0.79 % of the true quantile (exact below 256 cycles), and it is monotone in q.
//!
//! min, max and mean are exact in both methods.

use hvsignal_proto::wire::{HISTOGRAM_RELATIVE_ERROR_PPM, histogram_bucket_bounds};
use hvsignal_proto::{HISTOGRAM_BUCKETS, histogram_bucket};
use serde::Serialize;

/// How the quantiles were computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Order statistics of every call's cycle count.
    Exact,
    /// Estimates from merged log-linear histograms.
    Histogram,
}

impl Method {
    /// The largest relative error of a quantile computed this way: 0 for exact, 1/128 of the
    /// value for histograms (a bucket's relative width).
    #[must_use]
    pub fn relative_error_bound(self) -> f64 {
        match self {
            Self::Exact => 0.0,
            Self::Histogram => f64::from(HISTOGRAM_RELATIVE_ERROR_PPM) / 1e6,
        }
    }
}

/// Cycle counts being collected.
#[derive(Clone, Debug)]
pub struct Collector {
    samples: Vec<u32>,
    histogram: Vec<u64>,
    calls: u64,
    min: u64,
    max: u64,
    sum: u128,
    exact: bool,
    timer_overhead: Option<u32>,
}

impl Default for Collector {
    fn default() -> Self {
        Self {
            samples: Vec::new(),
            histogram: vec![0; HISTOGRAM_BUCKETS],
            calls: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
            exact: true,
            timer_overhead: None,
        }
    }
}

/// The figures of a distribution, in cycles.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Figures {
    /// Fastest call.
    pub min: u64,
    /// 50th percentile.
    pub median: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Slowest call.
    pub max: u64,
    /// Arithmetic mean (sum / calls).
    pub mean: f64,
}

impl Figures {
    /// The same figures converted with `frequency_hz` into nanoseconds.
    #[must_use]
    #[allow(
        clippy::cast_precision_loss,
        reason = "cycle counts far below 2^52 in practice"
    )]
    pub fn nanoseconds(&self, frequency_hz: u64) -> NanosecondFigures {
        let ns = |cycles: f64| cycles * 1e9 / frequency_hz as f64;
        NanosecondFigures {
            min: ns(self.min as f64),
            median: ns(self.median as f64),
            p90: ns(self.p90 as f64),
            p99: ns(self.p99 as f64),
            max: ns(self.max as f64),
            mean: ns(self.mean),
        }
    }
}

/// Figures in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NanosecondFigures {
    /// Fastest call.
    pub min: f64,
    /// 50th percentile.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest call.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Collector {
    /// An empty collector.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one call whose cycle count is known exactly.
    pub fn add_call(&mut self, cycles: u64) {
        self.add_samples(cycles, cycles, u128::from(cycles), [saturate(cycles)]);
    }

    /// Adds a group of calls whose every cycle count is known (the driver's samples, saturated
    /// at `u32::MAX`), with their exact minimum, maximum and sum.
    pub fn add_samples(
        &mut self,
        min: u64,
        max: u64,
        sum: u128,
        samples: impl IntoIterator<Item = u32>,
    ) {
        let before = self.samples.len();
        for sample in samples {
            self.samples.push(sample);
            if let Some(slot) = self.histogram.get_mut(histogram_bucket(u64::from(sample))) {
                *slot += 1;
            }
        }
        let added = self.samples.len() - before;
        if added != 0 {
            self.add_summary(added as u64, min, max, sum);
        }
    }

    /// Adds a group of calls known only by summary: count, min, max, sum and the non-empty
    /// buckets of their histogram. Once such a group is added, the quantiles become estimates.
    pub fn add_histogram(
        &mut self,
        calls: u64,
        min: u64,
        max: u64,
        sum: u64,
        buckets: impl IntoIterator<Item = (usize, u32)>,
    ) {
        if calls == 0 {
            return;
        }
        if calls == 1 {
            self.add_call(min);
            return;
        }
        self.exact = false;
        for (bucket, count) in buckets {
            if let Some(slot) = self.histogram.get_mut(bucket) {
                *slot += u64::from(count);
            }
        }
        self.add_summary(calls, min, max, u128::from(sum));
    }

    fn add_summary(&mut self, calls: u64, min: u64, max: u64, sum: u128) {
        self.calls = self.calls.saturating_add(calls);
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        self.sum = self.sum.saturating_add(sum);
    }

    /// Records the driver's timer overhead of one request; the collector keeps the smallest.
    pub fn add_timer_overhead(&mut self, cycles: u32) {
        self.timer_overhead = Some(self.timer_overhead.map_or(cycles, |t| t.min(cycles)));
    }

    /// The fewest cycles an empty timed region took (the driver measures it per request).
    #[must_use]
    pub const fn timer_overhead(&self) -> Option<u32> {
        self.timer_overhead
    }

    /// The method the quantiles are computed with.
    #[must_use]
    pub const fn method(&self) -> Method {
        if self.exact {
            Method::Exact
        } else {
            Method::Histogram
        }
    }

    /// The figures, `None` when no call was collected.
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "a mean, rounding is fine")]
    pub fn figures(&self) -> Option<Figures> {
        if self.calls == 0 {
            return None;
        }
        let mean = self.sum as f64 / self.calls as f64;
        let quantiles: [u64; 3] = if self.exact {
            let mut sorted = self.samples.clone();
            sorted.sort_unstable();
            [500, 900, 990].map(|permille| self.exact_quantile(&sorted, permille))
        } else {
            [500, 900, 990].map(|permille| self.histogram_quantile(permille))
        };
        let [median, p90, p99] = quantiles;
        Some(Figures {
            min: self.min,
            median,
            p90,
            p99,
            max: self.max,
            mean,
        })
    }

    /// The nearest-rank quantile of the sorted samples; a saturated sample (≥ 2^32 cycles)
    /// reads as the exact maximum.
    fn exact_quantile(&self, sorted: &[u32], permille: u64) -> u64 {
        let rank = nearest_rank(sorted.len() as u64, permille);
        let index = usize::try_from(rank - 1).unwrap_or(usize::MAX);
        let value = sorted
            .get(index)
            .or_else(|| sorted.last())
            .copied()
            .unwrap_or(0);
        if value == u32::MAX {
            self.max
        } else {
            u64::from(value).clamp(self.min, self.max)
        }
    }

    /// The estimate described in the module documentation.
    fn histogram_quantile(&self, permille: u64) -> u64 {
        let rank = nearest_rank(self.calls, permille);
        let mut before = 0u64;
        for (bucket, &count) in self.histogram.iter().enumerate() {
            if count == 0 {
                continue;
            }
            if before.saturating_add(count) >= rank {
                let (lo, hi) = histogram_bucket_bounds(bucket);
                let low = lo.max(self.min);
                let high = hi.min(self.max).max(low);
                let k = u128::from(rank - before);
                let offset = u128::from(high - low) * (2 * k - 1) / (2 * u128::from(count));
                return low
                    .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX))
                    .min(high);
            }
            before = before.saturating_add(count);
        }
        self.max
    }
}

/// A cycle count as a driver sample: saturated at `u32::MAX`.
fn saturate(cycles: u64) -> u32 {
    u32::try_from(cycles).unwrap_or(u32::MAX)
}

/// ⌈n·permille/1000⌉, at least 1.
fn nearest_rank(n: u64, permille: u64) -> u64 {
    (n.saturating_mul(permille.min(1000))).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_quantiles_are_nearest_rank_order_statistics() {
        let mut c = Collector::new();
        for cycles in (1..=100u64).rev() {
            c.add_call(cycles * 10);
        }
        let f = c.figures().unwrap();
        assert_eq!(c.method(), Method::Exact);
        assert_eq!(
            (f.min, f.median, f.p90, f.p99, f.max),
            (10, 500, 900, 990, 1000)
        );
        assert!((f.mean - 505.0).abs() < 1e-9);
        assert_eq!(c.calls, 100);
    }

    #[test]
    fn one_call() {
        let mut c = Collector::new();
        c.add_call(1234);
        let f = c.figures().unwrap();
        assert_eq!(
            (f.min, f.median, f.p90, f.p99, f.max),
            (1234, 1234, 1234, 1234, 1234)
        );
        assert!(Collector::new().figures().is_none());
    }

    /// Histogram entries of `cycles` values, as the driver packs them.
    fn entries(values: &[u64]) -> Vec<(usize, u32)> {
        let mut dense = vec![0u32; HISTOGRAM_BUCKETS];
        for &v in values {
            dense[histogram_bucket(v)] += 1;
        }
        dense
            .into_iter()
            .enumerate()
            .filter(|&(_, c)| c != 0)
            .collect()
    }

    #[test]
    fn histogram_estimates_stay_in_bucket_and_in_order() {
        // 90 calls at 1500..=1589, 9 at 5000, 1 at 12000.
        let mut values: Vec<u64> = (1500..1590).collect();
        values.extend([5000; 9]);
        values.push(12_000);
        let sum: u64 = values.iter().sum();
        let mut c = Collector::new();
        c.add_histogram(100, 1500, 12_000, sum, entries(&values));
        assert_eq!(c.method(), Method::Histogram);
        let f = c.figures().unwrap();
        // median: rank 50, value 1549, in bucket [1544, 1551] (width 8 from 1024 on) that holds
        // 8 calls, the 6th of them: 1544 + 7·11/16 = 1548.
        assert_eq!(
            histogram_bucket_bounds(histogram_bucket(1549)),
            (1544, 1551)
        );
        assert_eq!(f.median, 1548);
        // p90: rank 90, the last of the 1500s (1589) → bucket [1584, 1591], 6th of its 6 calls:
        // 1584 + 7·11/12 = 1590.
        assert_eq!(f.p90, 1590);
        // p99: rank 99, a 5000 → bucket [4992, 5023], the 9th of 9: 4992 + 31·17/18 = 5021.
        assert_eq!(f.p99, 5021);
        assert_eq!((f.min, f.max), (1500, 12_000));
        assert!(f.min <= f.median && f.median <= f.p90 && f.p90 <= f.p99 && f.p99 <= f.max);
        // Each estimate within 1/128 of the exact value.
        for (estimate, exact) in [(f.median, 1549u64), (f.p90, 1589), (f.p99, 5000)] {
            assert!(
                estimate.abs_diff(exact) * 128 <= exact,
                "{estimate} vs {exact}"
            );
        }
    }

    #[test]
    fn constant_latency_gives_that_value_everywhere() {
        let mut c = Collector::new();
        c.add_histogram(10_000, 1500, 1500, 15_000_000, entries(&vec![1500; 10_000]));
        let f = c.figures().unwrap();
        assert_eq!(
            (f.min, f.median, f.p90, f.p99, f.max),
            (1500, 1500, 1500, 1500, 1500)
        );
    }

    #[test]
    fn samples_are_exact_and_a_histogram_group_makes_them_estimates() {
        let mut c = Collector::new();
        c.add_samples(100, 300, 600, [300, 100, 200]);
        assert_eq!(c.method(), Method::Exact);
        assert_eq!(c.figures().unwrap().median, 200);
        assert!(c.method().relative_error_bound().abs() < f64::EPSILON);
        c.add_histogram(2, 1000, 1000, 2000, entries(&[1000, 1000]));
        assert_eq!(c.method(), Method::Histogram);
        assert_eq!(c.calls, 5);
        let f = c.figures().unwrap();
        // Rank 3 of [100, 200, 300, 1000, 1000]: bucket 300's range clamps to 300 exactly… the
        // bucket of 300 is [300, 301], one call: its midpoint within the clamp is 300.
        assert_eq!(f.median, 300);
        assert!((c.method().relative_error_bound() - 0.007_813).abs() < 1e-12);
    }

    #[test]
    fn saturated_samples_read_as_the_exact_maximum() {
        let mut c = Collector::new();
        c.add_samples(10, 1 << 40, 10 + (1 << 40), [10, u32::MAX]);
        let f = c.figures().unwrap();
        assert_eq!((f.median, f.p99, f.max), (10, 1 << 40, 1 << 40));
    }

    #[test]
    fn the_timer_overhead_kept_is_the_smallest() {
        let mut c = Collector::new();
        assert_eq!(c.timer_overhead(), None);
        c.add_timer_overhead(30);
        c.add_timer_overhead(25);
        c.add_timer_overhead(40);
        assert_eq!(c.timer_overhead(), Some(25));
    }

    #[test]
    fn nanoseconds_use_the_frequency() {
        let f = Figures {
            min: 2400,
            median: 4800,
            p90: 4800,
            p99: 4800,
            max: 24_000,
            mean: 3600.0,
        };
        let ns = f.nanoseconds(2_400_000_000);
        assert!((ns.min - 1000.0).abs() < 1e-9);
        assert!((ns.max - 10_000.0).abs() < 1e-9);
        assert!((ns.mean - 1500.0).abs() < 1e-9);
    }
}
