//! The targets a benchmark states and checks. Each figure is printed beside its target as it is
//! checked, and [`Targets::finish`] exits the process non-zero when any was missed, so a bench
//! that regresses fails its run instead of printing a number nobody reads.
//!
//! This file names nothing but `std`: benches of crates that cannot link the harness (the
//! leaf `printlab-convert`, which the cloud depends on) include it by path.

/// The targets of one benchmark run.
pub struct Targets {
    bench: &'static str,
    checked: usize,
    missed: Vec<String>,
}

impl Targets {
    pub fn new(bench: &'static str) -> Self {
        Self {
            bench,
            checked: 0,
            missed: Vec::new(),
        }
    }

    /// `measured` must not exceed `limit` (a time, a size, a share).
    pub fn at_most(&mut self, what: &str, measured: f64, limit: f64, unit: &str) {
        self.check(what, measured, "<=", limit, unit, measured <= limit);
    }

    /// `measured` must reach at least `limit` (a rate, a speed-up).
    pub fn at_least(&mut self, what: &str, measured: f64, limit: f64, unit: &str) {
        self.check(what, measured, ">=", limit, unit, measured >= limit);
    }

    fn check(
        &mut self,
        what: &str,
        measured: f64,
        relation: &str,
        limit: f64,
        unit: &str,
        met: bool,
    ) {
        self.checked += 1;
        let line = format!(
            "{what}: {}{unit} (target {relation} {}{unit})",
            figure(measured),
            figure(limit)
        );
        if met {
            println!("target met    {line}");
        } else {
            println!("target MISSED {line}");
            self.missed.push(line);
        }
    }

    /// Prints the outcome; exits with status 1 when a target was missed (NaN never meets one).
    pub fn finish(self) {
        if self.missed.is_empty() {
            println!("{}: all {} targets met", self.bench, self.checked);
            return;
        }
        eprintln!(
            "{}: MISSED {} of {} targets:",
            self.bench,
            self.missed.len(),
            self.checked
        );
        for line in &self.missed {
            eprintln!("  {line}");
        }
        std::process::exit(1);
    }
}

/// Enough digits to read, whatever the magnitude.
fn figure(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}
