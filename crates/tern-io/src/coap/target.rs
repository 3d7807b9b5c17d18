//! From a `coap://` URI to a request and a destination (RFC 7252 §6.4): the scheme check, the
//! address when the host is an IP literal, the request with the URI's options, and the
//! address-family matching of a destination to a socket.
//!
//! Runtime-free (no async, no socket): the async client and tern-blocking's share it.
//! Resolving a host name is the caller's, since it blocks or awaits.
//!
//! ```
//! use tern_io::coap::target;
//! use tern_coap::endpoint::Request;
//!
//! let uri = target::parse("coap://[::1]:61616/sensors/temp?unit=C")?;
//! assert_eq!(target::ip_destination(&uri), Some("[::1]:61616".parse()?));
//! let request = target::request_for(&uri, Request::get("")?)?;
//! assert_eq!(request.options.uri_path()?.collect::<Vec<_>>(), ["sensors", "temp"]);
//! assert_eq!(request.options.uri_query()?.collect::<Vec<_>>(), ["unit=C"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::net::{IpAddr, SocketAddr};

use tern_coap::endpoint::{BuildError, Request};
use tern_coap::option::{OptionNumber, Options};
use tern_coap::uri::{Scheme, Uri};

use super::Error;

/// Parses `text` as a CoAP URI that this adapter can send to: `coap://` (UDP). The other
/// CoAP schemes are [`Error::UnsupportedScheme`].
///
/// ```
/// use tern_io::coap::{target, Error};
///
/// assert_eq!(target::parse("coap://example.com/a")?.host(), "example.com");
/// assert!(matches!(target::parse("coaps://example.com/a"), Err(Error::UnsupportedScheme(_))));
/// assert!(matches!(target::parse("http://example.com/"), Err(Error::Uri(_))));
/// # Ok::<(), tern_io::coap::Error>(())
/// ```
pub fn parse(text: &str) -> Result<Uri, Error> {
    let uri = Uri::parse(text)?;
    match uri.scheme() {
        Scheme::Coap => Ok(uri),
        other => Err(Error::UnsupportedScheme(other)),
    }
}

/// The destination of `uri` when its host is an IP address; `None` when it is a name to
/// resolve (with [`Uri::effective_port`]).
///
/// ```
/// use tern_io::coap::target;
///
/// let uri = target::parse("coap://192.0.2.1/")?;
/// assert_eq!(target::ip_destination(&uri), Some("192.0.2.1:5683".parse()?));
/// assert_eq!(target::ip_destination(&target::parse("coap://localhost/")?), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn ip_destination(uri: &Uri) -> Option<SocketAddr> {
    if !uri.is_ip_literal() {
        return None;
    }
    let ip: IpAddr = uri.host().parse().ok()?;
    Some(SocketAddr::new(ip, uri.effective_port()))
}

/// `request` with the Uri-Host, Uri-Port, Uri-Path and Uri-Query options of `uri` (as
/// [`Uri::to_options`] gives them) in place of any it had; its other options, method,
/// payload and type are kept.
///
/// ```
/// use tern_io::coap::target;
/// use tern_coap::endpoint::Request;
/// use tern_coap::value::ContentFormat;
/// use tern_coap::Code;
///
/// let uri = target::parse("coap://example.com/config")?;
/// let request = Request::builder(Code::PUT)
///     .path("ignored/path")
///     .options(|o| o.push_content_format(ContentFormat::TEXT_PLAIN))
///     .payload("21.5")
///     .build()?;
/// let request = target::request_for(&uri, request)?;
/// assert_eq!(request.options.uri_host()?, Some("example.com"));
/// assert_eq!(request.options.uri_path()?.collect::<Vec<_>>(), ["config"]);
/// assert_eq!(request.options.content_format()?, Some(ContentFormat::TEXT_PLAIN));
/// assert_eq!(&request.payload[..], b"21.5");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request_for(uri: &Uri, request: Request) -> Result<Request, Error> {
    let mut builder = Options::builder();
    for (number, value) in uri.to_options() {
        builder = builder.push(OptionNumber(number), value);
    }
    for option in request.options.iter() {
        if !is_uri_option(option.number) {
            builder = builder.push(option.number, option.value);
        }
    }
    let options = builder.build().map_err(BuildError::Option)?;
    Ok(request.with_options(options))
}

fn is_uri_option(number: OptionNumber) -> bool {
    [
        OptionNumber::URI_HOST,
        OptionNumber::URI_PORT,
        OptionNumber::URI_PATH,
        OptionNumber::URI_QUERY,
    ]
    .contains(&number)
}

/// How a socket bound to `local` reaches `peer`: an IPv4 peer from an IPv6 socket as its
/// IPv4-mapped address (which a dual-stack socket sends to, and receives from), a mapped
/// peer from an IPv4 socket as plain IPv4; `None` when the families cannot meet (an IPv6
/// peer from an IPv4 socket).
///
/// ```
/// use tern_io::coap::target::reachable_from;
///
/// let v6 = "[::]:0".parse()?;
/// let v4 = "0.0.0.0:0".parse()?;
/// assert_eq!(reachable_from(v6, "127.0.0.1:5683".parse()?), Some("[::ffff:127.0.0.1]:5683".parse()?));
/// assert_eq!(reachable_from(v4, "[::ffff:127.0.0.1]:5683".parse()?), Some("127.0.0.1:5683".parse()?));
/// assert_eq!(reachable_from(v4, "[::1]:5683".parse()?), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn reachable_from(local: SocketAddr, peer: SocketAddr) -> Option<SocketAddr> {
    match (local.ip(), peer.ip()) {
        (IpAddr::V6(_), IpAddr::V4(ip)) => Some(SocketAddr::new(
            IpAddr::V6(ip.to_ipv6_mapped()),
            peer.port(),
        )),
        (IpAddr::V4(_), IpAddr::V6(ip)) => ip
            .to_ipv4_mapped()
            .map(|ip| SocketAddr::new(IpAddr::V4(ip), peer.port())),
        _ => Some(peer),
    }
}

/// `addr` with an IPv4-mapped IPv6 address written as IPv4: how a dual-stack socket's peer
/// is shown to the application.
///
/// ```
/// use tern_io::coap::target::canonical;
///
/// assert_eq!(canonical("[::ffff:192.0.2.1]:5683".parse()?), "192.0.2.1:5683".parse()?);
/// assert_eq!(canonical("[2001:db8::1]:5683".parse()?), "[2001:db8::1]:5683".parse()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}
