//! The scenarios, in the order they run and appear in the summary.

use super::ctx::{
    Ctx, Listener, Protocol, READY, Role, Tool, check_one_json_line, expect_field, finish,
    same_bytes,
};
use super::{Scenario, path_arg};
use crate::interop::child::{Stream, printable_tail};
use crate::interop::json::Json;
use crate::run::Cmd;

/// `-W` of subscribers that wait for messages: shorter than the 20 s after which any child is
/// killed, so that a failure shows the subscriber's own timeout message rather than a kill.
const SUB_WAIT: &str = "10";

/// The topic of the adapter examples.
const EXAMPLE_TOPIC: &str = "sensors/temperature";

/// The subscribe example of each adapter crate; all take `HOST PORT` and run until killed.
const SUBSCRIBE_EXAMPLES: [&str; 3] = [
    "mqtt_subscribe_tokio",
    "mqtt_subscribe_async_std",
    "mqtt_subscribe_blocking",
];

/// Takes `HOST PORT COUNT`, publishes COUNT readings to `EXAMPLE_TOPIC` and exits.
const PUBLISH_EXAMPLE: &str = "mqtt_publish_temperature";

/// The scenario list; `run` filters it by name.
pub(super) fn scenarios() -> Vec<Scenario> {
    use Listener::{ClientCert, ClientCertMissing, Plain, Tls, TlsUntrustedCa};
    use Tool::{Mosquitto, Tern};

    let mut list = List(Vec::new());
    for proto in Protocol::ALL {
        list.add(
            "control: mosquitto_pub -> mosquitto_sub",
            Some(proto),
            Some(1),
            move |ctx| {
                deliver(
                    ctx,
                    proto,
                    1,
                    (Mosquitto, Plain),
                    (Mosquitto, Plain),
                    &[],
                    text("control"),
                )
            },
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "control: mosquitto over TLS and with a client cert",
            Some(proto),
            Some(1),
            move |ctx| {
                deliver(
                    ctx,
                    proto,
                    1,
                    (Mosquitto, ClientCert),
                    (Mosquitto, Tls),
                    &[],
                    text("control over TLS"),
                )
            },
        );
    }
    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                "mosquitto_pub -> tern sub",
                Some(proto),
                Some(qos),
                move |ctx| {
                    deliver(
                        ctx,
                        proto,
                        qos,
                        (Mosquitto, Plain),
                        (Tern, Plain),
                        &[],
                        text("to tern"),
                    )
                },
            );
        }
    }
    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                "tern pub -> mosquitto_sub",
                Some(proto),
                Some(qos),
                move |ctx| {
                    deliver(
                        ctx,
                        proto,
                        qos,
                        (Tern, Plain),
                        (Mosquitto, Plain),
                        &[],
                        text("from tern"),
                    )
                },
            );
        }
    }
    for proto in Protocol::ALL {
        list.add(
            "tern pub -l (stdin lines) -> mosquitto_sub",
            Some(proto),
            Some(1),
            move |ctx| publish_lines(ctx, proto),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "retained: tern pub -r, then tern sub --json",
            Some(proto),
            Some(1),
            move |ctx| retained(ctx, proto, Tern),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "retained: tern pub -r, then mosquitto_sub",
            Some(proto),
            Some(1),
            move |ctx| retained(ctx, proto, Mosquitto),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "tern sub -R skips the retained message",
            Some(proto),
            Some(1),
            move |ctx| skip_retained(ctx, proto),
        );
    }
    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                "will: tern sub killed -9 -> mosquitto_sub",
                Some(proto),
                Some(qos),
                move |ctx| will(ctx, proto, qos),
            );
        }
    }
    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                "1 MiB: mosquitto_pub -f -> tern sub",
                Some(proto),
                Some(qos),
                move |ctx| {
                    deliver(
                        ctx,
                        proto,
                        qos,
                        (Mosquitto, Plain),
                        (Tern, Plain),
                        &[],
                        Payload::Big,
                    )
                },
            );
        }
    }
    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                "1 MiB: tern pub -f -> mosquitto_sub",
                Some(proto),
                Some(qos),
                move |ctx| {
                    deliver(
                        ctx,
                        proto,
                        qos,
                        (Tern, Plain),
                        (Mosquitto, Plain),
                        &[],
                        Payload::Big,
                    )
                },
            );
        }
    }
    for proto in Protocol::ALL {
        list.add(
            "TLS: tern pub --cafile -> mosquitto_sub",
            Some(proto),
            Some(1),
            move |ctx| {
                deliver(
                    ctx,
                    proto,
                    1,
                    (Tern, Tls),
                    (Mosquitto, Plain),
                    &[],
                    text("over TLS"),
                )
            },
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "TLS: mosquitto_pub -> tern sub --cafile -v",
            Some(proto),
            Some(1),
            move |ctx| {
                deliver(
                    ctx,
                    proto,
                    1,
                    (Mosquitto, Plain),
                    (Tern, Tls),
                    &["-v"],
                    text("over TLS"),
                )
            },
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "TLS: tern pub --cert --key -> mosquitto_sub",
            Some(proto),
            Some(1),
            move |ctx| {
                deliver(
                    ctx,
                    proto,
                    1,
                    (Tern, ClientCert),
                    (Mosquitto, Plain),
                    &[],
                    text("mutual TLS"),
                )
            },
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "TLS: mosquitto_pub -> tern sub --cert --key",
            Some(proto),
            Some(1),
            move |ctx| {
                deliver(
                    ctx,
                    proto,
                    1,
                    (Mosquitto, Plain),
                    (Tern, ClientCert),
                    &[],
                    text("mutual TLS"),
                )
            },
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "TLS: tern refuses a broker cert from an unknown CA",
            Some(proto),
            None,
            move |ctx| refused(ctx, proto, TlsUntrustedCa),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            "TLS: tern without --cert is refused where one is required",
            Some(proto),
            None,
            move |ctx| refused(ctx, proto, ClientCertMissing),
        );
    }
    for proto in Protocol::ALL {
        for sub_qos in 1..=2 {
            list.add(
                "persistent session: queued while offline, delivered once",
                Some(proto),
                Some(sub_qos),
                move |ctx| persistent_session(ctx, proto, sub_qos),
            );
        }
    }
    for example in SUBSCRIBE_EXAMPLES {
        list.add(
            &format!("example {example} <- mosquitto_pub"),
            None,
            Some(1),
            move |ctx| subscribe_example(ctx, example),
        );
    }
    list.add(
        &format!("example {PUBLISH_EXAMPLE} -> mosquitto_sub"),
        None,
        None,
        publish_example,
    );
    list.0
}

struct List(Vec<Scenario>);

impl List {
    fn add(
        &mut self,
        name: &str,
        protocol: Option<Protocol>,
        qos: Option<u8>,
        run: impl Fn(&mut Ctx<'_>) -> Result<(), String> + 'static,
    ) {
        self.0.push(Scenario {
            name: name.to_owned(),
            // The examples choose their protocol themselves.
            protocol: protocol.map_or("example's", Protocol::label).to_owned(),
            qos: qos.map_or_else(|| "-".to_owned(), |q| q.to_string()),
            run: Box::new(run),
        });
    }
}

enum Payload {
    Text(String),
    /// The 1 MiB file, with `-f`.
    Big,
}

fn text(s: &str) -> Payload {
    Payload::Text(s.to_owned())
}

/// One message from `publisher` to `subscriber` (each a tool on a listener): start the
/// subscriber with `-C 1`, wait until it is subscribed, publish, then require the subscriber to
/// exit 0 having printed exactly the payload and a newline (`TOPIC PAYLOAD` with `-v`).
fn deliver(
    ctx: &mut Ctx<'_>,
    proto: Protocol,
    qos: u8,
    publisher: (Tool, Listener),
    subscriber: (Tool, Listener),
    sub_flags: &[&str],
    payload: Payload,
) -> Result<(), String> {
    let topic = ctx.topic("t");
    let qos = qos.to_string();
    let (sub_id, pub_id) = (ctx.id("s"), ctx.id("p"));
    let sub = ctx
        .client(subscriber.0, Role::Sub, proto, subscriber.1, &sub_id)?
        .args(["-t", &topic, "-q", &qos, "-C", "1", "-W", SUB_WAIT])
        .args(sub_flags.iter().copied());
    let mut sub = ctx.subscriber(subscriber.0, &sub, &sub_id)?;

    let (payload_args, payload) = match payload {
        Payload::Text(text) => (vec!["-m".to_owned(), text.clone()], text.into_bytes()),
        Payload::Big => (
            vec!["-f".to_owned(), path_arg(&ctx.big.path)],
            ctx.big.bytes.clone(),
        ),
    };
    let publish = ctx
        .client(publisher.0, Role::Pub, proto, publisher.1, &pub_id)?
        .args(["-t", &topic, "-q", &qos])
        .args(payload_args);
    ctx.run("publisher", &publish, None, 0)?;

    let output = finish("subscriber", &mut sub, 0)?;
    let mut expected = Vec::new();
    if sub_flags.contains(&"-v") {
        expected.extend_from_slice(format!("{topic} ").as_bytes());
    }
    expected.extend_from_slice(&payload);
    expected.push(b'\n');
    same_bytes("the subscriber's stdout", &output.stdout, &expected)
}

/// `tern mqtt pub -l`: each stdin line is one message, in order.
fn publish_lines(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let topic = ctx.topic("lines");
    let (sub_id, pub_id) = (ctx.id("s"), ctx.id("p"));
    let sub = ctx
        .client(Tool::Mosquitto, Role::Sub, proto, Listener::Plain, &sub_id)?
        .args(["-t", &topic, "-q", "1", "-C", "3", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(Tool::Mosquitto, &sub, &sub_id)?;
    let publish = ctx
        .client(Tool::Tern, Role::Pub, proto, Listener::Plain, &pub_id)?
        .args(["-t", &topic, "-q", "1", "-l"]);
    let lines = b"first line\nsecond line\nthird line\n";
    ctx.run("tern mqtt pub -l", &publish, Some(lines.to_vec()), 0)?;
    let output = finish("mosquitto_sub", &mut sub, 0)?;
    same_bytes("mosquitto_sub's stdout", &output.stdout, lines)
}

/// A retained message published by tern reaches a later subscriber with the retain flag set.
fn retained(ctx: &mut Ctx<'_>, proto: Protocol, subscriber: Tool) -> Result<(), String> {
    let topic = ctx.topic("retained");
    let payload = "retained by tern";
    let publish = ctx
        .client(Tool::Tern, Role::Pub, proto, Listener::Plain, &ctx.id("p"))?
        .args(["-t", &topic, "-q", "1", "-r", "-m", payload]);
    ctx.run("tern mqtt pub -r", &publish, None, 0)?;

    let sub = ctx
        .client(subscriber, Role::Sub, proto, Listener::Plain, &ctx.id("s"))?
        .args(["-t", &topic, "-q", "1", "-C", "1", "-W", SUB_WAIT]);
    match subscriber {
        Tool::Mosquitto => {
            // `%r` is the retain flag of the message as delivered.
            let output = ctx.run("mosquitto_sub", &sub.args(["-F", "%r %q %t %p"]), None, 0)?;
            same_bytes(
                "mosquitto_sub's stdout (-F '%r %q %t %p')",
                &output.stdout,
                format!("1 1 {topic} {payload}\n").as_bytes(),
            )
        }
        Tool::Tern => {
            let output = ctx.run("tern mqtt sub --json", &sub.args(["--json"]), None, 0)?;
            let line = String::from_utf8_lossy(&output.stdout);
            let json = check_one_json_line(&line)?;
            expect_field(&json, "topic", &Json::String(topic))?;
            expect_field(&json, "payload", &Json::String(payload.to_owned()))?;
            expect_field(&json, "retain", &Json::Bool(true))?;
            expect_field(&json, "qos", &Json::Number("1".to_owned()))
        }
    }
}

/// `tern mqtt sub -R` prints the fresh message and not the retained one before it.
fn skip_retained(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let topic = ctx.topic("stale");
    let publish = |ctx: &Ctx<'_>, role: &str, extra: &[&str]| -> Result<Cmd, String> {
        Ok(ctx
            .client(
                Tool::Mosquitto,
                Role::Pub,
                proto,
                Listener::Plain,
                &ctx.id(role),
            )?
            .args(["-t", &topic, "-q", "1"])
            .args(extra.iter().copied()))
    };
    let stale = publish(ctx, "r", &["-r", "-m", "stale"])?;
    ctx.run("mosquitto_pub -r", &stale, None, 0)?;
    let sub_id = ctx.id("s");
    let sub = ctx
        .client(Tool::Tern, Role::Sub, proto, Listener::Plain, &sub_id)?
        .args(["-t", &topic, "-q", "1", "-R", "-C", "1", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(Tool::Tern, &sub, &sub_id)?;
    let fresh = publish(ctx, "p", &["-m", "fresh"])?;
    ctx.run("mosquitto_pub", &fresh, None, 0)?;
    let output = finish("tern mqtt sub -R", &mut sub, 0)?;
    same_bytes("tern mqtt sub -R's stdout", &output.stdout, b"fresh\n")
}

/// A tern client killed without DISCONNECT: the broker publishes its Will at the Will QoS.
fn will(ctx: &mut Ctx<'_>, proto: Protocol, qos: u8) -> Result<(), String> {
    let will_topic = ctx.topic("will");
    let payload = format!("tern went away (will qos {qos})");
    let watcher_id = ctx.id("w");
    let watcher = ctx
        .client(
            Tool::Mosquitto,
            Role::Sub,
            proto,
            Listener::Plain,
            &watcher_id,
        )?
        .args(["-t", &will_topic, "-q", "2", "-C", "1", "-W", SUB_WAIT])
        .args(["-F", "%q %t %p"]);
    let mut watcher = ctx.subscriber(Tool::Mosquitto, &watcher, &watcher_id)?;

    let doomed_id = ctx.id("d");
    let doomed = ctx
        .client(Tool::Tern, Role::Sub, proto, Listener::Plain, &doomed_id)?
        .args(["-t", &ctx.topic("idle"), "-q", "1"])
        .args(["--will-topic", &will_topic, "--will-payload", &payload])
        .args(["--will-qos", &qos.to_string()]);
    let mut doomed = ctx.subscriber(Tool::Tern, &doomed, &doomed_id)?;
    if let Some(status) = doomed.poll_exit() {
        return Err(format!(
            "tern mqtt sub exited ({status}) before it was killed\n{}",
            doomed.describe()
        ));
    }
    doomed.kill();

    let output = finish("mosquitto_sub (the will's watcher)", &mut watcher, 0)?;
    same_bytes(
        "the watcher's stdout (-F '%q %t %p')",
        &output.stdout,
        format!("{qos} {will_topic} {payload}\n").as_bytes(),
    )
}

/// A tern client refused by the TLS layer: `tern: error:`, exit 1, and nothing published.
fn refused(ctx: &mut Ctx<'_>, proto: Protocol, listener: Listener) -> Result<(), String> {
    let id = ctx.id("p");
    let publish = ctx
        .client(Tool::Tern, Role::Pub, proto, listener, &id)?
        .args([
            "-t",
            &ctx.topic("refused"),
            "-q",
            "1",
            "-m",
            "must not arrive",
        ]);
    let output = ctx.run("tern mqtt pub", &publish, None, 1)?;
    if !String::from_utf8_lossy(&output.stderr).contains("tern: error:") {
        return Err(format!(
            "tern mqtt pub exited 1 but printed no `tern: error:` line\n{}",
            output.describe()
        ));
    }
    if ctx
        .broker
        .log_since(ctx.log_start)
        .contains(&format!("Received PUBLISH from {id} "))
    {
        return Err("the broker received the PUBLISH although TLS should have failed".to_owned());
    }
    Ok(())
}

/// `-c -i ID`: subscribe, leave, let four messages (QoS 1 and 2) be queued, come back and
/// receive each exactly once, then come back again and receive nothing.
fn persistent_session(ctx: &mut Ctx<'_>, proto: Protocol, sub_qos: u8) -> Result<(), String> {
    let topic = ctx.topic("queued");
    let id = ctx.id("k");
    let sub_qos = sub_qos.to_string();
    let session = |ctx: &Ctx<'_>, extra: &[&str]| -> Result<Cmd, String> {
        Ok(ctx
            .client(Tool::Tern, Role::Sub, proto, Listener::Plain, &id)?
            .args(["-c", "-t", &topic, "-q", &sub_qos])
            .args(extra.iter().copied()))
    };

    // -W 1 ends the first connection (exit 3, "timed out") once it has subscribed.
    let first = session(ctx, &["-W", "1"])?;
    let mut first = ctx.subscriber(Tool::Tern, &first, &id)?;
    finish("the first tern mqtt sub -c -W 1", &mut first, 3)?;
    ctx.wait_for_log(
        None,
        &[
            &format!("Client {id} disconnected"),
            &format!("Client {id} closed its connection"),
        ],
    )
    .map_err(|e| format!("the broker never saw the first connection end: {e}"))?;

    let messages = [
        (1, "queued qos 1 a"),
        (1, "queued qos 1 b"),
        (2, "queued qos 2 a"),
        (2, "queued qos 2 b"),
    ];
    for (n, (qos, message)) in messages.iter().enumerate() {
        let publish = ctx
            .client(
                Tool::Mosquitto,
                Role::Pub,
                proto,
                Listener::Plain,
                &ctx.id(&format!("p{n}")),
            )?
            .args(["-t", &topic, "-q", &qos.to_string(), "-m", message]);
        ctx.run("mosquitto_pub", &publish, None, 0)?;
    }

    let second = session(ctx, &["-C", &messages.len().to_string(), "-W", SUB_WAIT])?;
    let output = ctx.run("the second tern mqtt sub -c", &second, None, 0)?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut got: Vec<&str> = text.lines().collect();
    let mut want: Vec<&str> = messages.iter().map(|(_, m)| *m).collect();
    got.sort_unstable();
    want.sort_unstable();
    if got != want || !text.ends_with('\n') {
        return Err(format!(
            "the resumed session should deliver each queued message once: expected {want:?} \
             (any order), got {got:?}\n{}",
            output.describe()
        ));
    }

    // A third connection must get nothing (exit 3 after -W 1). Redelivery here means the second
    // one exited at -C before acknowledging what it printed (mosquitto_sub -C does that).
    let third = session(ctx, &["-W", "1"])?;
    let output = ctx.run("the third tern mqtt sub -c -W 1", &third, None, 3)?;
    if !output.stdout.is_empty() {
        return Err(format!(
            "messages came again on the next connection: `-C {}` must acknowledge (PUBACK, \
             PUBCOMP) every message it counted before it disconnects\n{}",
            messages.len(),
            output.describe()
        ));
    }
    Ok(())
}

/// An adapter's subscribe example prints what mosquitto_pub sends to `sensors/temperature`.
fn subscribe_example(ctx: &mut Ctx<'_>, example: &str) -> Result<(), String> {
    let bin = ctx.bins.example(example)?;
    let port = ctx.broker.port().to_string();
    let mut child = ctx.spawn(&Cmd::new(&path_arg(&bin), ["127.0.0.1", &port]), None)?;
    child
        .wait_for(
            Stream::Stderr,
            &format!("subscribed to {EXAMPLE_TOPIC}"),
            READY,
        )
        .map_err(|e| format!("{example}: {e}"))?;
    let reading = format!("2{}.5", ctx.case % 10);
    let publish = ctx
        .client(
            Tool::Mosquitto,
            Role::Pub,
            Protocol::V311,
            Listener::Plain,
            &ctx.id("p"),
        )?
        .args(["-t", EXAMPLE_TOPIC, "-q", "1", "-m", &reading]);
    ctx.run("mosquitto_pub", &publish, None, 0)?;
    child
        .wait_for(
            Stream::Stdout,
            &format!("{EXAMPLE_TOPIC}: {reading}\n"),
            READY,
        )
        .map_err(|e| format!("{example}: {e}"))?;
    // It runs until stopped, by design.
    child.kill();
    Ok(())
}

/// The publish example sends three readings and exits 0.
fn publish_example(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let bin = ctx.bins.example(PUBLISH_EXAMPLE)?;
    let sub_id = ctx.id("s");
    let sub = ctx
        .client(
            Tool::Mosquitto,
            Role::Sub,
            Protocol::V5,
            Listener::Plain,
            &sub_id,
        )?
        .args([
            "-t",
            EXAMPLE_TOPIC,
            "-q",
            "1",
            "-C",
            "3",
            "-W",
            SUB_WAIT,
            "-v",
        ]);
    let mut sub = ctx.subscriber(Tool::Mosquitto, &sub, &sub_id)?;
    let port = ctx.broker.port().to_string();
    let publish = Cmd::new(&path_arg(&bin), ["127.0.0.1", &port, "3"]);
    ctx.run(PUBLISH_EXAMPLE, &publish, None, 0)?;
    let output = finish("mosquitto_sub", &mut sub, 0)?;
    let text = String::from_utf8_lossy(&output.stdout);
    let readings = text
        .lines()
        .filter(|l| l.starts_with(&format!("{EXAMPLE_TOPIC} ")))
        .count();
    if readings != 3 || text.lines().count() != 3 {
        return Err(format!(
            "expected 3 messages on {EXAMPLE_TOPIC}, mosquitto_sub -v printed:\n{}",
            printable_tail(&output.stdout, 1000)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_fit_the_table_and_filters_find_them() {
        let all = scenarios();
        assert!(all.len() > 50, "{}", all.len());
        assert!(all.iter().any(|s| s.name.starts_with("control")));
        assert!(
            all.iter().all(|s| s.name.len() <= 60),
            "keep the table narrow"
        );
    }
}
