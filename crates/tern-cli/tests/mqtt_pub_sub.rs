//! `tern mqtt pub` and `tern mqtt sub` end to end: the built binary against the in-process
//! `TestBroker` (and a scripted broker where an answer is needed that it never gives).

mod common;

use common::*;

use std::net::TcpListener;
use std::process::{Child, Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use tern_mqtt::{QoS, ReasonCode};
use tern_testkit::broker::{TestBroker, scripted_acks};

const WAIT: Duration = Duration::from_secs(10);

/// A running `tern mqtt sub -d …` that has received its SUBACK.
struct Sub {
    child: Child,
    /// The stderr lines after SUBACK (the reader thread keeps collecting them).
    stderr: mpsc::Receiver<String>,
}

impl Sub {
    fn start(port: u16, args: &[&str]) -> Sub {
        let port = port.to_string();
        let mut all = vec!["mqtt", "sub", "-h", "127.0.0.1", "-p", &port, "-d"];
        all.extend_from_slice(args);
        let mut child = tern(&all).spawn().expect("run tern mqtt sub");
        let rx = stderr_lines(&mut child);
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(WAIT) {
                Ok(line) if line.contains("received SUBACK") => break,
                Ok(line) => seen.push(line),
                Err(_) => panic!("tern mqtt sub never subscribed; stderr: {seen:#?}"),
            }
        }
        Sub { child, stderr: rx }
    }

    /// Waits for the end: exit code, stdout, the rest of stderr.
    fn finish(self) -> (i32, String, String) {
        let output = wait(self.child);
        let rest: Vec<String> = self.stderr.try_iter().collect();
        (
            output.status.code().unwrap_or(-1),
            stdout(&output),
            rest.join("\n"),
        )
    }
}

fn publish(port: u16, args: &[&str], stdin: &[u8]) -> Output {
    let port = port.to_string();
    let mut all = vec!["mqtt", "pub", "-h", "127.0.0.1", "-p", &port];
    all.extend_from_slice(args);
    run(&all, stdin)
}

#[test]
fn pub_to_sub_at_every_qos_in_3_1_1_and_5() {
    let broker = TestBroker::start();
    for version in ["311", "5"] {
        for qos in ["0", "1", "2"] {
            let topic = format!("rt/{version}/{qos}");
            let sub = Sub::start(
                broker.port(),
                &[
                    "-V", version, "-q", qos, "-t", &topic, "-C", "1", "-W", "10",
                ],
            );
            let payload = format!("hello at {version} QoS {qos}");
            let out = publish(
                broker.port(),
                &["-V", version, "-q", qos, "-t", &topic, "-m", &payload, "-d"],
                b"",
            );
            assert!(out.status.success(), "pub: {}", stderr(&out));
            let completion = match qos {
                "0" => "wrote PUBLISH",
                "1" => "received PUBACK (Success)",
                _ => "received PUBCOMP (Success)",
            };
            assert!(stderr(&out).contains(completion), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("sending DISCONNECT"),
                "{}",
                stderr(&out)
            );
            let (code, printed, log) = sub.finish();
            assert_eq!(code, 0, "{log}");
            assert_eq!(printed, format!("{payload}\n"));
            assert!(
                log.contains(&format!("received PUBLISH (topic \"{topic}\", QoS {qos}")),
                "{log}"
            );
        }
    }
    let received = broker.received();
    assert_eq!(received.len(), 6);
    assert!(received.iter().all(|p| !p.retain));
}

#[test]
fn sub_v_prints_topic_space_payload_and_c_counts() {
    let broker = TestBroker::start();
    let sub = Sub::start(broker.port(), &["-t", "a/#", "-t", "b", "-v", "-C", "3"]);
    broker.publish("a/1", "one", QoS::AtMostOnce, false);
    broker.publish("b", &b"two \x00 raw"[..], QoS::AtLeastOnce, false);
    broker.publish("a/2/3", "three", QoS::ExactlyOnce, false);
    broker.publish(
        "a/4",
        "not printed: -C 3 exits before",
        QoS::AtMostOnce,
        false,
    );
    let (code, printed, _) = sub.finish();
    assert_eq!(code, 0);
    assert!(
        printed.starts_with("a/1 one\nb two \0 raw\na/2/3 three\n"),
        "{printed:?}"
    );
}

#[test]
fn sub_json_has_one_object_per_message() {
    let broker = TestBroker::start();
    let sub = Sub::start(broker.port(), &["-t", "j/#", "-C", "2", "--json"]);
    let out = publish(
        broker.port(),
        &[
            "-t",
            "j/text",
            "-q",
            "1",
            "-m",
            "héllo \"quoted\"",
            "-D",
            "publish",
            "user-property",
            "unit",
            "celsius",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = publish(broker.port(), &["-t", "j/bin", "-s", "-r"], b"\xff\x00\x01");
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, printed, _) = sub.finish();
    assert_eq!(code, 0);
    let lines: Vec<Value> = printed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"topic": "j/text", "qos": 0, "retain": false, "payload": "héllo \"quoted\"",
                   "properties": [{"id": 38, "name": "User Property",
                                   "value": {"key": "unit", "value": "celsius"}}]}),
            json!({"topic": "j/bin", "qos": 0, "retain": false, "payload_hex": "ff0001"}),
        ]
    );
    assert!(
        printed.starts_with(r#"{"topic":"j/text","qos":0,"retain":false,"payload":"#),
        "keys in order: {printed}"
    );
}

#[test]
fn sub_w_gives_up_with_exit_code_3() {
    let broker = TestBroker::start();
    let sub = Sub::start(broker.port(), &["-t", "quiet", "-W", "1"]);
    let (code, printed, log) = sub.finish();
    assert_eq!(code, 3);
    assert_eq!(printed, "");
    assert!(
        log.lines().any(|l| l == "tern: error: timed out after 1 s"),
        "{log}"
    );
}

#[test]
fn sub_r_skips_retained_messages() {
    let broker = TestBroker::start();
    broker.publish("r", "stale", QoS::AtLeastOnce, true);
    let sub = Sub::start(broker.port(), &["-t", "r", "-q", "1", "-R", "-C", "1"]);
    broker.publish("r", "fresh", QoS::AtLeastOnce, false);
    let (code, printed, _) = sub.finish();
    assert_eq!(code, 0);
    assert_eq!(printed, "fresh\n");
}

#[test]
fn a_persistent_session_delivers_what_was_queued_once() {
    let broker = TestBroker::start();
    for version in ["311", "5"] {
        let id = format!("keeper-{version}");
        let topic = format!("queued/{version}");
        let session = |extra: &[&str]| {
            let mut args = vec!["-V", version, "-c", "-i", &id, "-q", "2", "-t", &topic];
            args.extend_from_slice(extra);
            Sub::start(broker.port(), &args)
        };
        let (code, _, _) = session(&["-W", "1"]).finish();
        assert_eq!(code, 3);
        broker.publish(&topic, "a", QoS::AtLeastOnce, false);
        broker.publish(&topic, "b", QoS::ExactlyOnce, false);
        let (code, printed, _) = session(&["-C", "2", "-W", "10"]).finish();
        assert_eq!((code, printed.as_str()), (0, "a\nb\n"), "{version}");
        // Every message counted by -C was acknowledged before DISCONNECT.
        let (code, printed, _) = session(&["-W", "1"]).finish();
        assert_eq!((code, printed.as_str()), (3, ""), "{version}");
    }
}

#[test]
fn pub_l_sends_each_line_in_order() {
    let broker = TestBroker::start();
    let out = publish(
        broker.port(),
        &["-t", "lines", "-q", "1", "-l"],
        b"first\nsecond\n\nlast without newline",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let received = broker.wait_received(4, WAIT);
    let payloads: Vec<&[u8]> = received.iter().map(|p| &p.payload[..]).collect();
    assert_eq!(
        payloads,
        [&b"first"[..], b"second", b"", b"last without newline"]
    );
    assert!(received.iter().all(|p| p.qos == QoS::AtLeastOnce));
}

#[test]
fn pub_l_pipelines_many_messages() {
    let broker = TestBroker::start();
    let lines: String = (0..500).map(|i| format!("{i}\n")).collect();
    let out = publish(
        broker.port(),
        &["-t", "many", "-q", "2", "-l"],
        lines.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let received = broker.wait_received(500, WAIT);
    for (i, p) in received.iter().enumerate() {
        assert_eq!(p.payload, i.to_string().as_bytes());
    }
}

#[test]
fn pub_f_sends_the_file_and_r_retains_it() {
    let broker = TestBroker::start();
    let path = std::env::temp_dir().join(format!("tern-cli-pub-f-{}", std::process::id()));
    let content: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    std::fs::write(&path, &content).unwrap();
    let out = publish(
        broker.port(),
        &["-t", "file", "-q", "2", "-r", "-f", path.to_str().unwrap()],
        b"",
    );
    std::fs::remove_file(&path).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let received = broker.wait_received(1, WAIT);
    assert_eq!(received[0].payload, content);
    assert!(received[0].retain);
    // A later subscriber gets the retained message, whole.
    let sub = Sub::start(broker.port(), &["-t", "file", "-C", "1", "--json"]);
    let (code, printed, _) = sub.finish();
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(printed.trim_end()).unwrap();
    assert_eq!(json["retain"], true);
    assert_eq!(json["payload_hex"].as_str().unwrap().len(), 600_000);
}

#[test]
fn pub_n_sends_an_empty_message_with_the_will_and_properties_set() {
    let broker = TestBroker::start();
    let out = publish(
        broker.port(),
        &[
            "-t",
            "empty",
            "-n",
            "-q",
            "1",
            "-D",
            "publish",
            "content-type",
            "text/plain",
            "-D",
            "publish",
            "message-expiry-interval",
            "60",
            "--will-topic",
            "w",
            "--will-payload",
            "gone",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let p = &broker.wait_received(1, WAIT)[0];
    assert!(p.payload.is_empty());
    assert_eq!(p.properties.content_type().unwrap().as_str(), "text/plain");
    assert_eq!(p.properties.message_expiry_interval(), Some(60));
}

#[test]
fn a_killed_sub_leaves_its_will() {
    let broker = TestBroker::start();
    let watcher = Sub::start(
        broker.port(),
        &["-t", "wills/#", "-q", "1", "-C", "1", "-v"],
    );
    let doomed = Sub::start(
        broker.port(),
        &[
            "-t",
            "idle",
            "--will-topic",
            "wills/doomed",
            "--will-payload",
            "it went away",
            "--will-qos",
            "1",
        ],
    );
    let mut child = doomed.child;
    child.kill().unwrap();
    child.wait().unwrap();
    let (code, printed, _) = watcher.finish();
    assert_eq!(code, 0);
    assert_eq!(printed, "wills/doomed it went away\n");
}

#[test]
fn an_interrupted_sub_disconnects_cleanly_and_leaves_no_will() {
    let broker = TestBroker::start();
    let watcher = Sub::start(
        broker.port(),
        &["-t", "wills/#", "-q", "1", "-v", "-W", "3"],
    );
    let interrupted = Sub::start(
        broker.port(),
        &[
            "-t",
            "idle",
            "--will-topic",
            "wills/polite",
            "--will-payload",
            "gone",
        ],
    );
    let pid = interrupted.child.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let (code, printed, stderr) = interrupted.finish();
    assert_eq!(code, 0, "Ctrl-C is a normal end: {stderr}");
    assert!(printed.is_empty());
    let (code, printed, _) = watcher.finish();
    assert_eq!(code, 3, "the watcher times out: no will was published");
    assert_eq!(printed, "");
}

#[test]
fn a_refused_connection_is_an_error_with_exit_code_1() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let port = port.to_string();
    for command in ["pub", "sub"] {
        let mut args = vec!["mqtt", command, "-h", "127.0.0.1", "-p", &port, "-t", "t"];
        if command == "pub" {
            args.extend(["-m", "x"]);
        }
        let out = run(&args, b"");
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert_eq!(
            stderr(&out),
            format!("tern: error: 127.0.0.1:{port}: connection failed: connection refused\n")
        );
    }
    let broker = TestBroker::start();
    broker.refuse_next_connect(ReasonCode::NotAuthorized);
    let out = publish(broker.port(), &["-t", "t", "-m", "x"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("tern: error: ")
            && stderr(&out).contains("refused the connection: Not authorized (0x87)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_error_reason_code_in_the_ack_fails_pub() {
    let port = scripted_acks(ReasonCode::NotAuthorized, ReasonCode::NotAuthorized);
    let out = publish(port, &["-t", "t", "-q", "1", "-m", "x"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "tern: error: the broker refused the message: Not authorized (0x87)\n"
    );
    // Not an error: 0x10 No matching subscribers.
    let port = scripted_acks(
        ReasonCode::NoMatchingSubscribers,
        ReasonCode::NoMatchingSubscribers,
    );
    let out = publish(port, &["-t", "t", "-q", "1", "-m", "x", "-d"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("received PUBACK (No matching subscribers)"));
}

#[test]
fn usage_errors_exit_with_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["mqtt", "pub", "-t", "t"], "required arguments"),
        (
            &["mqtt", "pub", "-t", "t", "-m", "x", "-n"],
            "cannot be used with",
        ),
        (
            &["mqtt", "pub", "-t", "t", "-m", "x", "--bogus"],
            "unexpected argument",
        ),
        (&["mqtt", "sub", "-t", "t", "-q", "3"], "expected 0, 1 or 2"),
        (&["mqtt", "sub", "-t", "t", "-V", "4"], "expected 311"),
        (&["mqtt", "sub", "-t", "t", "-c"], "--id"),
        (&["mqtt", "sub"], "required arguments"),
        (
            &["mqtt", "pub", "-t", "a/#", "-m", "x"],
            "tern: error: -t \"a/#\"",
        ),
        (&["mqtt", "sub", "-t", "a/#/b"], "tern: error: -t \"a/#/b\""),
        (
            &[
                "mqtt",
                "pub",
                "-t",
                "t",
                "-m",
                "x",
                "-V",
                "311",
                "-D",
                "publish",
                "content-type",
                "x",
            ],
            "tern: error: -D: properties need MQTT 5.0",
        ),
    ];
    for (args, expected) in cases {
        let out = run(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_missing_ca_file_is_an_error() {
    let out = run(
        &[
            "mqtt",
            "pub",
            "-t",
            "t",
            "-m",
            "x",
            "--cafile",
            "/nonexistent/ca.pem",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("tern: error: TLS: /nonexistent/ca.pem"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_is_long_only_and_h_is_the_host() {
    let out = run(&["mqtt", "sub", "--help"], b"");
    assert!(out.status.success());
    let help = stdout(&out);
    assert!(help.contains("-h, --host <HOST>"), "{help}");
    assert!(help.contains("-V, --protocol-version <VERSION>"), "{help}");
    assert!(help.contains("Exit status"), "{help}");
}

#[test]
fn pub_json_reports_each_completed_message() {
    let broker = TestBroker::start();
    let out = publish(
        broker.port(),
        &["-t", "report", "-q", "1", "-l", "--json"],
        b"one\nthree\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ack = json!({"type": "PUBACK", "reason_code": {"value": 0, "name": "Success"}});
    assert_eq!(
        lines,
        [
            json!({"topic": "report", "qos": 1, "retain": false, "length": 3, "ack": ack}),
            json!({"topic": "report", "qos": 1, "retain": false, "length": 5, "ack": ack}),
        ]
    );
    let out = publish(broker.port(), &["-t", "report", "-m", "x", "--json"], b"");
    assert_eq!(
        stdout(&out),
        "{\"topic\":\"report\",\"qos\":0,\"retain\":false,\"length\":1,\"ack\":null}\n"
    );
}
