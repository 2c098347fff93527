//! Results as a small Markdown table on stdout and as JSON under
//! `target/bench/<name>.json`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency recorded, in microseconds (one minute).
const MAX_MICROS: u64 = 60_000_000;

/// A latency distribution, recorded in microseconds.
#[derive(Clone)]
pub struct Recorder {
    histogram: Histogram<u64>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Recorder").field(&self.summary()).finish()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .expect("static histogram bounds are valid"),
        }
    }

    /// Record one sample (clamped to 1 µs .. 60 s).
    pub fn record(&mut self, sample: Duration) {
        let micros = u64::try_from(sample.as_micros()).unwrap_or(MAX_MICROS);
        self.histogram
            .saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// Add every sample of `other`.
    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides: cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    pub fn summary(&self) -> Latency {
        let h = &self.histogram;
        Latency {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
            mean_us: h.mean(),
        }
    }
}

/// Percentiles of a latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

impl Latency {
    /// Whether the percentiles are in order (p50 <= p90 <= p99 <= max).
    pub fn ordered(&self) -> bool {
        self.p50_us <= self.p90_us && self.p90_us <= self.p99_us && self.p99_us <= self.max_us
    }
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The median of `values` (the mean of the middle two for an even count),
/// or 0 when there are none.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Milliseconds with two decimals, from microseconds.
pub fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1_000.0)
}

/// A rate with no decimals and thousands separated by a thin space.
pub fn rate(per_second: f64) -> String {
    let whole = per_second.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A Markdown table.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    pub fn markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut out = line(&self.header);
        out.push_str(&line(&vec!["---".to_string(); self.header.len()]));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// What the numbers were measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPUs this process may use.
    pub cpus: usize,
    /// `/proc/loadavg`'s 1, 5 and 15 minute load averages, where there is one.
    pub load_average: Option<[f64; 3]>,
}

impl Machine {
    pub fn now() -> Self {
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| {
                let mut fields = text.split_whitespace().map(str::parse::<f64>);
                match (fields.next(), fields.next(), fields.next()) {
                    (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => Some([a, b, c]),
                    _ => None,
                }
            });
        Self {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            load_average,
        }
    }

    /// `2 CPUs, load average 0.52 0.80 1.01`
    pub fn describe(&self) -> String {
        match self.load_average {
            Some([a, b, c]) => format!("{} CPUs, load average {a:.2} {b:.2} {c:.2}", self.cpus),
            None => format!("{} CPUs", self.cpus),
        }
    }
}

/// Where results go: `$CARGO_TARGET_DIR/bench`, else the workspace's
/// `target/bench`.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("bench"),
        _ => {
            let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
            // crates/bench -> the workspace root.
            let root = crate_dir.ancestors().nth(2).unwrap_or(crate_dir);
            root.join("target").join("bench")
        }
    }
}

/// Write `value` as pretty JSON to `dir/<name>.json`; returns the path.
pub fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(value)?)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_grouped_by_thousands() {
        assert_eq!(rate(0.4), "0");
        assert_eq!(rate(999.0), "999");
        assert_eq!(rate(12_345.6), "12 346");
        assert_eq!(rate(1_234_567.0), "1 234 567");
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn tables_are_markdown() {
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["1".into(), "2".into()]);
        assert_eq!(t.markdown(), "| a | b |\n| --- | --- |\n| 1 | 2 |\n");
    }

    #[test]
    fn percentiles_come_out_in_order() {
        let mut r = Recorder::new();
        for i in 1..=1_000 {
            r.record(Duration::from_micros(i));
        }
        let s = r.summary();
        assert_eq!(s.count, 1_000);
        assert!(s.ordered());
        assert!((499..=501).contains(&s.p50_us), "{s:?}");
    }
}
