//! `tern coap discover coap://HOST[/.well-known/core][?FILTER]`: GET the server's CoRE
//! Link Format document (RFC 6690) and print it, or one JSON object per link.

use std::time::Instant;

use clap::Args;
use tern_coap::link_format;
use tern_coap::value::ContentFormat;

use super::client::{self, ClientArgs};
use crate::failure::Failure;
use crate::json::{Json, Object};

/// `--help` examples.
pub(crate) const EXAMPLES: &str = "\
Examples:
  tern coap discover coap://localhost
  tern coap discover 'coap://[::1]/.well-known/core?rt=temperature'
  tern coap discover coap://192.0.2.1 --json

Without a path, the URI's /.well-known/core is asked for (with the URI's query, a filter such \
as ?rt=X or ?href=/a*). With --json each link is one object: {\"href\": \"/time\", \
\"attributes\": [{\"name\": \"rt\", \"value\": \"ticks\"}, {\"name\": \"obs\", \"value\": null}]}.

Exit status: 0 on a 2.xx response; 1 on 4.xx/5.xx, a timeout or a reset (and, with --json, a \
document that is not link-format); 2 on a usage error; 3 when -B ran out.";

/// Arguments of `tern coap discover`.
#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    #[command(flatten)]
    client: ClientArgs,
}

/// `/.well-known/core` in place of an empty path, the query kept.
fn discovery_uri(text: &str) -> Result<String, Failure> {
    let uri = tern_coap::uri::Uri::parse(text)
        .map_err(|e| Failure::usage(format_args!("{text}: {e}")))?;
    if !uri.path_segments().is_empty() {
        return Ok(text.to_owned());
    }
    let (base, query) = match text.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (text, None),
    };
    let mut out = format!("{}/.well-known/core", base.trim_end_matches('/'));
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// Runs `tern coap discover`.
pub(crate) fn run(args: &DiscoverArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let uri = discovery_uri(&args.client.uri)?;
    let options = tern_coap::Options::builder().push_accept(ContentFormat::LINK_FORMAT);
    let token = args.client.token()?;
    let request = client::build(tern_coap::Code::GET, options, Vec::new(), false, token)?;
    let session = client::Session::start(&args.client, started)?;
    let (response, _) = session.exchange(move |c| c.request(&uri, request))?;
    if !args.client.json || response.code.class() != 2 {
        return client::print_response(&response, None, false);
    }
    let text = std::str::from_utf8(&response.payload)
        .map_err(|_| Failure::input("the link-format document is not UTF-8"))?;
    let mut lines = String::new();
    for link in link_format::parse(text) {
        let link =
            link.map_err(|e| Failure::input(format_args!("not a link-format document: {e}")))?;
        lines.push_str(&link_json(&link).to_string());
        lines.push('\n');
    }
    client::write_stdout(lines.as_bytes())
}

/// `{"href", "attributes": [{"name", "value"}]}`, values unquoted and unescaped, `null` for a
/// flag such as `obs`.
fn link_json(link: &link_format::Link<'_>) -> Json {
    let attributes: Json = link
        .attributes()
        .map(|(name, value)| {
            Object::new()
                .with("name", name)
                .with("value", value.map(|v| v.unescaped().into_owned()))
                .into()
        })
        .collect();
    Object::new()
        .with("href", link.target())
        .with("attributes", attributes)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_authority_asks_for_well_known_core() {
        let uri = |t: &str| discovery_uri(t).unwrap();
        assert_eq!(
            uri("coap://127.0.0.1:5683"),
            "coap://127.0.0.1:5683/.well-known/core"
        );
        assert_eq!(uri("coap://h/"), "coap://h/.well-known/core");
        assert_eq!(uri("coap://h?rt=x"), "coap://h/.well-known/core?rt=x");
        assert_eq!(
            uri("coap://h/.well-known/core?href=/a*"),
            "coap://h/.well-known/core?href=/a*"
        );
        assert_eq!(discovery_uri("nope").unwrap_err().status(), 2);
    }

    #[test]
    fn links_as_json() {
        let link = link_format::parse(r#"</time>;rt="ticks";obs"#)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(
            link_json(&link).to_string(),
            r#"{"href":"/time","attributes":[{"name":"rt","value":"ticks"},{"name":"obs","value":null}]}"#
        );
    }
}
