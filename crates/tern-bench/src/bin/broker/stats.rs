//! Latency histogram, percentiles and the median of per-round ratios.
//!
//! A fan-out slice delivers hundreds of thousands of messages per second, so latencies are
//! counted in buckets rather than kept: 64 buckets per power of two (values below 128 ns
//! exact, above that within 1/64 ≈ 1.6 %), 3,776 counters for the whole `u64` range.

/// Buckets per power of two, as a bit count.
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// Enough buckets for any `u64`: the top power of two has shift 57.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// Counts of nanosecond values in log-linear buckets.
#[derive(Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
        }
    }
}

/// The bucket of `v`.
fn index(v: u64) -> usize {
    let msb = 63 - (v | 1).leading_zeros();
    if msb < SUB_BITS {
        return v as usize;
    }
    let shift = msb - SUB_BITS;
    // The top SUB_BITS + 1 bits: SUB..2 * SUB.
    let mantissa = (v >> shift) as usize;
    (shift as usize + 1) * SUB + mantissa - SUB
}

/// The largest value that falls in bucket `i`.
fn highest(i: usize) -> u64 {
    if i < 2 * SUB {
        return i as u64;
    }
    let shift = (i / SUB - 1) as u32;
    let mantissa = (i % SUB + SUB) as u64;
    // (mantissa + 1) << shift would overflow for the last bucket.
    (mantissa << shift) | ((1 << shift) - 1)
}

impl Histogram {
    pub(crate) fn record(&mut self, nanos: u64) {
        self.counts[index(nanos)] += 1;
        self.total += 1;
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.total
    }

    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The value at quantile `q` (0..=1): the smallest recorded value with at least
    /// `ceil(q · n)` values at or below it, as its bucket's upper end. `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(highest(i));
            }
        }
        None
    }
}

/// The median; the mean of the middle two for an even count. `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// The ratio of `first[r]` to `other[r]` for every round where both are measured and
/// `other[r]` is not zero.
pub(crate) fn round_ratios(first: &[f64], other: &[f64]) -> Vec<f64> {
    first
        .iter()
        .zip(other)
        .filter(|&(&a, &b)| a.is_finite() && b.is_finite() && b != 0.0)
        .map(|(a, b)| a / b)
        .collect()
}

/// The median of the per-round ratios and their smallest and largest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RatioSummary {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

pub(crate) fn summarize_ratios(first: &[f64], other: &[f64]) -> Option<RatioSummary> {
    let r = round_ratios(first, other);
    Some(RatioSummary {
        median: median(&r)?,
        min: r.iter().copied().fold(f64::INFINITY, f64::min),
        max: r.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact_and_buckets_are_contiguous() {
        for v in 0..200u64 {
            let i = index(v);
            assert!(highest(i) >= v, "{v}");
            if v < 2 * SUB as u64 {
                assert_eq!(highest(i), v);
            }
        }
        // Every bucket's upper end falls in that bucket and the next value in the next one.
        for i in 0..BUCKETS - 1 {
            assert_eq!(index(highest(i)), i, "bucket {i}");
            assert_eq!(index(highest(i) + 1), i + 1, "bucket {i}");
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
        assert_eq!(highest(BUCKETS - 1), u64::MAX);
    }

    #[test]
    fn large_values_are_within_a_sixty_fourth() {
        for v in [1_000u64, 12_345, 999_999, 3_000_000_000, 1 << 50] {
            let h = highest(index(v));
            assert!(h >= v && (h - v) as f64 <= v as f64 / 64.0, "{v} -> {h}");
        }
    }

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.len(), 100);
        assert_eq!(h.quantile(0.5), Some(50));
        assert_eq!(h.quantile(0.99), Some(99));
        assert_eq!(h.quantile(1.0), Some(100));
        assert_eq!(h.quantile(0.0), Some(1));
        assert_eq!(h.quantile(0.505), Some(51));
    }

    #[test]
    fn a_tail_shows_in_p99_only() {
        let mut h = Histogram::default();
        for _ in 0..990 {
            h.record(100_000);
        }
        for _ in 0..10 {
            h.record(50_000_000);
        }
        let p50 = h.quantile(0.5).unwrap();
        let p99 = h.quantile(0.99).unwrap();
        let p999 = h.quantile(0.999).unwrap();
        assert!((100_000..101_600).contains(&p50), "{p50}");
        assert_eq!(p99, p50, "the 990th of 1,000 values is still fast");
        assert!((50_000_000..50_800_000).contains(&p999), "{p999}");
    }

    #[test]
    fn merged_histograms_count_both() {
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        a.record(10);
        b.record(30);
        b.record(20);
        a.merge(&b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.quantile(0.5), Some(20));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 7.0]), Some(7.0));
    }

    #[test]
    fn median_of_ratios_is_not_ratio_of_totals() {
        // One slow stretch (round 3) halves the first broker's rate; the median ignores it,
        // the ratio of totals would not.
        let first = [200.0, 210.0, 100.0, 205.0, 198.0];
        let other = [100.0, 100.0, 100.0, 100.0, 100.0];
        let s = summarize_ratios(&first, &other).unwrap();
        assert_eq!(s.median, 2.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 2.1);
        let totals = first.iter().sum::<f64>() / other.iter().sum::<f64>();
        assert!(totals < s.median);
    }

    #[test]
    fn rounds_without_a_measure_are_left_out() {
        let r = round_ratios(&[10.0, 10.0, f64::NAN], &[5.0, 0.0, 1.0]);
        assert_eq!(r, vec![2.0]);
        assert_eq!(summarize_ratios(&[1.0], &[0.0]), None);
    }
}
