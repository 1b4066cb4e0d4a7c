//! Latencies in a log-linear histogram: exact below 64 µs, then 64 buckets per power of
//! two, so any percentile is within 1.6% of the truth and memory stays fixed whatever the
//! number of requests.

use std::time::Duration;

const SUB_BUCKETS: usize = 64;
/// Enough powers of two for an hour in microseconds.
const BUCKETS: usize = SUB_BUCKETS * 34;

#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum_us: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; BUCKETS], total: 0, sum_us: 0, max_us: 0 }
    }
}

fn index(value: u64) -> usize {
    if value < SUB_BUCKETS as u64 {
        return value as usize;
    }
    let msb = 63 - value.leading_zeros();
    let shift = msb - 6;
    ((shift as usize + 1) * SUB_BUCKETS + ((value >> shift) as usize - SUB_BUCKETS)).min(BUCKETS - 1)
}

/// The middle of a bucket, in microseconds.
fn middle(index: usize) -> f64 {
    if index < SUB_BUCKETS {
        return index as f64;
    }
    let shift = (index / SUB_BUCKETS - 1) as u32;
    let low = ((index % SUB_BUCKETS) as u64 + SUB_BUCKETS as u64) << shift;
    low as f64 + f64::from(1u32 << shift) / 2.0
}

impl Histogram {
    pub fn record(&mut self, latency: Duration) {
        let us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        self.counts[index(us)] += 1;
        self.total += 1;
        self.sum_us += us;
        self.max_us = self.max_us.max(us);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.sum_us += other.sum_us;
        self.max_us = self.max_us.max(other.max_us);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The latency under which `quantile` (0.95 for p95) of the requests fell, in milliseconds.
    pub fn percentile_ms(&self, quantile: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((quantile * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return (middle(index) / 1000.0).min(self.max_us as f64 / 1000.0);
            }
        }
        self.max_us as f64 / 1000.0
    }

    pub fn mean_ms(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.sum_us as f64 / self.total as f64 / 1000.0 }
    }

    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_in_order() {
        for value in [0u64, 1, 63, 64, 65, 127, 128, 129, 255, 256, 1000, 123_456, 3_600_000_000] {
            let i = index(value);
            assert!(
                middle(i) >= value as f64 * 0.98 && middle(i) <= value as f64 * 1.02 + 1.0,
                "{value} → bucket {i} middle {}",
                middle(i)
            );
        }
        assert!(index(1000) < index(1100));
    }

    #[test]
    fn percentiles_of_a_known_spread() {
        let mut h = Histogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let p50 = h.percentile_ms(0.50);
        let p99 = h.percentile_ms(0.99);
        assert!((49.0..=51.0).contains(&p50), "p50 {p50}");
        assert!((98.0..=100.0).contains(&p99), "p99 {p99}");
        assert_eq!(h.max_ms(), 100.0);
    }
}
