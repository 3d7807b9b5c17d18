//! Command-line parsing, by hand: four subcommands and one option do not need clap.

/// Fuzzing time per target when `--seconds` is not given.
pub(crate) const DEFAULT_FUZZ_SECONDS: u64 = 60;

/// Usage text for `cargo xtask help` and for unknown commands.
pub(crate) const USAGE: &str = "\
Usage: cargo xtask <COMMAND> [ARGS...]

Commands:
  ci                          Run every CI check in order, stopping at the first failure:
                              fmt, clippy, test, doc, no-default-features builds of the core
                              crates, cargo-deny (licenses, bans, sources; offline).
  fuzz [--seconds N] [TARGET...]
                              Fuzz each target for N seconds (default 60), one after another,
                              with fuzz/corpus/<TARGET> as corpus (seeded from fuzz/seeds/<TARGET>).
                              Without TARGETs, fuzzes every target that `cargo fuzz list` names.
                              Fails if any target crashes. Needs the nightly toolchain.
  bench [ARGS...]             Run the tern-bench binary in release mode with ARGS.
  bench mqtt-client [ARGS...] Client publish throughput, tern-tokio vs rumqttc, against a
                              mosquitto started for the run (see the mqtt-client binary).
  bench coap-server [ARGS...] Requests per second from 64 client sockets, `tern coap serve` vs
                              libcoap's coap-server-notls, both started for the run on loopback
                              (release build; installs libcoap3-bin when missing; ARGS go to the
                              coap-server binary: --rounds, --seconds-per-slice, --clients,
                              --outstanding, --path, --out FILE).
  bench broker [ARGS...]      MQTT brokers under one load generator: fan-in (100 publishers ->
                              1 subscriber, QoS 0 and 1), fan-out (1 -> 1,000 subscribers) and
                              10,000 idle connections; msg/s, p50/p99 latency, CPU per message,
                              memory, ratios. Starts mosquitto (installed with apt-get when
                              missing) and, once `tern broker` exists, tern on loopback; report
                              in target/bench/broker/report.md (ARGS go to the broker binary:
                              --scenario, --qos, --rounds, --seconds-per-slice, ...).
  interop mqtt [FILTER...]    Interoperability suite: builds the tern CLI and the examples, starts
                              a mosquitto broker of its own on 127.0.0.1 (plain, TLS and
                              client-certificate listeners; installs mosquitto with apt-get when
                              missing) and runs every scenario against it, 3.1.1 and 5.0, with
                              mosquitto_pub/mosquitto_sub on the other side. FILTERs run only the
                              scenarios whose name contains one of them. Fails if any scenario fails.
  interop coap [FILTER...]    The same for CoAP over UDP on 127.0.0.1 and ::1: builds the tern CLI
                              and runs `tern coap` (client and serve) against libcoap's
                              coap-client-notls/coap-server-notls and aiocoap (scripts in
                              interop/coap/), after controls that run the peers against each
                              other. Installs libcoap3-bin with apt-get and aiocoap (pinned) with
                              pip into a virtualenv under target/interop/coap when missing.
  interop broker [FILTER...]  `tern broker` against real clients on 127.0.0.1: mosquitto_pub/
                              mosquitto_sub and paho-mqtt (pinned, pip into a venv under
                              target/interop/broker; script in interop/broker/), 3.1.1 and 5.0:
                              QoS 0/1/2, retained, wills, sessions, wildcards, $SYS, shared
                              subscriptions, 1 MiB, TLS, password file and ACL, each group on a
                              tern broker with a generated tern.toml, after controls that run the
                              same peers against mosquitto. Fails if any scenario fails.
  help                        Show this text.
";

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// `cargo xtask ci`
    Ci,
    /// `cargo xtask fuzz ...`
    Fuzz(FuzzArgs),
    /// `cargo xtask bench ARGS...`: the arguments go to the bench binary untouched.
    Bench(Vec<String>),
    /// `cargo xtask interop SUITE [FILTER...]`
    Interop(InteropArgs),
    /// `cargo xtask help`, `-h`, `--help`
    Help,
}

/// Options of `cargo xtask fuzz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FuzzArgs {
    /// `-max_total_time` handed to libFuzzer, per target.
    pub(crate) seconds: u64,
    /// Targets to run; empty means "all that `cargo fuzz list` reports".
    pub(crate) targets: Vec<String>,
}

/// Options of `cargo xtask interop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InteropArgs {
    pub(crate) suite: InteropSuite,
    /// Substrings of scenario names; empty means every scenario.
    pub(crate) filters: Vec<String>,
}

/// The interop suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InteropSuite {
    /// tern's MQTT client against mosquitto.
    Mqtt,
    /// tern's CoAP client and server against libcoap and aiocoap.
    Coap,
    /// `tern broker` against mosquitto's clients and paho-mqtt.
    Broker,
}

/// Parses the arguments after `cargo xtask` (without the program name).
///
/// An empty argument list is an error rather than help so that a mistyped CI script fails.
pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("no command given".to_owned());
    };
    match command.as_str() {
        "ci" => match rest.first() {
            None => Ok(Command::Ci),
            Some(extra) => Err(format!("`ci` takes no arguments, got `{extra}`")),
        },
        "fuzz" => parse_fuzz(rest).map(Command::Fuzz),
        "bench" => Ok(Command::Bench(rest.to_vec())),
        "interop" => parse_interop(rest).map(Command::Interop),
        "help" | "-h" | "--help" => Ok(Command::Help),
        other => Err(format!("unknown command `{other}`")),
    }
}

fn parse_fuzz(args: &[String]) -> Result<FuzzArgs, String> {
    let mut seconds = DEFAULT_FUZZ_SECONDS;
    let mut targets = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--seconds" {
            let value = iter
                .next()
                .ok_or_else(|| "`--seconds` needs a value".to_owned())?;
            seconds = parse_seconds(value)?;
        } else if let Some(value) = arg.strip_prefix("--seconds=") {
            seconds = parse_seconds(value)?;
        } else if arg.starts_with('-') {
            // Catches typos like `--second 5`, which would otherwise become a target name.
            return Err(format!("unknown option `{arg}` for `fuzz`"));
        } else if !targets.contains(arg) {
            targets.push(arg.clone());
        }
    }
    Ok(FuzzArgs { seconds, targets })
}

fn parse_interop(args: &[String]) -> Result<InteropArgs, String> {
    let Some((suite, filters)) = args.split_first() else {
        return Err("`interop` needs a suite: `cargo xtask interop mqtt`".to_owned());
    };
    let suite = match suite.as_str() {
        "mqtt" => InteropSuite::Mqtt,
        "coap" => InteropSuite::Coap,
        "broker" => InteropSuite::Broker,
        other => {
            return Err(format!(
                "unknown interop suite `{other}` (there are: mqtt, coap, broker)"
            ));
        }
    };
    if let Some(option) = filters.iter().find(|f| f.starts_with('-')) {
        return Err(format!("unknown option `{option}` for `interop`"));
    }
    Ok(InteropArgs {
        suite,
        filters: filters.to_vec(),
    })
}

fn parse_seconds(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        // libFuzzer treats -max_total_time=0 as "no limit", which would hang CI.
        Ok(0) => Err("`--seconds` must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "`--seconds` needs a whole number of seconds, got `{value}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn fuzz(seconds: u64, targets: &[&str]) -> Result<Command, String> {
        Ok(Command::Fuzz(FuzzArgs {
            seconds,
            targets: args(targets),
        }))
    }

    #[test]
    fn simple_commands() {
        assert_eq!(parse(&args(&["ci"])), Ok(Command::Ci));
        assert_eq!(parse(&args(&["help"])), Ok(Command::Help));
        assert_eq!(parse(&args(&["--help"])), Ok(Command::Help));
        assert_eq!(parse(&args(&["-h"])), Ok(Command::Help));
    }

    #[test]
    fn missing_and_unknown_commands_are_errors() {
        assert!(parse(&[]).is_err());
        assert_eq!(
            parse(&args(&["build"])),
            Err("unknown command `build`".to_owned())
        );
        assert!(parse(&args(&["ci", "--fast"])).is_err());
    }

    #[test]
    fn fuzz_defaults() {
        assert_eq!(parse(&args(&["fuzz"])), fuzz(DEFAULT_FUZZ_SECONDS, &[]));
    }

    #[test]
    fn fuzz_seconds_both_spellings_and_targets_anywhere() {
        assert_eq!(
            parse(&args(&["fuzz", "--seconds", "20", "decode", "session"])),
            fuzz(20, &["decode", "session"])
        );
        assert_eq!(
            parse(&args(&["fuzz", "decode", "--seconds=5"])),
            fuzz(5, &["decode"])
        );
        // The last --seconds wins, as with most CLIs.
        assert_eq!(
            parse(&args(&["fuzz", "--seconds", "1", "--seconds", "2"])),
            fuzz(2, &[])
        );
    }

    #[test]
    fn fuzz_duplicate_targets_run_once() {
        assert_eq!(
            parse(&args(&["fuzz", "a", "b", "a"])),
            fuzz(DEFAULT_FUZZ_SECONDS, &["a", "b"])
        );
    }

    #[test]
    fn fuzz_bad_seconds() {
        assert!(parse(&args(&["fuzz", "--seconds"])).is_err());
        assert!(parse(&args(&["fuzz", "--seconds", "0"])).is_err());
        assert!(parse(&args(&["fuzz", "--seconds", "-3"])).is_err());
        assert!(parse(&args(&["fuzz", "--seconds", "1.5"])).is_err());
        assert!(parse(&args(&["fuzz", "--seconds=ten"])).is_err());
    }

    #[test]
    fn fuzz_unknown_option() {
        assert_eq!(
            parse(&args(&["fuzz", "--second", "5"])),
            Err("unknown option `--second` for `fuzz`".to_owned())
        );
    }

    #[test]
    fn interop_suite_and_filters() {
        assert_eq!(
            parse(&args(&["interop", "mqtt"])),
            Ok(Command::Interop(InteropArgs {
                suite: InteropSuite::Mqtt,
                filters: vec![],
            }))
        );
        assert_eq!(
            parse(&args(&["interop", "mqtt", "TLS", "will"])),
            Ok(Command::Interop(InteropArgs {
                suite: InteropSuite::Mqtt,
                filters: args(&["TLS", "will"]),
            }))
        );
        assert_eq!(
            parse(&args(&["interop", "coap", "libcoap"])),
            Ok(Command::Interop(InteropArgs {
                suite: InteropSuite::Coap,
                filters: args(&["libcoap"]),
            }))
        );
        assert!(parse(&args(&["interop"])).is_err());
        assert!(parse(&args(&["interop", "http"])).is_err());
        assert!(parse(&args(&["interop", "coap", "-v"])).is_err());
        assert!(parse(&args(&["interop", "mqtt", "--fast"])).is_err());
    }

    #[test]
    fn bench_passes_everything_through() {
        assert_eq!(
            parse(&args(&["bench", "--seconds", "3", "-x", "ci"])),
            Ok(Command::Bench(args(&["--seconds", "3", "-x", "ci"])))
        );
        assert_eq!(parse(&args(&["bench"])), Ok(Command::Bench(vec![])));
    }
}
