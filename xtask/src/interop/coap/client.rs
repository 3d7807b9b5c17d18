//! The three CoAP clients behind one interface: `tern coap` (the CLI under test), libcoap's
//! `coap-client-notls`, and `interop/coap/aiocoap_client.py`. A check says what to request and
//! gets the response code, type, Location-Path and body, however each tool reports them:
//!
//! - tern: the exit status (0 on 2.xx, 1 on 4.xx/5.xx with `tern: error: 4.04 Not Found`),
//!   stdout (the body plus a newline unless it ends with one), and with `--json` one object
//!   per response (`code`, `type`, `options`, `payload` or `payload_hex`), per its spec;
//! - coap-client: `-o FILE` for the body, and at `-v 6` its log of every message sent and
//!   received on stdout (`v:1 t:ACK c:2.05 i:.. {token} [ options ] :: 'payload'`); it exits 0
//!   on 4.xx as well, so the code comes from that log;
//! - aiocoap_client.py: `--out FILE` for the body and a JSON line per response.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Ctx;
use super::install::path_arg;
use crate::interop::child::Output;
use crate::interop::json::Json;
use crate::run::Cmd;

/// Any client still running after this long is killed and its scenario fails.
pub(super) const CHILD_TIMEOUT: Duration = Duration::from_secs(15);

/// The clients' own deadline (`-B`, `--timeout`): shorter than `CHILD_TIMEOUT`, so that a
/// failure shows the client's own message rather than a kill. On loopback an answer takes
/// milliseconds, a separate one 2 s, one after a lost datagram 2 to 3 s more.
const CLIENT_TIMEOUT_SECS: u64 = 10;

/// Whose client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Client {
    Tern,
    Libcoap,
    Aiocoap,
}

impl Client {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Tern => "tern",
            Self::Libcoap => "coap-client",
            Self::Aiocoap => "aiocoap",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Put,
    Post,
    Delete,
}

impl Method {
    fn lower(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Put => "put",
            Self::Post => "post",
            Self::Delete => "delete",
        }
    }
}

/// A request payload.
#[derive(Debug, Clone)]
pub(super) enum Payload {
    /// `-e TEXT`
    Text(String),
    /// `-f FILE`
    File(PathBuf),
}

/// What to send.
#[derive(Debug, Clone)]
pub(super) struct Request {
    method: Method,
    uri: String,
    payload: Option<Payload>,
    block: Option<u16>,
    non: bool,
    detail: bool,
    loss: Option<String>,
    timeout_secs: u64,
}

impl Request {
    pub(super) fn new(method: Method, uri: String) -> Self {
        Self {
            method,
            uri,
            payload: None,
            block: None,
            non: false,
            detail: false,
            loss: None,
            timeout_secs: CLIENT_TIMEOUT_SECS,
        }
    }

    pub(super) fn get(uri: String) -> Self {
        Self::new(Method::Get, uri)
    }

    pub(super) fn text(mut self, text: &str) -> Self {
        self.payload = Some(Payload::Text(text.to_owned()));
        self
    }

    pub(super) fn file(mut self, path: &Path) -> Self {
        self.payload = Some(Payload::File(path.to_owned()));
        self
    }

    /// `-b SIZE`: the block size for Block1 and Block2.
    pub(super) fn block(mut self, size: u16) -> Self {
        self.block = Some(size);
        self
    }

    /// `-N`: a NON request.
    pub(super) fn non(mut self) -> Self {
        self.non = true;
        self
    }

    /// The check needs the exact response code, type or Location-Path: tern runs with
    /// `--json` (the others always report them). Not for large bodies: how `--json` shows a
    /// Block2 body is up to the CLI.
    pub(super) fn detail(mut self) -> Self {
        self.detail = true;
        self
    }

    /// coap-client's `-l`: drop some datagrams it sends (`20%`, or a list such as `2,3`).
    pub(super) fn loss(mut self, loss: &str, timeout_secs: u64) -> Self {
        self.loss = Some(loss.to_owned());
        self.timeout_secs = timeout_secs;
        self
    }
}

/// The final response, as the client reported it.
pub(super) struct Reply {
    client: Client,
    /// `2.05`; `2.xx` for tern without `--json`, whose exit status says only "success".
    pub(super) code: String,
    /// CON, NON or ACK, when the client reports it.
    pub(super) mtype: Option<String>,
    /// The Location-Path options joined: `/store/1`.
    pub(super) location: Option<String>,
    /// The payload; for tern without `--json`, stdout (the body and maybe a newline).
    body: Vec<u8>,
    pub(super) output: Output,
}

impl Reply {
    pub(super) fn is_success(&self) -> bool {
        self.code.starts_with("2.")
    }

    /// Requires the response code `want` (`2.xx` from tern without `--json` matches any
    /// 2.xx).
    pub(super) fn expect_code(&self, want: &str) -> Result<(), String> {
        let matches = self.code == want || (self.code == "2.xx" && want.starts_with("2."));
        if matches {
            Ok(())
        } else {
            Err(format!(
                "{}: expected {want}, got {}\n{}",
                self.client.name(),
                self.code,
                self.output.describe()
            ))
        }
    }

    pub(super) fn expect_success(&self) -> Result<(), String> {
        if self.is_success() {
            Ok(())
        } else {
            Err(format!(
                "{}: expected a 2.xx response, got {}\n{}",
                self.client.name(),
                self.code,
                self.output.describe()
            ))
        }
    }

    /// Requires the message type `want` of the final response (CON for a separate response,
    /// NON for the answer to a NON request).
    pub(super) fn expect_type(&self, want: &[&str]) -> Result<(), String> {
        match &self.mtype {
            Some(t) if want.contains(&t.as_str()) => Ok(()),
            got => Err(format!(
                "{}: expected the response type to be {}, got {got:?}\n{}",
                self.client.name(),
                want.join(" or "),
                self.output.describe()
            )),
        }
    }

    /// Requires the body to be `want`: for tern's plain output, `want` and a newline unless it
    /// ends with one.
    pub(super) fn expect_body(&self, want: &[u8]) -> Result<(), String> {
        let plain_tern = self.client == Client::Tern && self.code == "2.xx";
        let mut expected = want.to_vec();
        if plain_tern && !want.ends_with(b"\n") {
            expected.push(b'\n');
        }
        same_bytes(
            &format!("{}'s response body", self.client.name()),
            &self.body,
            &expected,
        )
        .map_err(|e| format!("{e}\n{}", self.output.describe()))
    }

    /// The body as received (for tern's plain output, without the newline tern adds).
    pub(super) fn body(&self) -> &[u8] {
        let plain_tern = self.client == Client::Tern && self.code == "2.xx";
        match self.body.strip_suffix(b"\n") {
            Some(body) if plain_tern => body,
            _ => &self.body,
        }
    }
}

/// Sends `req` with `client` and returns the final response; `Err` when the client got none
/// (timeout, reset, crash) or broke its own output contract.
pub(super) fn request(ctx: &mut Ctx<'_>, client: Client, req: &Request) -> Result<Reply, String> {
    match client {
        Client::Tern => tern_request(ctx, req),
        Client::Libcoap => libcoap_request(ctx, req),
        Client::Aiocoap => aiocoap_request(ctx, req),
    }
}

fn tern_request(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, String> {
    if req.loss.is_some() {
        return Err("internal: loss is a coap-client option".to_owned());
    }
    let timeout = req.timeout_secs.to_string();
    let mut cmd = Cmd::new(&path_arg(&ctx.tern()?), ["coap", req.method.lower()]).args([
        req.uri.as_str(),
        "-B",
        timeout.as_str(),
    ]);
    match &req.payload {
        Some(Payload::Text(text)) => cmd = cmd.args(["-e", text.as_str()]),
        Some(Payload::File(path)) => cmd = cmd.args(["-f".to_owned(), path_arg(path)]),
        None => {}
    }
    if let Some(size) = req.block {
        cmd = cmd.args(["-b".to_owned(), size.to_string()]);
    }
    if req.non {
        cmd = cmd.args(["-N"]);
    }
    if req.detail {
        cmd = cmd.args(["--json"]);
    }
    let output = ctx.run_child(&cmd, CHILD_TIMEOUT)?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let fail = |why: String| {
        Err(format!(
            "tern coap {}: {why}\n{}",
            req.method.lower(),
            output.describe()
        ))
    };
    match output.status.code() {
        Some(0 | 1) => {}
        Some(3) => return fail("timed out (exit 3)".to_owned()),
        _ => return fail(format!("exited with {}", output.status)),
    }
    let success = output.status.code() == Some(0);
    let error_code = stderr.lines().find_map(|line| {
        let rest = line.strip_prefix("tern: error: ")?;
        let code = rest.split_whitespace().next()?;
        is_response_code(code).then(|| code.to_owned())
    });
    if !req.detail {
        let code = if success {
            "2.xx".to_owned()
        } else {
            match error_code {
                Some(code) => code,
                None => {
                    return fail(
                        "exit 1 without a `tern: error: X.YY ...` line: no response?".to_owned(),
                    );
                }
            }
        };
        let body = if success {
            output.stdout.clone()
        } else {
            Vec::new()
        };
        return Ok(Reply {
            client: Client::Tern,
            code,
            mtype: None,
            location: None,
            body,
            output,
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let Some(last) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        return fail("--json printed nothing".to_owned());
    };
    let json = match Json::parse(last) {
        Ok(json) => json,
        Err(e) => {
            return fail(format!(
                "--json printed a line that is not JSON ({e}): {last}"
            ));
        }
    };
    let Some(Json::String(code)) = json.get("code") else {
        return fail(format!("--json: no \"code\" string in {last}"));
    };
    if code.starts_with("2.") != success {
        return fail(format!(
            "exit status {} does not go with code {code}",
            output.status
        ));
    }
    let mtype = match json.get("type") {
        Some(Json::String(t)) => Some(t.clone()),
        _ => None,
    };
    let body = match (json.get("payload"), json.get("payload_hex")) {
        (_, Some(Json::String(hex))) => match decode_hex(hex) {
            Some(bytes) => bytes,
            None => return fail(format!("--json: payload_hex is not hex: {hex}")),
        },
        (Some(Json::String(text)), _) => text.clone().into_bytes(),
        _ => Vec::new(),
    };
    let location = json_location(json.get("options"));
    Ok(Reply {
        client: Client::Tern,
        code: code.clone(),
        mtype,
        location,
        body,
        output,
    })
}

fn libcoap_request(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, String> {
    let out = ctx.scratch_file("coap-client.out");
    let timeout = req.timeout_secs.to_string();
    let mut cmd = Cmd::new(
        &path_arg(&ctx.env.programs.coap_client),
        ["-v", "6", "-B", timeout.as_str(), "-m", req.method.lower()],
    )
    .args(["-o".to_owned(), path_arg(&out)]);
    match &req.payload {
        Some(Payload::Text(text)) => cmd = cmd.args(["-e", text.as_str()]),
        Some(Payload::File(path)) => cmd = cmd.args(["-f".to_owned(), path_arg(path)]),
        None => {}
    }
    if let Some(size) = req.block {
        cmd = cmd.args(["-b".to_owned(), size.to_string()]);
    }
    if req.non {
        cmd = cmd.args(["-N"]);
    }
    if let Some(loss) = &req.loss {
        cmd = cmd.args(["-l", loss.as_str()]);
    }
    cmd = cmd.args([req.uri.as_str()]);
    let child_timeout = CHILD_TIMEOUT.max(Duration::from_secs(req.timeout_secs + 5));
    let output = ctx.run_child(&cmd, child_timeout)?;
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    let Some(response) = last_libcoap_response(&log) else {
        return Err(format!(
            "coap-client: no response in its log\n{}",
            output.describe()
        ));
    };
    // coap-client creates the file only for a response with a payload.
    let body = fs::read(&out).unwrap_or_default();
    Ok(Reply {
        client: Client::Libcoap,
        code: response.code,
        mtype: Some(response.mtype),
        location: response.location,
        body,
        output,
    })
}

fn aiocoap_request(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, String> {
    if req.loss.is_some() {
        return Err("internal: loss is a coap-client option".to_owned());
    }
    let out = ctx.scratch_file("aiocoap.out");
    let timeout = req.timeout_secs.to_string();
    let mut cmd = ctx
        .aiocoap_client()
        .args([
            req.uri.as_str(),
            req.method.lower(),
            "--timeout",
            timeout.as_str(),
        ])
        .args(["--out".to_owned(), path_arg(&out)]);
    match &req.payload {
        Some(Payload::Text(text)) => cmd = cmd.args(["--payload", text.as_str()]),
        Some(Payload::File(path)) => cmd = cmd.args(["--payload-file".to_owned(), path_arg(path)]),
        None => {}
    }
    if let Some(size) = req.block {
        cmd = cmd.args(["--block-size".to_owned(), size.to_string()]);
    }
    if req.non {
        cmd = cmd.args(["--non"]);
    }
    let output = ctx.run_child(&cmd, CHILD_TIMEOUT)?;
    if !matches!(output.status.code(), Some(0 | 1)) {
        return Err(format!(
            "aiocoap_client.py: no response ({})\n{}",
            output.status,
            output.describe()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let json = Json::parse(line).map_err(|e| {
        format!(
            "aiocoap_client.py printed no JSON line ({e})\n{}",
            output.describe()
        )
    })?;
    let text = |key: &str| match json.get(key) {
        Some(Json::String(s)) => Some(s.clone()),
        _ => None,
    };
    let code = text("code").ok_or_else(|| format!("aiocoap_client.py: no code in {line}"))?;
    Ok(Reply {
        client: Client::Aiocoap,
        code,
        mtype: text("type"),
        location: text("location"),
        body: fs::read(&out).unwrap_or_default(),
        output,
    })
}

/// Observes `uri` for `secs` seconds; the payloads of the first response and of each
/// notification, as text, in order.
pub(super) fn observe(
    ctx: &mut Ctx<'_>,
    client: Client,
    uri: &str,
    secs: u64,
) -> Result<Vec<String>, String> {
    let secs_arg = secs.to_string();
    let deadline = (secs + 10).to_string();
    let cmd = match client {
        Client::Tern => Cmd::new(&path_arg(&ctx.tern()?), ["coap", "observe", uri]).args([
            "-s",
            secs_arg.as_str(),
            "-B",
            deadline.as_str(),
        ]),
        // -w: a newline after each notification, which are otherwise printed back to back.
        Client::Libcoap => Cmd::new(
            &path_arg(&ctx.env.programs.coap_client),
            ["-s", secs_arg.as_str(), "-B", deadline.as_str(), "-w", uri],
        ),
        Client::Aiocoap => ctx
            .aiocoap_client()
            .args([uri, "observe", "--duration", secs_arg.as_str()])
            .args(["--timeout", deadline.as_str()]),
    };
    let output = ctx.run_child(&cmd, Duration::from_secs(secs) + CHILD_TIMEOUT)?;
    output
        .expect_code(0)
        .map_err(|e| format!("{} observe: {e}", client.name()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    match client {
        Client::Tern | Client::Libcoap => Ok(lines.into_iter().map(str::to_owned).collect()),
        Client::Aiocoap => lines
            .iter()
            .map(
                |line| match Json::parse(line).as_ref().map(|j| j.get("payload")) {
                    Ok(Some(Json::String(payload))) => Ok(payload.clone()),
                    _ => Err(format!(
                        "aiocoap_client.py printed a line without a text payload: {line}\n{}",
                        output.describe()
                    )),
                },
            )
            .collect(),
    }
}

/// The link-format document at `uri` (a `/.well-known/core` URI, maybe with a filter): `tern
/// coap discover` for tern, a GET for the others.
pub(super) fn discover(ctx: &mut Ctx<'_>, client: Client, uri: &str) -> Result<String, String> {
    let body = if client == Client::Tern {
        let cmd = Cmd::new(
            &path_arg(&ctx.tern()?),
            ["coap", "discover", uri, "-B", "10"],
        );
        let output = ctx.run_child(&cmd, CHILD_TIMEOUT)?;
        output
            .expect_code(0)
            .map_err(|e| format!("tern coap discover: {e}"))?;
        let mut body = output.stdout;
        if body.ends_with(b"\n") {
            body.pop();
        }
        body
    } else {
        let reply = request(ctx, client, &Request::get(uri.to_owned()))?;
        reply.expect_code("2.05")?;
        reply.body().to_vec()
    };
    String::from_utf8(body).map_err(|e| format!("the link-format document is not UTF-8: {e}"))
}

/// One link of a link-format document (RFC 6690).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Link {
    pub(super) href: String,
    /// Attributes in order, values unquoted; a flag such as `obs` has an empty value.
    pub(super) attrs: Vec<(String, String)>,
}

impl Link {
    /// The values of attribute `name`; `rt="a b"` has two.
    pub(super) fn values(&self, name: &str) -> Vec<&str> {
        self.attrs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split_whitespace())
            .collect()
    }
}

/// Parses a link-format document: links split at commas outside quotes and angle brackets.
pub(super) fn parse_links(text: &str) -> Result<Vec<Link>, String> {
    let mut links = Vec::new();
    for part in split_outside_quotes(text.trim(), ',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let rest = part
            .strip_prefix('<')
            .ok_or_else(|| format!("a link does not start with `<`: {part}"))?;
        let (href, params) = rest
            .split_once('>')
            .ok_or_else(|| format!("a link has no `>`: {part}"))?;
        let mut attrs = Vec::new();
        for param in split_outside_quotes(params, ';').into_iter().skip(1) {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            attrs.push((key.trim().to_owned(), value.to_owned()));
        }
        links.push(Link {
            href: href.to_owned(),
            attrs,
        });
    }
    Ok(links)
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut in_href, mut start) = (false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => in_href = true,
            '>' if !quoted => in_href = false,
            c if c == separator && !quoted && !in_href => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A response as coap-client logs it.
#[derive(Debug, PartialEq, Eq)]
struct LoggedResponse {
    mtype: String,
    code: String,
    location: Option<String>,
}

/// The last response in coap-client's `-v 6` log: a line `v:1 t:TYPE c:X.YY ...` whose code
/// class is 2 to 5 (requests show their method there, empty messages 0.00).
fn last_libcoap_response(log: &str) -> Option<LoggedResponse> {
    log.lines().rev().find_map(|line| {
        let at = line.find("v:1 t:")?;
        let message = &line[at..];
        let mut words = message.split_whitespace();
        let _version = words.next()?;
        let mtype = words.next()?.strip_prefix("t:")?;
        let code = words.next()?.strip_prefix("c:")?;
        if !is_response_code(code) || code.starts_with("0.") {
            return None;
        }
        // The options sit between `[ ` and ` ]`, before the payload (` :: '...'`).
        let head = message.split(" :: ").next().unwrap_or(message);
        let options = head
            .split_once('[')
            .and_then(|(_, rest)| rest.rsplit_once(']'))
            .map_or("", |(options, _)| options);
        let segments: Vec<&str> = options
            .split(", ")
            .filter_map(|option| option.trim().strip_prefix("Location-Path:"))
            .collect();
        Some(LoggedResponse {
            mtype: mtype.to_owned(),
            code: code.to_owned(),
            location: (!segments.is_empty()).then(|| format!("/{}", segments.join("/"))),
        })
    })
}

/// `2.05`, `4.04`: a digit, a dot, two digits.
fn is_response_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 4
        && b[0].is_ascii_digit()
        && b[1] == b'.'
        && b[2].is_ascii_digit()
        && b[3].is_ascii_digit()
}

/// The Location-Path options of tern's `--json` `options` array, joined as `/a/b`. The spec
/// does not fix the form of an option; this reads the one `tern coap decode` uses (`{"number":
/// 8, "name": "Location-Path", "value": "store"}`), or a `["Location-Path", "store"]` pair.
fn json_location(options: Option<&Json>) -> Option<String> {
    let Some(Json::Array(options)) = options else {
        return None;
    };
    let segments: Vec<String> = options
        .iter()
        .filter_map(|option| match option {
            Json::Object(_) => {
                let named = matches!(option.get("name"), Some(Json::String(n)) if n.eq_ignore_ascii_case("Location-Path"));
                let numbered = matches!(option.get("number"), Some(Json::Number(n)) if n == "8");
                match option.get("value") {
                    Some(Json::String(value)) if named || numbered => Some(value.clone()),
                    _ => None,
                }
            }
            Json::Array(pair) => match pair.as_slice() {
                [Json::String(name), Json::String(value)]
                    if name.eq_ignore_ascii_case("Location-Path") =>
                {
                    Some(value.clone())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    (!segments.is_empty()).then(|| format!("/{}", segments.join("/")))
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}

/// Compares bytes; the error names the first difference, with a short excerpt of each side.
pub(super) fn same_bytes(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let excerpt = |bytes: &[u8]| {
        let start = at.saturating_sub(16).min(bytes.len());
        let end = (at + 48).min(bytes.len());
        String::from_utf8_lossy(&bytes[start..end])
            .escape_debug()
            .to_string()
    };
    Err(format!(
        "{what}: {} bytes where {} were expected, first difference at byte {at}\n  \
         expected (from byte {}): \"{}\"\n  got      (from byte {}): \"{}\"",
        got.len(),
        want.len(),
        at.saturating_sub(16),
        excerpt(want),
        at.saturating_sub(16),
        excerpt(got)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libcoap_log_lines() {
        let log = "\
v:1 t:CON c:POST i:cf01 {01} [ Uri-Port:56830, Uri-Path:dyn2 ] :: 'x'
v:1 t:ACK c:2.01 i:cf01 {01} [ Location-Path:store, Location-Path:1 ]
";
        assert_eq!(
            last_libcoap_response(log),
            Some(LoggedResponse {
                mtype: "ACK".into(),
                code: "2.01".into(),
                location: Some("/store/1".into()),
            })
        );
        let separate = "\
v:1 t:CON c:GET i:56e2 {01} [ Uri-Port:56830, Uri-Path:async, Uri-Query:2 ]
v:1 t:CON c:2.05 i:c555 {01} [ ] :: 'done [ Location-Path:x ]'
v:1 t:ACK c:0.00 i:c555 {} [ ]
";
        assert_eq!(
            last_libcoap_response(separate),
            Some(LoggedResponse {
                mtype: "CON".into(),
                code: "2.05".into(),
                location: None,
            })
        );
        // A 4.04 payload glued to the next output, as coap-client prints it.
        let not_found = "v:1 t:ACK c:4.04 i:f3b6 {01} [ ] :: 'Not Found'4.04 Not Found\n";
        assert_eq!(
            last_libcoap_response(not_found).map(|r| r.code),
            Some("4.04".into())
        );
        assert_eq!(
            last_libcoap_response("v:1 t:CON c:GET i:1 {01} [ ]\n"),
            None
        );
    }

    #[test]
    fn link_format() {
        let doc = r#"</>;title="General Info";ct=0,</time>;if="clock";rt="ticks";title="Internal, Clock";ct=0;obs,</a,b>;rt="x y""#;
        let links = parse_links(doc).expect("parses");
        assert_eq!(links.len(), 3);
        assert_eq!(links[0].href, "/");
        assert_eq!(links[1].href, "/time");
        assert_eq!(links[1].values("rt"), ["ticks"]);
        assert_eq!(links[1].values("title"), ["Internal,", "Clock"]);
        assert!(
            links[1]
                .attrs
                .iter()
                .any(|(k, v)| k == "obs" && v.is_empty())
        );
        assert_eq!(links[2].href, "/a,b");
        assert_eq!(links[2].values("rt"), ["x", "y"]);
        assert_eq!(parse_links("").expect("empty"), []);
        assert!(parse_links("/time").is_err());
    }

    #[test]
    fn tern_json_options() {
        let decode_style = Json::parse(
            r#"[{"number":8,"name":"Location-Path","critical":false,"value":"store"},{"number":8,"name":"Location-Path","critical":false,"value":"7"},{"number":12,"name":"Content-Format","value":{"value":0}}]"#,
        )
        .expect("json");
        assert_eq!(json_location(Some(&decode_style)), Some("/store/7".into()));
        let pairs = Json::parse(r#"[["Location-Path","a"]]"#).expect("json");
        assert_eq!(json_location(Some(&pairs)), Some("/a".into()));
        assert_eq!(json_location(Some(&Json::Array(vec![]))), None);
        assert_eq!(json_location(None), None);
    }

    #[test]
    fn codes_and_hex() {
        assert!(is_response_code("2.05"));
        assert!(!is_response_code("GET"));
        assert!(!is_response_code("2.5"));
        assert_eq!(decode_hex("00ff7A"), Some(vec![0, 255, 0x7a]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
    }

    #[test]
    fn byte_comparison_names_the_first_difference() {
        assert!(same_bytes("x", b"abc\n", b"abc\n").is_ok());
        let err = same_bytes("x", b"abd\n", b"abc\n").expect_err("differs");
        assert!(err.contains("first difference at byte 2"), "{err}");
        let err = same_bytes("x", b"ab", b"abc\n").expect_err("shorter");
        assert!(err.contains("2 bytes where 4 were expected"), "{err}");
    }
}
