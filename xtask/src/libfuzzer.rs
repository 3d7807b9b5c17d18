//! Reading libFuzzer's stderr: the final `Done N runs in S second(s)` line, the
//! `stat::` lines that `-print_final_stats=1` adds, status lines (`#N DONE cov: .. corp: ..`)
//! and where a crash artifact was written. Pure functions, so the summary logic is testable
//! without a fuzzer.

/// What one fuzzing run reported. Every field is optional because a run that crashes, or fails
/// to build, prints only some of these lines.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FuzzStats {
    /// From `Done N runs in S second(s)`.
    pub(crate) done_runs: Option<u64>,
    /// From `Done N runs in S second(s)`.
    pub(crate) done_seconds: Option<u64>,
    /// `stat::number_of_executed_units`; also printed after a crash, unlike `Done`.
    pub(crate) executed_units: Option<u64>,
    /// `stat::average_exec_per_sec`.
    pub(crate) average_exec_per_sec: Option<u64>,
    /// `stat::new_units_added`.
    pub(crate) new_units: Option<u64>,
    /// `stat::peak_rss_mb`.
    pub(crate) peak_rss_mb: Option<u64>,
    /// `corp: N/..` of the latest status line: the in-memory corpus size.
    pub(crate) corpus_entries: Option<u64>,
    /// `Test unit written to PATH` for a crash, timeout, OOM or leak (not for slow units,
    /// which libFuzzer also writes out but which do not stop the run).
    pub(crate) artifact: Option<String>,
}

impl FuzzStats {
    /// Parses a whole captured output.
    #[cfg(test)]
    pub(crate) fn from_output(text: &str) -> Self {
        let mut stats = Self::default();
        for line in text.lines() {
            stats.observe(line);
        }
        stats
    }

    /// Updates the stats from one line of libFuzzer (or cargo-fuzz) output; other lines are
    /// ignored, so the caller can feed it everything the child prints.
    pub(crate) fn observe(&mut self, line: &str) {
        let line = line.trim_end();
        if let Some((runs, seconds)) = parse_done_line(line) {
            self.done_runs = Some(runs);
            self.done_seconds = Some(seconds);
        } else if let Some((key, value)) = parse_stat_line(line) {
            match key {
                "number_of_executed_units" => self.executed_units = Some(value),
                "average_exec_per_sec" => self.average_exec_per_sec = Some(value),
                "new_units_added" => self.new_units = Some(value),
                "peak_rss_mb" => self.peak_rss_mb = Some(value),
                _ => {}
            }
        } else if let Some(corpus) = parse_status_corpus(line) {
            self.corpus_entries = Some(corpus);
        } else if let Some(path) = parse_artifact(line) {
            self.artifact = Some(path.to_owned());
        }
    }

    /// Executions: the `Done` count, or the `stat::` count when the run ended in a crash.
    pub(crate) fn runs(&self) -> Option<u64> {
        self.done_runs.or(self.executed_units)
    }

    /// Executions per second over the whole run. libFuzzer's own average is preferred when
    /// `Done` reports 0 seconds (integer seconds make short runs meaningless to divide).
    pub(crate) fn exec_per_sec(&self) -> Option<u64> {
        match (self.done_runs, self.done_seconds) {
            (Some(runs), Some(secs)) if secs > 0 => Some(runs / secs),
            _ => self.average_exec_per_sec,
        }
    }
}

/// `Done 2811503 runs in 21 second(s)` → `(2811503, 21)`.
pub(crate) fn parse_done_line(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("Done ")?;
    let (runs, rest) = rest.split_once(" runs in ")?;
    let seconds = rest.strip_suffix(" second(s)")?;
    Some((runs.parse().ok()?, seconds.parse().ok()?))
}

/// `stat::average_exec_per_sec:     133881` → `("average_exec_per_sec", 133881)`.
pub(crate) fn parse_stat_line(line: &str) -> Option<(&str, u64)> {
    let rest = line.trim().strip_prefix("stat::")?;
    let (key, value) = rest.split_once(':')?;
    Some((key.trim(), value.trim().parse().ok()?))
}

/// The `N` of `corp: N/SIZE` in a status line such as
/// `#2811503\tDONE   cov: 53 ft: 101 corp: 24/612b lim: 4096 exec/s: 140575 rss: 47Mb`.
fn parse_status_corpus(line: &str) -> Option<u64> {
    if !line.starts_with('#') {
        return None;
    }
    let mut words = line.split_whitespace();
    words.find(|w| *w == "corp:")?;
    let (count, _size) = words.next()?.split_once('/')?;
    count.parse().ok()
}

/// The path of `artifact_prefix='..'; Test unit written to PATH`, unless it is a slow unit.
fn parse_artifact(line: &str) -> Option<&str> {
    let (_, path) = line.split_once("Test unit written to ")?;
    let path = path.trim();
    let file = path.rsplit('/').next().unwrap_or(path);
    if file.starts_with("slow-unit-") {
        None
    } else {
        Some(path)
    }
}

/// One line of the summary table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SummaryRow {
    /// Fuzz target name.
    pub(crate) target: String,
    /// `ok`, `CRASH`, `FAILED`...
    pub(crate) result: String,
    /// What libFuzzer reported.
    pub(crate) stats: FuzzStats,
    /// Files in `fuzz/corpus/<target>` after the run.
    pub(crate) corpus_files: Option<u64>,
}

/// Renders the rows as an aligned text table; missing numbers show as `-`.
pub(crate) fn summary_table(rows: &[SummaryRow]) -> String {
    let header = [
        "target",
        "result",
        "executions",
        "seconds",
        "exec/s",
        "corpus",
        "new",
    ];
    let show = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for row in rows {
        table.push(vec![
            row.target.clone(),
            row.result.clone(),
            show(row.stats.runs()),
            show(row.stats.done_seconds),
            show(row.stats.exec_per_sec()),
            show(row.corpus_files.or(row.stats.corpus_entries)),
            show(row.stats.new_units),
        ]);
    }
    let mut widths = vec![0; header.len()];
    for line in &table {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    for line in &table {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            // Names left-aligned, numbers right-aligned.
            .map(|(i, (cell, w))| {
                if i < 2 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN_RUN: &str = "\
INFO: Running with entropic power schedule (0xFF, 100).
INFO: Seed: 3190237617
INFO: Loaded 1 modules   (1855 inline 8-bit counters): 1855 [0x55d1, 0x55d8),
INFO:       12 files found in /repo/fuzz/corpus/decode
INFO: seed corpus: files: 12 min: 2b max: 270b total: 1022b rss: 31Mb
#13\tINITED cov: 210 ft: 356 corp: 11/960b exec/s: 0 rss: 32Mb
#21\tNEW    cov: 211 ft: 357 corp: 12/1001b lim: 270 exec/s: 0 rss: 32Mb L: 41/270 MS: 3 ChangeBit-
#1048576\tpulse  cov: 260 ft: 700 corp: 80/6Kb lim: 4096 exec/s: 52428 rss: 60Mb
#1201733\tDONE   cov: 262 ft: 712 corp: 83/6512b lim: 4096 exec/s: 57225 rss: 61Mb
Done 1201733 runs in 21 second(s)
stat::number_of_executed_units: 1201733
stat::average_exec_per_sec:     57225
stat::new_units_added:          75
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              61
";

    const CRASH_RUN: &str = "\
#2\tINITED cov: 5 ft: 5 corp: 1/1b exec/s: 0 rss: 30Mb
thread '<unnamed>' panicked at src/lib.rs:3:9:
boom
==1234== ERROR: libFuzzer: deadly signal
MS: 1 InsertByte-; base unit: adc83b19e793491b1c6ea0fd8b46cd9f32e592fc
0x61,
a
artifact_prefix='/repo/fuzz/artifacts/decode/'; Test unit written to /repo/fuzz/artifacts/decode/crash-86f7e437faa5a7fce15d1ddcb9eaeaea377667b8
Base64: YQ==
stat::number_of_executed_units: 47
stat::average_exec_per_sec:     0
stat::new_units_added:          1
stat::slowest_unit_time_sec:    0
stat::peak_rss_mb:              30
";

    #[test]
    fn done_line() {
        assert_eq!(
            parse_done_line("Done 1201733 runs in 21 second(s)"),
            Some((1_201_733, 21))
        );
        assert_eq!(
            parse_done_line("Done 0 runs in 0 second(s)\r"),
            Some((0, 0))
        );
        assert_eq!(parse_done_line("Done 12 runs in 1 seconds"), None);
        assert_eq!(parse_done_line("Done x runs in 1 second(s)"), None);
        assert_eq!(parse_done_line("    Finished `release` profile"), None);
    }

    #[test]
    fn stat_lines() {
        assert_eq!(
            parse_stat_line("stat::average_exec_per_sec:     57225"),
            Some(("average_exec_per_sec", 57225))
        );
        assert_eq!(
            parse_stat_line("stat::peak_rss_mb: 61"),
            Some(("peak_rss_mb", 61))
        );
        assert_eq!(parse_stat_line("stat::peak_rss_mb: lots"), None);
        assert_eq!(parse_stat_line("status: 61"), None);
    }

    #[test]
    fn clean_run() {
        let stats = FuzzStats::from_output(CLEAN_RUN);
        assert_eq!(
            stats,
            FuzzStats {
                done_runs: Some(1_201_733),
                done_seconds: Some(21),
                executed_units: Some(1_201_733),
                average_exec_per_sec: Some(57225),
                new_units: Some(75),
                peak_rss_mb: Some(61),
                corpus_entries: Some(83),
                artifact: None,
            }
        );
        assert_eq!(stats.runs(), Some(1_201_733));
        assert_eq!(stats.exec_per_sec(), Some(57225));
    }

    #[test]
    fn crash_run() {
        let stats = FuzzStats::from_output(CRASH_RUN);
        assert_eq!(stats.done_runs, None);
        assert_eq!(stats.runs(), Some(47));
        assert_eq!(stats.corpus_entries, Some(1));
        assert_eq!(
            stats.artifact.as_deref(),
            Some("/repo/fuzz/artifacts/decode/crash-86f7e437faa5a7fce15d1ddcb9eaeaea377667b8")
        );
    }

    #[test]
    fn slow_units_are_not_artifacts_of_failure() {
        let stats =
            FuzzStats::from_output("artifact_prefix='a/'; Test unit written to a/slow-unit-0123\n");
        assert_eq!(stats.artifact, None);
    }

    #[test]
    fn zero_second_run_uses_libfuzzer_average() {
        let stats = FuzzStats::from_output(
            "Done 500 runs in 0 second(s)\nstat::average_exec_per_sec: 480\n",
        );
        assert_eq!(stats.exec_per_sec(), Some(480));
    }

    #[test]
    fn table() {
        let rows = [
            SummaryRow {
                target: "decode".to_owned(),
                result: "ok".to_owned(),
                stats: FuzzStats::from_output(CLEAN_RUN),
                corpus_files: Some(90),
            },
            SummaryRow {
                target: "session_ops".to_owned(),
                result: "CRASH".to_owned(),
                stats: FuzzStats::from_output(CRASH_RUN),
                corpus_files: None,
            },
        ];
        assert_eq!(
            summary_table(&rows),
            "\
target       result  executions  seconds  exec/s  corpus  new
decode       ok         1201733       21   57225      90   75
session_ops  CRASH           47        -       0       1    1
"
        );
    }
}
