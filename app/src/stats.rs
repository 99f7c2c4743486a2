//! Latency statistics of many hypercalls.
//!
//! Two sources, two methods (docs/CLI.md, "bench"):
//!
//! - **exact**: every call's cycle count is known (one call per operation, so an operation's
//!   `cycles_min` is that call's count). Quantiles are order statistics by the nearest-rank
//!   rule: the q-quantile of n sorted values is the value of rank ⌈q·n⌉ (at least 1).
//! - **histogram**: only the driver's log2 histograms (merged by adding bucket counts), the
//!   exact minimum, maximum and sum are known. The call of rank ⌈q·n⌉ is located in its bucket;
//!   the bucket's range [2^b, 2^(b+1)−1] (bucket 0: [0, 1]) is clamped to the exact [min, max],
//!   and the value is interpolated as if the bucket's c calls were evenly spread over it:
//!   `L + (H − L)·(2k − 1)/(2c)` for the k-th call of the bucket. The estimate always lies in
//!   the right bucket, so it is within a factor of 2 of the true value, and it is monotone in q
//!   (min ≤ median ≤ p90 ≤ p99 ≤ max always holds).
//!
//! min, max and mean are exact in both methods.

use hvsignal_proto::HISTOGRAM_BUCKETS;
use serde::Serialize;

/// How the quantiles were computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Order statistics of every call's cycle count.
    Exact,
    /// Estimates from merged log2 histograms.
    Histogram,
}

/// Cycle counts being collected.
#[derive(Clone, Debug)]
pub struct Collector {
    samples: Vec<u64>,
    histogram: [u64; HISTOGRAM_BUCKETS],
    calls: u64,
    min: u64,
    max: u64,
    sum: u128,
    exact: bool,
}

impl Default for Collector {
    fn default() -> Self {
        Self {
            samples: Vec::new(),
            histogram: [0; HISTOGRAM_BUCKETS],
            calls: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
            exact: true,
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
        self.samples.push(cycles);
        self.add_summary(1, cycles, cycles, u128::from(cycles), &bucket_of(cycles));
    }

    /// Adds a group of calls known only by summary: count, min, max, sum and histogram.
    /// Once a group of more than one call is added, the quantiles become estimates.
    pub fn add_group(
        &mut self,
        calls: u64,
        min: u64,
        max: u64,
        sum: u64,
        histogram: &[u32; HISTOGRAM_BUCKETS],
    ) {
        if calls == 0 {
            return;
        }
        if calls == 1 {
            self.add_call(min);
            return;
        }
        self.exact = false;
        let wide: Vec<u64> = histogram.iter().map(|&c| u64::from(c)).collect();
        let mut buckets = [0u64; HISTOGRAM_BUCKETS];
        for (slot, count) in buckets.iter_mut().zip(wide) {
            *slot = count;
        }
        self.add_summary(calls, min, max, u128::from(sum), &buckets);
    }

    fn add_summary(
        &mut self,
        calls: u64,
        min: u64,
        max: u64,
        sum: u128,
        buckets: &[u64; HISTOGRAM_BUCKETS],
    ) {
        self.calls = self.calls.saturating_add(calls);
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        self.sum = self.sum.saturating_add(sum);
        for (total, &count) in self.histogram.iter_mut().zip(buckets) {
            *total = total.saturating_add(count);
        }
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
        let quantile = |permille: u64| -> u64 {
            if self.exact {
                let mut sorted = self.samples.clone();
                sorted.sort_unstable();
                exact_quantile(&sorted, permille)
            } else {
                self.histogram_quantile(permille)
            }
        };
        Some(Figures {
            min: self.min,
            median: quantile(500),
            p90: quantile(900),
            p99: quantile(990),
            max: self.max,
            mean,
        })
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
                let (lo, hi) = hvsignal_proto::wire::histogram_bucket_bounds(bucket);
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

/// ⌈n·permille/1000⌉, at least 1.
fn nearest_rank(n: u64, permille: u64) -> u64 {
    (n.saturating_mul(permille.min(1000))).div_ceil(1000).max(1)
}

/// The nearest-rank quantile of sorted, non-empty values.
fn exact_quantile(sorted: &[u64], permille: u64) -> u64 {
    let rank = nearest_rank(sorted.len() as u64, permille);
    let index = usize::try_from(rank - 1).unwrap_or(usize::MAX);
    sorted
        .get(index)
        .or_else(|| sorted.last())
        .copied()
        .unwrap_or(0)
}

fn bucket_of(cycles: u64) -> [u64; HISTOGRAM_BUCKETS] {
    let mut buckets = [0u64; HISTOGRAM_BUCKETS];
    if let Some(slot) = buckets.get_mut(hvsignal_proto::histogram_bucket(cycles)) {
        *slot = 1;
    }
    buckets
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

    #[test]
    fn histogram_estimates_stay_in_bucket_and_in_order() {
        let mut h = [0u32; HISTOGRAM_BUCKETS];
        h[10] = 90; // 1024..=2047
        h[12] = 9; // 4096..=8191
        h[13] = 1; // 8192..=16383
        let mut c = Collector::new();
        c.add_group(100, 1200, 12_000, 200_000, &h);
        assert_eq!(c.method(), Method::Histogram);
        let f = c.figures().unwrap();
        // median: rank 50 of 90 in [1200, 2047] -> 1200 + 847*99/180 = 1665.
        assert_eq!(f.median, 1665);
        // p90: rank 90, the last of bucket 10 -> 1200 + 847*179/180 = 2042.
        assert_eq!(f.p90, 2042);
        // p99: rank 99, the 9th of 9 in [4096, 8191] -> 4096 + 4095*17/18 = 7963.
        assert_eq!(f.p99, 7963);
        assert_eq!((f.min, f.max), (1200, 12_000));
        assert!(f.min <= f.median && f.median <= f.p90 && f.p90 <= f.p99 && f.p99 <= f.max);
        assert!((f.mean - 2000.0).abs() < 1e-9);
    }

    #[test]
    fn constant_latency_gives_that_value_everywhere() {
        let mut h = [0u32; HISTOGRAM_BUCKETS];
        h[10] = 10_000;
        let mut c = Collector::new();
        c.add_group(10_000, 1500, 1500, 15_000_000, &h);
        let f = c.figures().unwrap();
        assert_eq!(
            (f.min, f.median, f.p90, f.p99, f.max),
            (1500, 1500, 1500, 1500, 1500)
        );
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
