//! POST `world` to `coap://host/hello`: build the request, encode it, decode it back.
//!
//! `cargo run -p tern-examples --example coap_codec`

use bytes::{Bytes, BytesMut};
use tern_coap::option::{OptionNumber, Options};
use tern_coap::value::ContentFormat;
use tern_coap::{Code, Message, MessageType, Token};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // POST "world" to coap://host/hello as a confirmable request.
    let post = Message {
        mtype: MessageType::Confirmable,
        code: Code::POST,
        message_id: 0x7d34,
        token: Token::new(&[0x42, 0x17]).ok_or("token longer than 8 bytes")?,
        options: Options::builder()
            .push(OptionNumber::URI_PATH, "hello")
            .push_uint(OptionNumber::CONTENT_FORMAT, 0)
            .build()?,
        payload: Bytes::from_static(b"world"),
    };
    let mut wire = BytesMut::new();
    post.encode(&mut wire)?;

    // Decoding allocates nothing: options and payload are slices of the datagram.
    let got = Message::decode(wire.freeze())?;
    if let Some(bad) = got.options.first_unrecognized_critical() {
        println!("answer 4.02 Bad Option: {bad}");
    }
    let path: Vec<&str> = got.options.uri_path()?.collect();
    println!("{} {} /{}", got.mtype.name(), got.code, path.join("/"));
    assert_eq!(got.options.content_format()?, Some(ContentFormat(0)));
    assert_eq!(&got.payload[..], b"world");
    Ok(())
}
