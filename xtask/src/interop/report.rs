//! The summary table printed after an interop suite.

use std::fmt::Write as _;
use std::time::Duration;

use crate::run::format_duration;

/// One scenario's outcome.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) scenario: String,
    /// `3.1.1`, `5.0`, or what the scenario uses when the protocol is not its choice.
    pub(crate) protocol: String,
    /// `0`, `1`, `2`, or `-` when QoS does not apply.
    pub(crate) qos: String,
    pub(crate) passed: bool,
    pub(crate) took: Duration,
}

/// A fixed-width table, one row per scenario, failures marked so they stand out in a CI log.
pub(crate) fn table(rows: &[Row]) -> String {
    let width = |header: &str, cell: fn(&Row) -> &str| {
        rows.iter()
            .map(|r| cell(r).chars().count())
            .chain([header.len()])
            .max()
            .unwrap_or(0)
    };
    let (w_name, w_proto, w_qos) = (
        width("scenario", |r| &r.scenario),
        width("protocol", |r| &r.protocol),
        width("qos", |r| &r.qos),
    );
    let mut text = String::new();
    let mut line = |name: &str, proto: &str, qos: &str, result: &str, time: &str| {
        let _ = writeln!(
            text,
            "{name:<w_name$}  {proto:<w_proto$}  {qos:<w_qos$}  {result:<6}  {time}"
        );
    };
    line("scenario", "protocol", "qos", "result", "time");
    for row in rows {
        line(
            &row.scenario,
            &row.protocol,
            &row.qos,
            if row.passed { "ok" } else { "FAIL" },
            &format_duration(row.took),
        );
    }
    text
}

/// Prints why a scenario failed: the error, the commands it ran (when more than one: the
/// error names a single one already), and the last 30 lines the broker logged meanwhile.
pub(crate) fn print_failure(error: &str, steps: &[String], log: &str) {
    println!("    {}", error.replace('\n', "\n    "));
    if steps.len() > 1 {
        println!("    commands, in order:");
        for line in steps {
            println!("      $ {line}");
        }
    }
    let lines: Vec<&str> = log.lines().collect();
    if !lines.is_empty() {
        println!(
            "    broker log during the scenario (last {} of {} lines):",
            lines.len().min(30),
            lines.len()
        );
        for line in lines.iter().skip(lines.len().saturating_sub(30)) {
            println!("      | {line}");
        }
    }
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = [
            Row {
                scenario: "mosquitto_pub -> tern sub".into(),
                protocol: "3.1.1".into(),
                qos: "1".into(),
                passed: true,
                took: Duration::from_millis(300),
            },
            Row {
                scenario: "will".into(),
                protocol: "5.0".into(),
                qos: "2".into(),
                passed: false,
                took: Duration::from_secs(10),
            },
        ];
        assert_eq!(
            table(&rows),
            "\
scenario                   protocol  qos  result  time
mosquitto_pub -> tern sub  3.1.1     1    ok      0.3s
will                       5.0       2    FAIL    10.0s
"
        );
    }
}
