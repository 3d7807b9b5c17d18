//! The scenarios, in the order they run and appear in the summary (grouped by broker).
//!
//! Where a scenario must show that something did *not* happen (a will after a clean
//! disconnect, a cleared retained message, a denied publish), it does the forbidden thing
//! first and then something allowed, and requires that the allowed message is the first and
//! only one: no waiting for silence.

use std::time::{Duration, Instant};

use super::ctx::{
    Ctx, Listener, Msg, Protocol, Role, SUB_WAIT, TIMED_OUT, expect_messages, finish, messages,
    path_arg,
};
use super::server::{ADMIN, ALICE};
use super::{Group, Scenario};
use crate::interop::child::Output;

/// The scenario list; `run` filters it by name.
pub(super) fn scenarios() -> Vec<Scenario> {
    use Group::{Auth, ClientCert, Mosquitto, Plain, Tls};
    use Protocol::V5;

    let mut list = List(Vec::new());
    for proto in Protocol::ALL {
        list.add(
            Mosquitto,
            "control (mosquitto): mosquitto_pub -l -> mosquitto_sub",
            &[proto],
            Some(1),
            move |ctx| qos_stream(ctx, proto, 1),
        );
    }
    list.add(
        Mosquitto,
        "control (mosquitto): paho deliver, shared, subid, no-local",
        &[V5],
        Some(2),
        |ctx| {
            ctx.paho("deliver", V5, 2)?;
            ctx.paho("shared", V5, 1)?;
            ctx.paho("subid-nolocal", V5, 1)
        },
    );
    list.add(
        Mosquitto,
        "control (mosquitto): paho retain handling, expiry, aliases",
        &[V5],
        Some(1),
        |ctx| {
            ctx.paho("retain-handling", V5, 1)?;
            ctx.paho("expiry", V5, 1)?;
            ctx.paho("aliases", V5, 1)
        },
    );
    list.add(
        Mosquitto,
        "control (mosquitto): paho request/response, takeover",
        &Protocol::ALL,
        Some(1),
        |ctx| {
            ctx.paho("request-response", V5, 1)?;
            ctx.paho("takeover", Protocol::V311, 1)?;
            // mosquitto before 2.0.15 closes a 5.0 connection taken over without DISCONNECT
            // 0x8E (eclipse-mosquitto/mosquitto#2607); Debian 12 has 2.0.11. tern is held to
            // the DISCONNECT.
            ctx.paho_with("takeover", V5, 1, &["--takeover-may-just-close"])
        },
    );

    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                Plain,
                "mosquitto_pub -l -> mosquitto_sub: once, in order",
                &[proto],
                Some(qos),
                move |ctx| qos_stream(ctx, proto, qos),
            );
        }
    }
    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                Plain,
                "paho pub -> paho sub: once, in order",
                &[proto],
                Some(qos),
                move |ctx| ctx.paho("deliver", proto, qos),
            );
        }
    }
    for proto in Protocol::ALL {
        list.add(
            Plain,
            "retained: set, replace, clear, late subscriber",
            &[proto],
            Some(1),
            move |ctx| retained(ctx, proto),
        );
    }
    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                Plain,
                "will: sent after kill -9, not after DISCONNECT",
                &[proto],
                Some(qos),
                move |ctx| will(ctx, proto, qos),
            );
        }
    }
    list.add(
        Plain,
        "will delay: sent 2 s after kill -9",
        &[V5],
        Some(1),
        |ctx| will_delay(ctx, WillDelay::Delay),
    );
    list.add(
        Plain,
        "will delay: session expiry (1 s) comes first",
        &[V5],
        Some(1),
        |ctx| will_delay(ctx, WillDelay::SessionEnds),
    );
    for proto in Protocol::ALL {
        for qos in 1..=2 {
            list.add(
                Plain,
                "persistent session: queued while offline, once",
                &[proto],
                Some(qos),
                move |ctx| persistent_session(ctx, proto, qos),
            );
        }
    }
    for proto in Protocol::ALL {
        list.add(Plain, "wildcards: + and #", &[proto], Some(1), move |ctx| {
            wildcards(ctx, proto)
        });
    }
    for proto in Protocol::ALL {
        list.add(
            Plain,
            "$SYS/broker: readable, updated, not matched by #",
            &[proto],
            Some(0),
            move |ctx| sys(ctx, proto),
        );
    }
    list.add(
        Plain,
        "shared subscriptions (paho)",
        &[V5],
        Some(1),
        |ctx| ctx.paho("shared", V5, 1),
    );
    list.add(
        Plain,
        "subscription identifiers and no-local (paho)",
        &[V5],
        Some(1),
        |ctx| ctx.paho("subid-nolocal", V5, 1),
    );
    list.add(
        Plain,
        "retain handling 0/1/2, retain as published (paho)",
        &[V5],
        Some(1),
        |ctx| ctx.paho("retain-handling", V5, 1),
    );
    list.add(
        Plain,
        "message expiry: retained, queued offline, remaining (paho)",
        &[V5],
        Some(1),
        |ctx| ctx.paho("expiry", V5, 1),
    );
    list.add(
        Plain,
        "topic aliases: set, reuse, remap, above maximum (paho)",
        &[V5],
        Some(1),
        |ctx| ctx.paho("aliases", V5, 1),
    );
    list.add(
        Plain,
        "request/response properties, user properties (paho)",
        &[V5],
        Some(1),
        |ctx| ctx.paho("request-response", V5, 1),
    );
    for proto in Protocol::ALL {
        list.add(
            Plain,
            "takeover: same client id, session kept (paho)",
            &[proto],
            Some(1),
            move |ctx| ctx.paho("takeover", proto, 1),
        );
    }
    for proto in Protocol::ALL {
        for qos in 0..=2 {
            list.add(
                Plain,
                "1 MiB payload: mosquitto_pub -f -> mosquitto_sub",
                &[proto],
                Some(qos),
                move |ctx| big_payload(ctx, proto, qos),
            );
        }
    }

    for proto in Protocol::ALL {
        list.add(
            Tls,
            "TLS: mosquitto_pub --cafile -> mosquitto_sub --cafile",
            &[proto],
            Some(1),
            move |ctx| tls_deliver(ctx, proto, Listener::Tls),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            Tls,
            "TLS: a client trusting another CA refuses",
            &[proto],
            None,
            move |ctx| tls_refused(ctx, proto, Listener::TlsUntrustedCa, Listener::Tls),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            ClientCert,
            "client_ca: with --cert --key, delivered",
            &[proto],
            Some(1),
            move |ctx| tls_deliver(ctx, proto, Listener::TlsClientCert),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            ClientCert,
            "client_ca: without a client certificate, refused",
            &[proto],
            None,
            move |ctx| tls_refused(ctx, proto, Listener::Tls, Listener::TlsClientCert),
        );
    }

    for proto in Protocol::ALL {
        list.add(
            Auth,
            "password file: good credentials accepted",
            &[proto],
            Some(1),
            move |ctx| password_accepted(ctx, proto),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            Auth,
            "password file: bad ones refused (CONNACK code)",
            &[proto],
            None,
            move |ctx| password_refused(ctx, proto),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            Auth,
            "ACL: publish on own subtree only",
            &[proto],
            Some(1),
            move |ctx| acl_publish(ctx, proto),
        );
    }
    for proto in Protocol::ALL {
        list.add(
            Auth,
            "ACL: subscribe on own subtree only",
            &[proto],
            Some(1),
            move |ctx| acl_subscribe(ctx, proto),
        );
    }
    list.0
}

struct List(Vec<Scenario>);

impl List {
    fn add(
        &mut self,
        group: Group,
        name: &str,
        protocols: &[Protocol],
        qos: Option<u8>,
        run: impl Fn(&mut Ctx<'_>) -> Result<(), String> + 'static,
    ) {
        self.0.push(Scenario {
            name: name.to_owned(),
            protocol: protocols
                .iter()
                .map(|p| p.label())
                .collect::<Vec<_>>()
                .join("+"),
            qos: qos.map_or_else(|| "-".to_owned(), |q| q.to_string()),
            group,
            run: Box::new(run),
        });
    }
}

/// How many messages the ordered streams send: well over the in-flight windows (tern's
/// receive maximum of 100, mosquitto_pub's 20), so flow control is crossed many times.
const STREAM_LEN: usize = 1000;

/// `mosquitto_pub -l`: 1,000 lines on one connection at `qos`; the subscriber gets each exactly
/// once, in order (MQTT 4.6: ordered per publisher and topic), at that QoS.
fn qos_stream(ctx: &mut Ctx<'_>, proto: Protocol, qos: u8) -> Result<(), String> {
    let topic = ctx.topic("stream");
    let count = STREAM_LEN.to_string();
    let sub = ctx
        .sub_cmd(proto, &ctx.id("s"), &[&topic], qos)?
        .args(["-C", &count, "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(&sub)?;
    let lines: Vec<String> = (0..STREAM_LEN).map(|n| format!("line {n:04}")).collect();
    let publish = ctx
        .mosquitto(Role::Pub, proto, Listener::Plain, &ctx.id("p"))?
        .args(["-t", &topic, "-q", &qos.to_string(), "-l"]);
    let stdin = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    ctx.run(
        "mosquitto_pub -l",
        &publish,
        Some(stdin.into_bytes()),
        Some(0),
    )?;
    let output = finish("mosquitto_sub", &mut sub, Some(0))?;
    let got = messages(&output)?;
    let want: Vec<(&str, &[u8], bool)> = lines
        .iter()
        .map(|l| (topic.as_str(), l.as_bytes(), false))
        .collect();
    expect_messages("the subscriber", &got, &want)?;
    expect_qos(&got, qos)
}

fn expect_qos(got: &[Msg], qos: u8) -> Result<(), String> {
    match got.iter().find(|m| m.qos != qos) {
        Some(m) => Err(format!(
            "expected every message at QoS {qos}, got {}",
            m.show()
        )),
        None => Ok(()),
    }
}

/// Retained: set, then replace (a late subscriber gets the replacement, with the retain flag);
/// then clear with an empty payload (a late subscriber gets nothing for that topic). A
/// subscriber present all along gets all three as ordinary messages (retain 0: MQTT-3.3.1-9 /
/// 5.0 Retain As Published off).
fn retained(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let value = ctx.topic("r/value");
    let sentinel = ctx.topic("r/sentinel");
    let all = ctx.topic("r/#");
    let end = ctx.topic("r/end");

    let live = ctx
        .sub_cmd(proto, &ctx.id("l"), &[&value], 1)?
        .args(["-C", "3", "-W", SUB_WAIT]);
    let mut live = ctx.subscriber(&live)?;
    ctx.publish(proto, &value, 1, &["-r", "-m", "first"])?;
    ctx.publish(proto, &value, 1, &["-r", "-m", "second"])?;

    let late = ctx
        .sub_cmd(proto, &ctx.id("a"), &[&value], 1)?
        .args(["-C", "1", "-W", SUB_WAIT]);
    let output = ctx.run("late mosquitto_sub", &late, None, Some(0))?;
    expect_messages(
        "a subscriber after set and replace",
        &messages(&output)?,
        &[(&value, b"second", true)],
    )?;

    ctx.publish(proto, &value, 1, &["-r", "-n"])?;
    let output = finish("the subscriber present all along", &mut live, Some(0))?;
    expect_messages(
        "the subscriber present all along",
        &messages(&output)?,
        &[
            (&value, b"first", false),
            (&value, b"second", false),
            (&value, b"", false),
        ],
    )?;

    // After the clear, only the sentinel is retained under r/#; `end` (live, not retained)
    // closes the list, so a stale `value` would show up before it.
    ctx.publish(proto, &sentinel, 1, &["-r", "-m", "sentinel"])?;
    let after = ctx
        .sub_cmd(proto, &ctx.id("b"), &[&all], 1)?
        .args(["-C", "2", "-W", SUB_WAIT]);
    let mut after = ctx.subscriber(&after)?;
    ctx.publish(proto, &end, 1, &["-m", "end"])?;
    let output = finish("mosquitto_sub after the clear", &mut after, Some(0))?;
    let result = expect_messages(
        "a subscriber to r/# after the clear",
        &messages(&output)?,
        &[(&sentinel, b"sentinel", true), (&end, b"end", false)],
    );
    // Leave no retained message behind for the `#` subscribers of later scenarios.
    ctx.publish(proto, &sentinel, 1, &["-r", "-n"])?;
    result
}

/// A client that disconnects cleanly leaves no will; one killed with SIGKILL does, at the will
/// QoS (MQTT-3.1.2-8, -10; 5.0 3.1.2.5).
fn will(ctx: &mut Ctx<'_>, proto: Protocol, qos: u8) -> Result<(), String> {
    let will_topic = ctx.topic("will");
    let idle = ctx.topic("idle");
    let watcher = ctx
        .sub_cmd(proto, &ctx.id("w"), &[&will_topic], 2)?
        .args(["-C", "1", "-W", SUB_WAIT]);
    let mut watcher = ctx.subscriber(&watcher)?;
    let holder = |ctx: &Ctx<'_>, role: &str, payload: &str| {
        ctx.sub_cmd(proto, &ctx.id(role), &[&idle], 1).map(|cmd| {
            cmd.args(["--will-topic", &will_topic, "--will-payload", payload])
                .args(["--will-qos", &qos.to_string()])
        })
    };
    // -E: subscribe, then DISCONNECT normally.
    let clean = holder(ctx, "c", "clean disconnect: must not be sent")?.args(["-E"]);
    ctx.run("mosquitto_sub -E (clean)", &clean, None, Some(0))?;
    let doomed = holder(ctx, "d", "killed")?;
    let mut doomed = ctx.subscriber(&doomed)?;
    doomed.kill();
    let output = finish("the will's watcher", &mut watcher, Some(0))?;
    let got = messages(&output)?;
    expect_messages(
        "the will's watcher",
        &got,
        &[(&will_topic, b"killed", false)],
    )?;
    expect_qos(&got, qos)
}

#[derive(Clone, Copy)]
enum WillDelay {
    /// Will Delay Interval 2 s, session expiry 30 s: the will 2 s after the kill.
    Delay,
    /// Will Delay Interval 30 s, session expiry 1 s: the will when the session ends, ~1 s.
    SessionEnds,
}

/// MQTT 5.0 3.1.3.2.2: the will is sent when the Will Delay Interval has passed or the session
/// ends, whichever is first.
fn will_delay(ctx: &mut Ctx<'_>, which: WillDelay) -> Result<(), String> {
    let proto = Protocol::V5;
    let (delay, expiry, earliest) = match which {
        WillDelay::Delay => ("2", "30", Duration::from_millis(1800)),
        WillDelay::SessionEnds => ("30", "1", Duration::from_millis(800)),
    };
    let latest = earliest + Duration::from_secs(3);
    let will_topic = ctx.topic("will");
    let watcher = ctx
        .sub_cmd(proto, &ctx.id("w"), &[&will_topic], 1)?
        .args(["-C", "1", "-W", SUB_WAIT]);
    let mut watcher = ctx.subscriber(&watcher)?;
    let doomed = ctx
        .sub_cmd(proto, &ctx.id("d"), &[&ctx.topic("idle")], 1)?
        .args(["--will-topic", &will_topic, "--will-payload", "late"])
        .args(["--will-qos", "1", "-x", expiry])
        .args(["-D", "will", "will-delay-interval", delay]);
    let mut doomed = ctx.subscriber(&doomed)?;
    doomed.kill();
    let killed = Instant::now();
    let output = finish("the will's watcher", &mut watcher, Some(0))?;
    let took = killed.elapsed();
    expect_messages(
        "the will's watcher",
        &messages(&output)?,
        &[(&will_topic, b"late", false)],
    )?;
    if took < earliest || took > latest {
        return Err(format!(
            "will delay {delay} s, session expiry {expiry} s: the will came {:.1} s after the \
             kill, expected between {:.1} and {:.1} s",
            took.as_secs_f64(),
            earliest.as_secs_f64(),
            latest.as_secs_f64()
        ));
    }
    Ok(())
}

/// `-c` (3.1.1 clean session 0; 5.0 clean start 0 with `-x 60` session expiry): subscribe and
/// leave; four messages (QoS 1, 1, 2, 2) are queued; the next connection gets each exactly
/// once, in order, and the one after gets nothing.
fn persistent_session(ctx: &mut Ctx<'_>, proto: Protocol, sub_qos: u8) -> Result<(), String> {
    let topic = ctx.topic("queued");
    let id = ctx.id("k");
    let session = |ctx: &Ctx<'_>| {
        let cmd = ctx.sub_cmd(proto, &id, &[&topic], sub_qos)?.args(["-c"]);
        Ok::<_, String>(match proto {
            Protocol::V5 => cmd.args(["-x", "60"]),
            Protocol::V311 => cmd,
        })
    };
    let first = session(ctx)?.args(["-E"]);
    ctx.run("the first mosquitto_sub -c -E", &first, None, Some(0))?;

    let sent: [(u8, &[u8]); 4] = [
        (1, b"queued qos 1 a"),
        (1, b"queued qos 1 b"),
        (2, b"queued qos 2 a"),
        (2, b"queued qos 2 b"),
    ];
    for (qos, payload) in sent {
        ctx.publish(
            proto,
            &topic,
            qos,
            &["-m", &String::from_utf8_lossy(payload)],
        )?;
    }
    // No -C: mosquitto_sub -C may exit before it acknowledges the last message, which would
    // leave it for the next connection. -W 2 lets every acknowledgement go out.
    let second = session(ctx)?.args(["-W", "2"]);
    let output = ctx.run(
        "the second mosquitto_sub -c",
        &second,
        None,
        Some(TIMED_OUT),
    )?;
    let got = messages(&output)?;
    let want: Vec<(&str, &[u8], bool)> = sent
        .iter()
        .map(|(_, p)| (topic.as_str(), *p, false))
        .collect();
    expect_messages("the resumed session", &got, &want)?;
    for (msg, (qos, _)) in got.iter().zip(sent) {
        if msg.qos != qos.min(sub_qos) {
            return Err(format!(
                "{} arrived at QoS {}, expected min(publish {qos}, subscription {sub_qos})",
                msg.show(),
                msg.qos
            ));
        }
    }
    let third = session(ctx)?.args(["-W", "1"]);
    let output = ctx.run("the third mosquitto_sub -c", &third, None, Some(TIMED_OUT))?;
    expect_messages("the connection after that", &messages(&output)?, &[])
}

/// `+` matches one level, `#` any number including none (MQTT-4.7.1-2: `a/#` matches `a`).
fn wildcards(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let base = ctx.topic("w");
    let plus = format!("{base}/+/temp");
    let hash = format!("{base}/deep/#");
    let sub = ctx
        .sub_cmd(proto, &ctx.id("s"), &[&plus, &hash], 1)?
        .args(["-C", "4", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(&sub)?;
    let topics = [
        (format!("{base}/a/temp"), true),
        (format!("{base}/a/b/temp"), false),
        (format!("{base}/deep"), true),
        (format!("{base}/deeper/x"), false),
        (format!("{base}/deep/x/y"), true),
        (format!("{base}/temp"), false),
        (format!("{base}/b/temp"), true),
    ];
    for (topic, _) in &topics {
        ctx.publish(proto, topic, 1, &["-m", topic])?;
    }
    let output = finish("mosquitto_sub", &mut sub, Some(0))?;
    let want: Vec<(&str, &[u8], bool)> = topics
        .iter()
        .filter(|(_, matches)| *matches)
        .map(|(t, _)| (t.as_str(), t.as_bytes(), false))
        .collect();
    expect_messages(
        &format!("a subscriber to {plus} and {hash}"),
        &messages(&output)?,
        &want,
    )
}

/// `$SYS/broker/clients/connected` is readable and counts the reader; `$SYS/broker/uptime` is
/// updated while we watch (interval 1 s); a `#` subscriber sees ordinary topics but no `$`
/// topic (MQTT-4.7.2-1).
fn sys(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let connected = "$SYS/broker/clients/connected";
    let uptime = "$SYS/broker/uptime";
    let reader = ctx
        .sub_cmd(proto, &ctx.id("r"), &[connected, uptime], 0)?
        .args(["-W", "3"]);
    let mut reader = ctx.subscriber(&reader)?;
    let everything = ctx
        .sub_cmd(proto, &ctx.id("h"), &["#"], 0)?
        .args(["-W", "3"]);
    let mut everything = ctx.subscriber(&everything)?;
    let marker = ctx.topic("marker");
    ctx.publish(proto, &marker, 0, &["-m", "seen by #"])?;

    let got = messages(&finish("the $SYS reader", &mut reader, Some(TIMED_OUT))?)?;
    let counts: Vec<&Msg> = got.iter().filter(|m| m.topic == connected).collect();
    let last: Option<u64> = counts
        .last()
        .and_then(|m| String::from_utf8_lossy(&m.payload).trim().parse().ok());
    if last.is_none_or(|n| n < 1) {
        return Err(format!(
            "{connected}: expected a count of at least 1 (the reader itself), got {:?}",
            counts.iter().map(|m| m.show()).collect::<Vec<_>>()
        ));
    }
    if !got.iter().any(|m| m.topic == uptime && !m.retain) {
        return Err(format!(
            "{uptime} was not published during 3 s with [sys] interval = 1; got {:?}",
            got.iter().map(Msg::show).collect::<Vec<_>>()
        ));
    }
    let got = messages(&finish(
        "the # subscriber",
        &mut everything,
        Some(TIMED_OUT),
    )?)?;
    if let Some(m) = got.iter().find(|m| m.topic.starts_with('$')) {
        return Err(format!(
            "a subscription to # received {}: topics starting with $ must not match # \
             (MQTT-4.7.2-1)",
            m.show()
        ));
    }
    if !got.iter().any(|m| m.topic == marker) {
        return Err(format!(
            "the # subscriber missed {marker}; it got {:?}",
            got.iter().map(Msg::show).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// 1 MiB of every byte value, `-f` to a subscriber, compared byte for byte.
fn big_payload(ctx: &mut Ctx<'_>, proto: Protocol, qos: u8) -> Result<(), String> {
    let topic = ctx.topic("big");
    let sub = ctx
        .sub_cmd(proto, &ctx.id("s"), &[&topic], qos)?
        .args(["-C", "1", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(&sub)?;
    let file = path_arg(&ctx.env.big_path);
    ctx.publish(proto, &topic, qos, &["-f", &file])?;
    let output = finish("mosquitto_sub", &mut sub, Some(0))?;
    let got = messages(&output)?;
    match got.as_slice() {
        [m] if m.payload == ctx.env.big => expect_qos(&got, qos),
        [m] => Err(format!(
            "the payload differs: {} bytes arrived, {} were sent",
            m.payload.len(),
            ctx.env.big.len()
        )),
        _ => Err(format!("expected one message, got {}", got.len())),
    }
}

/// Both clients on the TLS listener (`listener`: with or without a client certificate).
fn tls_deliver(ctx: &mut Ctx<'_>, proto: Protocol, listener: Listener) -> Result<(), String> {
    let topic = ctx.topic("tls");
    let sub = ctx
        .sub_cmd_on(proto, listener, &ctx.id("s"), &[&topic], 1)?
        .args(["-C", "1", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(&sub)?;
    let publish = ctx
        .mosquitto(Role::Pub, proto, listener, &ctx.id("p"))?
        .args(["-t", &topic, "-q", "1", "-m", "over TLS"]);
    ctx.run("mosquitto_pub", &publish, None, Some(0))?;
    let output = finish("mosquitto_sub", &mut sub, Some(0))?;
    expect_messages(
        "the subscriber",
        &messages(&output)?,
        &[(&topic, b"over TLS", false)],
    )
}

/// A client on `refused` fails before CONNACK and exits non-zero; its message does not reach
/// a subscriber on `good`, which gets the next, permitted one.
fn tls_refused(
    ctx: &mut Ctx<'_>,
    proto: Protocol,
    refused: Listener,
    good: Listener,
) -> Result<(), String> {
    let topic = ctx.topic("tls");
    let sub = ctx
        .sub_cmd_on(proto, good, &ctx.id("s"), &[&topic], 1)?
        .args(["-C", "1", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(&sub)?;
    let bad = ctx
        .mosquitto(Role::Pub, proto, refused, &ctx.id("x"))?
        .args(["-d", "-t", &topic, "-q", "1", "-m", "must not arrive"]);
    let output = ctx.run("mosquitto_pub (to be refused)", &bad, None, None)?;
    if output.status.success() || contains(&output, "received CONNACK") {
        return Err(format!(
            "the TLS handshake should have failed, but the client connected\n{}",
            output.describe()
        ));
    }
    let publish = ctx.mosquitto(Role::Pub, proto, good, &ctx.id("p"))?.args([
        "-t",
        &topic,
        "-q",
        "1",
        "-m",
        "permitted",
    ]);
    ctx.run("mosquitto_pub", &publish, None, Some(0))?;
    let output = finish("mosquitto_sub", &mut sub, Some(0))?;
    expect_messages(
        "the subscriber",
        &messages(&output)?,
        &[(&topic, b"permitted", false)],
    )
}

fn contains(output: &Output, needle: &str) -> bool {
    String::from_utf8_lossy(&output.stdout).contains(needle)
        || String::from_utf8_lossy(&output.stderr).contains(needle)
}

fn credentials(cmd: crate::run::Cmd, (user, password): (&str, &str)) -> crate::run::Cmd {
    cmd.args(["-u", user, "-P", password])
}

/// alice (password file, `tern broker passwd -b`) publishes; admin, subscribed, receives.
fn password_accepted(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let topic = format!("acl/alice/{}/hello", ctx.case);
    let sub = credentials(ctx.sub_cmd(proto, &ctx.id("s"), &["acl/#"], 1)?, ADMIN)
        .args(["-C", "1", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(&sub)?;
    let publish = credentials(
        ctx.mosquitto(Role::Pub, proto, Listener::Plain, &ctx.id("p"))?,
        ALICE,
    )
    .args(["-d", "-t", &topic, "-q", "1", "-m", "hello from alice"]);
    let output = ctx.run("mosquitto_pub as alice", &publish, None, Some(0))?;
    if !contains(&output, "received CONNACK (0)") {
        return Err(format!(
            "expected CONNACK 0 for alice\n{}",
            output.describe()
        ));
    }
    let output = finish("mosquitto_sub as admin", &mut sub, Some(0))?;
    expect_messages(
        "admin's subscriber",
        &messages(&output)?,
        &[(&topic, b"hello from alice", false)],
    )
}

/// Who tries, with which user name and password, and the CONNACK codes that are right.
type Attempt<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A wrong password, an unknown user and no user name at all are each refused in CONNACK:
/// 5.0 0x86 Bad User Name or Password for the first two and 0x86 or 0x87 Not authorized for
/// the anonymous one; 3.1.1 4 (bad user name or password) or 5 (not authorized) — 3.1.1 gives
/// 4 for "malformed" data, and brokers differ (mosquitto answers 5).
fn password_refused(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let topic = format!("acl/alice/{}/x", ctx.case);
    let (bad_login, anonymous): (&[u8], &[u8]) = match proto {
        Protocol::V311 => (&[4, 5], &[4, 5]),
        Protocol::V5 => (&[0x86], &[0x86, 0x87]),
    };
    let attempts: [Attempt<'_>; 3] = [
        (
            "alice with a wrong password",
            Some((ALICE.0, "not alice's secret")),
            bad_login,
        ),
        ("an unknown user", Some(("mallory", ALICE.1)), bad_login),
        ("no user name (anonymous off)", None, anonymous),
    ];
    for (n, (who, login, codes)) in attempts.into_iter().enumerate() {
        let mut cmd = ctx
            .mosquitto(Role::Pub, proto, Listener::Plain, &ctx.id(&format!("x{n}")))?
            .args(["-d", "-t", &topic, "-q", "1", "-m", "must not arrive"]);
        if let Some(login) = login {
            cmd = credentials(cmd, login);
        }
        let output = ctx.run(&format!("mosquitto_pub as {who}"), &cmd, None, None)?;
        let code = String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|l| {
                let rest = l.split("received CONNACK (").nth(1)?;
                rest.split(')').next()?.parse::<u8>().ok()
            });
        match code {
            Some(c) if codes.contains(&c) && !output.status.success() => {}
            _ => {
                return Err(format!(
                    "{who}: expected a CONNACK refusing with {} and a failed exit, got CONNACK \
                     code {code:?}\n{}",
                    codes
                        .iter()
                        .map(|c| format!("{c:#04x}"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    output.describe()
                ));
            }
        }
    }
    Ok(())
}

/// alice publishes to bob's subtree (no rule grants it) and to `acl/alice/private/...` (a
/// `deny` rule), then to her own: admin, subscribed to `acl/#`, gets only the last. In 5.0
/// the denied QoS 1 publishes are answered with PUBACK 0x87 Not authorized (3.3.4 / 3.4.2.1);
/// in 3.1.1 the broker acknowledges and drops, or closes the connection (MQTT-3.3.5-2).
fn acl_publish(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let case = ctx.case;
    let own = format!("acl/alice/{case}/ok");
    let sub = credentials(ctx.sub_cmd(proto, &ctx.id("s"), &["acl/#"], 1)?, ADMIN)
        .args(["-C", "1", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(&sub)?;
    for (n, denied) in [
        format!("acl/bob/{case}/x"),
        format!("acl/alice/private/{case}"),
    ]
    .iter()
    .enumerate()
    {
        let publish = credentials(
            ctx.mosquitto(Role::Pub, proto, Listener::Plain, &ctx.id(&format!("x{n}")))?,
            ALICE,
        )
        .args(["-d", "-t", denied, "-q", "1", "-m", "denied"]);
        let output = ctx.run("mosquitto_pub as alice (denied)", &publish, None, None)?;
        if proto == Protocol::V5 && !contains(&output, "RC:135") {
            return Err(format!(
                "a denied QoS 1 PUBLISH to {denied} should be answered with PUBACK 0x87 (135) \
                 Not authorized\n{}",
                output.describe()
            ));
        }
    }
    let publish = credentials(
        ctx.mosquitto(Role::Pub, proto, Listener::Plain, &ctx.id("p"))?,
        ALICE,
    )
    .args(["-t", &own, "-q", "1", "-m", "permitted"]);
    ctx.run(
        "mosquitto_pub as alice (permitted)",
        &publish,
        None,
        Some(0),
    )?;
    let output = finish("mosquitto_sub as admin", &mut sub, Some(0))?;
    expect_messages(
        "admin's subscriber to acl/#",
        &messages(&output)?,
        &[(&own, b"permitted", false)],
    )
}

/// alice subscribes to her subtree and to bob's in one SUBSCRIBE: the SUBACK grants the first
/// and refuses the second (3.1.1 0x80; 5.0 0x87 Not authorized). bob then publishes in his
/// subtree and alice in hers: alice's subscriber gets only her own.
fn acl_subscribe(ctx: &mut Ctx<'_>, proto: Protocol) -> Result<(), String> {
    let case = ctx.case;
    let own = format!("acl/alice/{case}/#");
    let bobs = format!("acl/bob/{case}/#");
    let refused = match proto {
        Protocol::V311 => 0x80,
        Protocol::V5 => 0x87,
    };
    let sub = credentials(ctx.sub_cmd(proto, &ctx.id("s"), &[&own, &bobs], 1)?, ALICE)
        .args(["-C", "1", "-W", SUB_WAIT]);
    let mut sub = ctx.subscriber(&sub)?;
    let suback = format!("Subscribed (mid: 1): 1, {refused}");
    let granted = sub.wait_for(
        crate::interop::child::Stream::Stdout,
        &suback,
        Duration::from_secs(2),
    );
    let bob = credentials(
        ctx.mosquitto(Role::Pub, proto, Listener::Plain, &ctx.id("b"))?,
        ("bob", "bob's secret"),
    )
    .args(["-t", &format!("acl/bob/{case}/x"), "-q", "1", "-m", "bob's"]);
    ctx.run("mosquitto_pub as bob", &bob, None, Some(0))?;
    let alice_topic = format!("acl/alice/{case}/y");
    let alice = credentials(
        ctx.mosquitto(Role::Pub, proto, Listener::Plain, &ctx.id("p"))?,
        ALICE,
    )
    .args(["-t", &alice_topic, "-q", "1", "-m", "alice's"]);
    ctx.run("mosquitto_pub as alice", &alice, None, Some(0))?;
    let output = finish("mosquitto_sub as alice", &mut sub, Some(0))?;
    granted.map_err(|e| format!("expected the SUBACK `{suback}`: {e}"))?;
    expect_messages(
        "alice's subscriber",
        &messages(&output)?,
        &[(&alice_topic, b"alice's", false)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_table_and_groups_are_contiguous() {
        let all = scenarios();
        assert!(
            all.iter().all(|s| s.name.len() <= 60),
            "keep the table narrow"
        );
        // Each group's broker is started once: a group must not come back after another.
        let mut seen: Vec<Group> = Vec::new();
        for s in &all {
            if seen.last() != Some(&s.group) {
                assert!(!seen.contains(&s.group), "{:?} comes twice", s.group);
                seen.push(s.group);
            }
        }
        assert_eq!(seen.first(), Some(&Group::Mosquitto), "controls first");
    }
}
