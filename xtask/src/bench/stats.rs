//! Percentiles of latency samples (milliseconds), nearest-rank.

use serde_json::{Value, json};

/// The usual figures of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// The nearest-rank percentile `p` (0–100) of ascending `sorted` samples:
/// the smallest sample with at least `p` % of the samples at or below it.
/// `NaN` when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let n = sorted.len();
    // Nearest rank: ceil(p/100 · n), at least 1. The product of two small
    // finite numbers fits a usize after `ceil`.
    let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as usize;
    sorted[rank.min(n) - 1]
}

/// Sorts a copy of `samples` and summarises it.
pub fn summarize(samples: &[f64]) -> Summary {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = if n == 0 {
        f64::NAN
    } else {
        sorted.iter().sum::<f64>() / n as f64
    };
    Summary {
        n,
        min: sorted.first().copied().unwrap_or(f64::NAN),
        p50: percentile(&sorted, 50.0),
        p90: percentile(&sorted, 90.0),
        p99: percentile(&sorted, 99.0),
        max: sorted.last().copied().unwrap_or(f64::NAN),
        mean,
    }
}

/// Element-wise `a[i] - b[i]` (paired samples of the same round).
pub fn differences(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

impl Summary {
    pub fn to_json(self) -> Value {
        json!({
            "n": self.n,
            "min_ms": round3(self.min),
            "p50_ms": round3(self.p50),
            "p90_ms": round3(self.p90),
            "p99_ms": round3(self.p99),
            "max_ms": round3(self.max),
            "mean_ms": round3(self.mean),
        })
    }
}

/// Three decimals (microseconds), `null` in JSON when not finite.
pub fn round3(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

/// Milliseconds for a table: two decimals below 10, one below 100, else none.
pub fn ms(x: f64) -> String {
    if !x.is_finite() {
        "–".to_owned()
    } else if x.abs() < 10.0 {
        format!("{x:.2}")
    } else if x.abs() < 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 50.0), 50.0);
        assert_eq!(percentile(&hundred, 90.0), 90.0);
        assert_eq!(percentile(&hundred, 99.0), 99.0);
        assert_eq!(percentile(&hundred, 100.0), 100.0);
        assert_eq!(percentile(&hundred, 0.0), 1.0);
        // Ten samples: p99 is the largest, p50 the fifth.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 50.0), 5.0);
        assert_eq!(percentile(&ten, 99.0), 10.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn summaries_sort_and_skip_non_finite_samples() {
        let s = summarize(&[3.0, 1.0, f64::NAN, 2.0, 4.0]);
        assert_eq!(s.n, 4);
        assert_eq!((s.min, s.p50, s.max), (1.0, 2.0, 4.0));
        assert_eq!(s.p99, 4.0);
        assert!((s.mean - 2.5).abs() < 1e-12);
        let empty = summarize(&[]);
        assert_eq!(empty.n, 0);
        assert!(empty.p50.is_nan() && empty.mean.is_nan());
    }

    #[test]
    fn paired_differences() {
        assert_eq!(
            differences(&[5.0, 7.0, 1.0], &[2.0, 7.5, 1.0]),
            vec![3.0, -0.5, 0.0]
        );
        // The median of differences is not the difference of medians.
        let a = [1.0, 10.0, 10.0];
        let b = [0.0, 0.0, 10.0];
        assert_eq!(summarize(&differences(&a, &b)).p50, 1.0);
        assert_eq!(summarize(&a).p50 - summarize(&b).p50, 10.0);
    }

    #[test]
    fn table_and_json_formats() {
        assert_eq!(ms(1.234), "1.23");
        assert_eq!(ms(-0.5), "-0.50");
        assert_eq!(ms(12.34), "12.3");
        assert_eq!(ms(123.4), "123");
        assert_eq!(ms(f64::NAN), "–");
        assert_eq!(round3(1.23456), json!(1.235));
        assert_eq!(round3(f64::INFINITY), Value::Null);
    }
}
