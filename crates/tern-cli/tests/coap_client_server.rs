//! `tern coap get|post|put|delete|discover` against `tern coap serve`, end to end: the built
//! binary on both sides, the server on an ephemeral loopback port it reports on stderr.

mod common;

use common::*;

use std::net::UdpSocket;
use std::process::{Child, Output};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// A running `tern coap serve --bind 127.0.0.1:0 -v`, killed on drop.
struct Server {
    child: Child,
    addr: String,
    /// The server's stderr lines after `listening on` (its `-v` log).
    log: mpsc::Receiver<String>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut args = vec!["coap", "serve", "--bind", "127.0.0.1:0", "-v"];
        args.extend_from_slice(extra);
        let mut child = tern(&args).spawn().expect("run tern coap serve");
        let log = stderr_lines(&mut child);
        let first = log
            .recv_timeout(WAIT)
            .expect("tern coap serve says where it listens");
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("expected `listening on ADDR`, got {first:?}"))
            .to_owned();
        assert!(
            addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
            "{addr}"
        );
        Server { child, addr, log }
    }

    fn uri(&self, path: &str) -> String {
        format!("coap://{}{path}", self.addr)
    }

    /// The `-v` lines logged so far.
    fn logged(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tern coap ARGS` (with a 10 s -B unless the test gives one).
fn coap(args: &[&str]) -> Output {
    let mut all = vec!["coap"];
    all.extend_from_slice(args);
    if !args.contains(&"-B") {
        all.extend(["-B", "10"]);
    }
    run(&all, b"")
}

fn ok_stdout(args: &[&str]) -> String {
    let out = coap(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn json_of(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let out = coap(&all);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{args:?}: {lines:?} {}", stderr(&out));
    (
        out.status.code().unwrap_or(-1),
        lines.into_iter().next().unwrap(),
    )
}

#[test]
fn get_prints_the_payload_and_a_newline() {
    let server = Server::start(&[]);
    assert_eq!(
        ok_stdout(&["get", &server.uri("/hello")]),
        "Hello, world!\n"
    );
    // The same request without a subcommand.
    assert_eq!(ok_stdout(&[&server.uri("/hello")]), "Hello, world!\n");
}

#[test]
fn put_and_post_change_hello() {
    let server = Server::start(&[]);
    let hello = server.uri("/hello");
    assert_eq!(ok_stdout(&["put", &hello, "-e", "first", "-t", "text"]), "");
    assert_eq!(ok_stdout(&["get", &hello]), "first\n");
    let (code, response) = json_of(&["post", &hello, "-e", "second\n"]);
    assert_eq!(code, 0);
    assert_eq!(response["code"], "2.04");
    assert_eq!(response["code_name"], "Changed");
    // A payload that ends with a newline gets no second one.
    assert_eq!(ok_stdout(&["-m", "get", &hello]), "second\n");
}

#[test]
fn store_through_its_life_with_json() {
    let server = Server::start(&[]);
    let item = server.uri("/store/item");
    assert_eq!(json_of(&["put", &item, "-e", "one"]).1["code"], "2.01");
    assert_eq!(json_of(&["put", &item, "-e", "two"]).1["code"], "2.04");
    let (code, got) = json_of(&["get", &item]);
    assert_eq!(code, 0);
    assert_eq!(
        got,
        json!({"code": "2.05", "code_name": "Content", "type": "ACK", "options": [], "payload": "two"})
    );
    assert_eq!(json_of(&["delete", &item]).1["code"], "2.02");
    let (code, gone) = json_of(&["get", &item]);
    assert_eq!((code, &gone["code"]), (1, &json!("4.04")));

    let (code, created) = json_of(&["post", &server.uri("/store"), "-e", "posted"]);
    assert_eq!((code, &created["code"]), (0, &json!("2.01")));
    let location: Vec<&str> = created["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["name"] == "Location-Path")
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(location[0], "store");
    let posted = server.uri(&format!("/{}", location.join("/")));
    assert_eq!(ok_stdout(&["get", &posted]), "posted\n");
}

#[test]
fn binary_payloads_from_a_file_come_back_as_hex() {
    let server = Server::start(&[]);
    let path = std::env::temp_dir().join(format!("tern-coap-bin-{}", std::process::id()));
    std::fs::write(&path, [0xff, 0x00, 0x80]).unwrap();
    let item = server.uri("/store/bin");
    let file = path.to_str().unwrap();
    assert_eq!(ok_stdout(&["put", &item, "-f", file, "-t", "octet"]), "");
    let (_, got) = json_of(&["get", &item]);
    assert_eq!(got["payload_hex"], "ff0080");
    assert_eq!(got["options"][0]["value"]["value"], 42);
    let _ = std::fs::remove_file(path);
}

#[test]
fn errors_exit_1_with_the_code() {
    let server = Server::start(&[]);
    let out = coap(&["get", &server.uri("/nowhere")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "tern: error: 4.04 Not Found\n");
    let out = coap(&["delete", &server.uri("/hello")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "tern: error: 4.05 Method Not Allowed\n");
}

#[test]
fn a_separate_response_comes_in_a_con() {
    let server = Server::start(&[]);
    let started = Instant::now();
    let (code, got) = json_of(&["get", &server.uri("/separate")]);
    assert_eq!(code, 0);
    assert_eq!(
        (&got["type"], &got["payload"]),
        (&json!("CON"), &json!("separate"))
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[test]
fn non_requests_get_non_responses() {
    let server = Server::start(&[]);
    let (_, got) = json_of(&["get", &server.uri("/hello"), "-N"]);
    assert_eq!(
        (&got["type"], &got["payload"]),
        (&json!("NON"), &json!("Hello, world!"))
    );
}

#[test]
fn verbose_shows_each_message_on_both_sides() {
    let server = Server::start(&[]);
    let out = coap(&["get", &server.uri("/hello"), "-v"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<String> = stderr(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("> CON GET mid="), "{lines:?}");
    assert!(lines[0].ends_with(" /hello"), "{lines:?}");
    assert!(lines[1].starts_with("< ACK 2.05 Content mid="), "{lines:?}");
    assert!(lines[1].ends_with("(13 bytes)"), "{lines:?}");
    // The server logs the same two messages, with the client's address.
    let deadline = Instant::now() + WAIT;
    let mut logged = Vec::new();
    while logged.len() < 2 && Instant::now() < deadline {
        logged.extend(server.logged());
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        logged[0].starts_with("< 127.0.0.1:") && logged[0].contains(" CON GET mid="),
        "{logged:?}"
    );
    assert!(
        logged[1].starts_with("> 127.0.0.1:") && logged[1].contains(" ACK 2.05 Content"),
        "{logged:?}"
    );
}

/// The server's `-v` lines until `n` have come (or the wait ran out).
fn server_lines(server: &Server, n: usize) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut logged = Vec::new();
    while logged.len() < n && Instant::now() < deadline {
        logged.extend(server.logged());
        thread::sleep(Duration::from_millis(20));
    }
    logged
}

#[test]
fn a_chosen_token_goes_on_the_wire() {
    let server = Server::start(&[]);
    // As text: the token is the text's bytes ("tern" = 74 65 72 6e).
    let out = coap(&["get", &server.uri("/hello"), "-T", "tern", "-v"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Hello, world!\n");
    let lines: Vec<String> = stderr(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("> CON GET mid=") && lines[0].contains(" token=7465726e /hello"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("< ACK 2.05 Content") && lines[1].contains(" token=7465726e "),
        "{lines:?}"
    );
    // The server saw it too, and answered on it.
    let logged = server_lines(&server, 2);
    assert!(
        logged
            .iter()
            .filter(|l| l.contains(" token=7465726e"))
            .count()
            == 2,
        "{logged:?}"
    );

    // As hex after 0x, for binary tokens; with -m and with discover as well.
    let out = coap(&[
        "-m",
        "post",
        &server.uri("/store"),
        "-e",
        "x",
        "-T",
        "0x00ff",
        "-v",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .lines()
            .next()
            .unwrap()
            .contains(" token=00ff /store")
    );
    let out = coap(&[
        "discover",
        &format!("coap://{}", server.addr),
        "-T",
        "0xCAFE",
        "-v",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .lines()
            .next()
            .unwrap()
            .contains(" token=cafe /.well-known/core"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_observation_keeps_its_chosen_token() {
    let server = Server::start(&[]);
    let out = coap(&[
        "observe",
        &server.uri("/time"),
        "-s",
        "1.5",
        "-T",
        "obs1",
        "-v",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = stderr(&out);
    let lines: Vec<&str> = log.lines().collect();
    // The registration, its response and each notification carry the token ("obs1" =
    // 6f 62 73 31); only the empty ACKs have none.
    let with_token = lines.iter().filter(|l| l.contains(" token=")).count();
    assert!(with_token >= 3, "{lines:?}");
    for line in &lines {
        assert!(
            !line.contains(" token=") || line.contains(" token=6f627331 "),
            "{lines:?}"
        );
    }
    assert!(
        lines[0].starts_with("> CON GET") && lines[0].contains(" observe=0"),
        "{lines:?}"
    );
}

#[test]
fn tokens_outside_1_to_8_bytes_are_usage_errors() {
    for (token, why) in [
        ("", "-T : a token has 1 to 8 bytes, not 0"),
        ("123456789", "-T 123456789: a token has 1 to 8 bytes, not 9"),
        ("0x", "-T 0x: a token has 1 to 8 bytes, not 0"),
        (
            "0x010203040506070809",
            "-T 0x010203040506070809: a token has 1 to 8 bytes, not 9",
        ),
    ] {
        for command in ["get", "observe", "discover"] {
            let out = coap(&[command, "coap://127.0.0.1:9/x", "-T", token]);
            assert_eq!(out.status.code(), Some(2), "{command} -T {token:?}");
            assert_eq!(stderr(&out), format!("tern: error: {why}\n"), "{command}");
        }
    }
    let out = coap(&["get", "coap://127.0.0.1:9/x", "-T", "0xzz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("tern: error: -T 0xzz: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn discover_lists_and_filters_the_resources() {
    let server = Server::start(&[]);
    let all = ok_stdout(&["discover", &format!("coap://{}", server.addr)]);
    assert!(all.starts_with("</hello>;rt=\"tern.hello\";ct=0,"), "{all}");
    assert!(
        all.contains("</store>") && all.contains("</separate>"),
        "{all}"
    );
    let filtered = ok_stdout(&["discover", &server.uri("/.well-known/core?rt=tern.hello")]);
    assert_eq!(filtered, "</hello>;rt=\"tern.hello\";ct=0\n");
    let out = coap(&["discover", &server.uri("?href=/s*"), "--json"]);
    let links = json_lines(&out);
    assert_eq!(
        links,
        [
            json!({"href": "/store", "attributes": [{"name": "rt", "value": "tern.store"}]}),
            json!({"href": "/separate", "attributes": [{"name": "rt", "value": "tern.separate"}, {"name": "ct", "value": "0"}]}),
        ]
    );
}

#[test]
fn plugtest_resources() {
    let server = Server::start(&["--plugtest"]);
    assert_eq!(
        ok_stdout(&["get", &server.uri("/test")]),
        "Type: test resource\n"
    );
    assert_eq!(
        ok_stdout(&["get", &server.uri("/seg1/seg2/seg3")]),
        "Type: seg3\n"
    );
    assert_eq!(
        ok_stdout(&["get", &server.uri("/query?first=1&second=2")]),
        "first=1&second=2\n"
    );
    assert_eq!(
        ok_stdout(&["get", &server.uri("/multi-format"), "-A", "xml"]),
        "<multi-format/>\n"
    );
    let (code, _) = json_of(&["get", &server.uri("/multi-format"), "-A", "json"]);
    assert_eq!(code, 1);
    // If-None-Match (option 5, empty): created once, then the precondition fails.
    assert_eq!(
        json_of(&["put", &server.uri("/create1"), "-O", "5,"]).1["code"],
        "2.01"
    );
    assert_eq!(
        json_of(&["put", &server.uri("/create1"), "-O", "5,"]).1["code"],
        "4.12"
    );
    let posted = ok_stdout(&["post", &server.uri("/large-post"), "-e", &"x".repeat(3000)]);
    assert_eq!(
        posted.len(),
        "Type: large-post, received:\n".len() + 3000 + 1
    );
    let links = ok_stdout(&["discover", &server.uri("?rt=Type1")]);
    assert_eq!(
        links,
        "</link1>;rt=\"Type1 Type2\";if=\"If1\",</link3>;rt=\"Type1 Type3\";if=\"foo\"\n"
    );
    // TD_COAP_LINK_04 (the fourth group, rt="", is not of Type2) and LINK_06.
    let links = ok_stdout(&["discover", &server.uri("?rt=Type2")]);
    assert_eq!(
        links,
        "</link1>;rt=\"Type1 Type2\";if=\"If1\",</link2>;rt=\"Type2 Type3\";if=\"If2\"\n"
    );
    assert!(ok_stdout(&["discover", &server.uri("?href=/link4")]).contains("</link4>;rt=\"\""));
    assert_eq!(
        ok_stdout(&["discover", &server.uri("?sz=*")]),
        "</seg1/seg2/seg3>;sz=10\n"
    );
}

/// Waits until the server has logged a line that satisfies `seen`.
fn wait_logged(server: &Server, seen: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if server.logged().iter().any(|l| seen(l)) {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("the server never logged what was awaited");
}

/// Starts `tern coap observe URI ARGS --json` and waits until `server` has its registration.
fn observe_in_background(server: &Server, path: &str, args: &[&str]) -> Child {
    let uri = server.uri(path);
    let mut all = vec!["coap", "observe", &uri, "--json", "-B", "10"];
    all.extend_from_slice(args);
    let child = tern(&all).spawn().expect("run tern coap observe");
    wait_logged(server, |l| {
        l.contains(" CON GET ") && l.contains(&format!(" {path} ")) && l.contains("observe=0")
    });
    child
}

#[test]
fn plugtest_obs_non_notifies_a_con_registrant_with_non() {
    let server = Server::start(&["--plugtest"]);
    // Both registrations are CON (no -N); /obs-non notifies NON all the same, while /obs,
    // for comparison, notifies CON.
    let observe = |path: &str| {
        let uri = server.uri(path);
        tern(&["coap", "observe", &uri, "-s", "6", "--json", "-B", "10"])
            .spawn()
            .expect("run tern coap observe")
    };
    let (non, con) = (observe("/obs-non"), observe("/obs"));
    for (child, mtype, body) in [(non, "NON", "Type: obs-non"), (con, "CON", "Type: obs,")] {
        let out = wait(child);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let lines = json_lines(&out);
        assert!(
            lines.len() >= 2,
            "the response and a notification: {lines:?}"
        );
        assert_eq!(lines[0]["type"], "ACK");
        for line in &lines[1..] {
            assert_eq!(line["type"], mtype, "{lines:?}");
            assert!(
                line["payload"].as_str().unwrap().starts_with(body),
                "{line}"
            );
        }
    }
}

#[test]
fn plugtest_obs_pumping_changes_in_bursts_delivered_in_order() {
    let server = Server::start(&["--plugtest"]);
    let out = coap(&["observe", &server.uri("/obs-pumping"), "-s", "6", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let changes: Vec<u64> = json_lines(&out)
        .iter()
        .map(|l| {
            let text = l["payload"].as_str().unwrap();
            text.rsplit_once("change ").unwrap().1.parse().unwrap()
        })
        .collect();
    // The response, then a burst of changes at the 5 s tick.
    assert!(changes.len() >= 3, "{changes:?}");
    assert!(changes.windows(2).all(|w| w[0] < w[1]), "{changes:?}");
}

#[test]
fn plugtest_obs_reset_ends_observations_with_4_04_on_request() {
    let server = Server::start(&["--plugtest"]);
    let wrong = coap(&["post", &server.uri("/obs-reset"), "-e", "please"]);
    assert_eq!(stderr(&wrong), "tern: error: 4.03 Forbidden\n");
    let observer = observe_in_background(&server, "/obs", &["-s", "8"]);
    let started = Instant::now();
    ok_stdout(&["post", &server.uri("/obs-reset?notfound"), "-e", "sesame"]);
    let out = wait(observer);
    assert!(started.elapsed() < Duration::from_secs(5), "ended early");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "tern: error: 4.04 Not Found\n");
    let codes: Vec<Value> = json_lines(&out).iter().map(|l| l["code"].clone()).collect();
    assert_eq!(codes, [json!("2.05"), json!("4.04")]);
}

#[test]
fn plugtest_obs_reset_forgets_the_observers_without_telling_them() {
    let server = Server::start(&["--plugtest"]);
    let forgotten = observe_in_background(&server, "/obs", &["-s", "11"]);
    ok_stdout(&["post", &server.uri("/obs-reset"), "-e", "sesame"]);
    // A new registration gets the notifications of the 5 s tick...
    let out = coap(&["observe", &server.uri("/obs"), "-s", "5.5", "--json"]);
    assert!(json_lines(&out).len() >= 2, "{}", stdout(&out));
    // ...while the forgotten observer got nothing after its first response, across two ticks.
    let out = wait(forgotten);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out).len(), 1, "{}", stdout(&out));
}

#[test]
fn large_bodies_go_in_blocks_both_ways() {
    let server = Server::start(&[]);
    let large = ok_stdout(&["get", &server.uri("/large")]);
    assert_eq!(large.len(), 4900);
    assert!(large.starts_with("0000 the quick brown fox"));
    assert_eq!(
        ok_stdout(&["get", &server.uri("/large"), "-b", "16"]),
        large
    );

    let body: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
    let path = std::env::temp_dir().join(format!("tern-coap-upload-{}", std::process::id()));
    std::fs::write(&path, &body).unwrap();
    let item = server.uri("/store/upload");
    let (code, created) = json_of(&["put", &item, "-f", path.to_str().unwrap(), "-b", "64"]);
    assert_eq!((code, &created["code"]), (0, &json!("2.01")));
    let (_, got) = json_of(&["get", &item, "-b", "256"]);
    let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got["payload_hex"], hex);
    let _ = std::fs::remove_file(path);
}

#[test]
fn observe_prints_a_line_per_notification() {
    let server = Server::start(&[]);
    let started = Instant::now();
    let out = coap(&["observe", &server.uri("/time"), "-s", "2.5"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed() >= Duration::from_millis(2500));
    let lines: Vec<u64> = stdout(&out)
        .lines()
        .map(|l| l.parse().unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert!(
        lines.len() >= 3,
        "the response and a notification a second: {lines:?}"
    );
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    assert!(lines.first() < lines.last(), "{lines:?}");

    let out = coap(&["observe", &server.uri("/time"), "-s", "1.5", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert!(lines.len() >= 2, "{lines:?}");
    assert_eq!(
        (&lines[0]["code"], &lines[0]["type"]),
        (&json!("2.05"), &json!("ACK"))
    );
    for line in &lines {
        let options = line["options"].as_array().unwrap();
        assert!(options.iter().any(|o| o["name"] == "Observe"), "{line}");
    }
    // Notifications go CON to a client that registered with a CON.
    assert_eq!(lines[1]["type"], "CON");
}

#[test]
fn observing_what_is_not_observable_prints_the_one_response() {
    let server = Server::start(&[]);
    assert_eq!(
        ok_stdout(&["observe", &server.uri("/hello")]),
        "Hello, world!\n"
    );
    let out = coap(&["observe", &server.uri("/nowhere")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "tern: error: 4.04 Not Found\n");
}

#[test]
fn a_silent_port_runs_out_the_timeout() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uri = format!("coap://{}/hello", silent.local_addr().unwrap());
    let started = Instant::now();
    let out = coap(&["get", &uri, "-B", "0.5"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr(&out), "tern: error: no response within 0.5 s\n");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["get", "http://example.com/"][..],
        &["get", "coaps://127.0.0.1/"],
        &["get", "coap://127.0.0.1/", "-O", "nonsense"],
        &["get", "coap://127.0.0.1/", "-t", "text/nonsense"],
        &["get", "coap://127.0.0.1/", "-B", "0"],
        &["post", "coap://127.0.0.1/", "-e", "x", "-f", "y"],
        &["-m", "jump", "coap://127.0.0.1/"],
    ] {
        let out = coap(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn serve_reports_an_address_it_cannot_bind() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(&["coap", "serve", "--bind", &addr], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(&format!("tern: error: cannot listen on {addr}: ")),
        "{}",
        stderr(&out)
    );
}
