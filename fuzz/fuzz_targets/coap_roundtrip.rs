//! Structure-aware: an arbitrary valid message (`tern_coap::arbitrary::ArbitraryMessage`)
//! encodes to exactly `encoded_len` bytes in each framing (UDP, TCP, WebSocket), decodes back
//! equal and re-encodes to the same bytes; over TCP a strict prefix is `Incomplete`, consumes
//! nothing, and once the header is there says exactly how many bytes are missing.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tern_coap::Message;
use tern_coap::arbitrary::ArbitraryMessage;
use tern_coap::tcp::{Decoded, TcpCodec, TcpMessage};

fuzz_target!(|input: (ArbitraryMessage, u16)| {
    let (ArbitraryMessage(msg), split) = input;
    udp(&msg);
    let tcp_msg = TcpMessage {
        code: msg.code,
        token: msg.token,
        options: msg.options,
        payload: msg.payload,
    };
    tcp(&tcp_msg, split);
    websocket(&tcp_msg);
});

fn udp(msg: &Message) {
    let mut wire = BytesMut::new();
    msg.encode(&mut wire)
        .unwrap_or_else(|e| panic!("generated message does not encode: {e}: {msg:?}"));
    assert_eq!(wire.len(), msg.encoded_len(), "encoded_len is wrong");
    let wire = wire.freeze();
    let back = Message::decode(wire.clone())
        .unwrap_or_else(|e| panic!("encoded message does not decode: {e}: {msg:?}"));
    assert_eq!(&back, msg, "decode(encode(m)) != m");
    let mut again = BytesMut::new();
    back.encode(&mut again)
        .unwrap_or_else(|e| panic!("decoded message does not re-encode: {e}"));
    assert_eq!(&again[..], &wire[..], "re-encoding changed the bytes");
}

fn tcp(msg: &TcpMessage, split: u16) {
    let mut wire = BytesMut::new();
    msg.encode(&mut wire)
        .unwrap_or_else(|e| panic!("generated message does not encode: {e}: {msg:?}"));
    assert_eq!(wire.len(), msg.encoded_len(), "encoded_len is wrong");
    let wire = wire.freeze();
    let codec = TcpCodec::new(wire.len());

    // A strict prefix: Incomplete, nothing consumed, and once the header (first byte and
    // Extended Length) is all there, the exact number of missing bytes.
    let split = usize::from(split) % wire.len();
    let mut buf = BytesMut::from(&wire[..split]);
    let header = match wire[0] >> 4 {
        13 => 2,
        14 => 3,
        15 => 5,
        _ => 1,
    };
    match codec.decode(&mut buf) {
        Ok(Decoded::Incomplete { needed }) => {
            assert_eq!(&buf[..], &wire[..split], "Incomplete consumed bytes");
            let expected = (split >= header).then(|| wire.len() - split);
            assert_eq!(needed.map(|n| n.get()), expected, "wrong `needed` after {split} bytes");
        }
        other => panic!("a {split}-byte prefix of a message gave {other:?}"),
    }
    buf.extend_from_slice(&wire[split..]);
    let back = match codec.decode(&mut buf) {
        Ok(Decoded::Message(m)) => m,
        other => panic!("an encoded message gave {other:?}: {msg:?}"),
    };
    assert!(buf.is_empty(), "the decoder left {} bytes", buf.len());
    assert_eq!(&back, msg, "decode(encode(m)) != m over TCP");

    // One byte under the limit is refused before the body arrives.
    let mut whole = BytesMut::from(&wire[..]);
    assert!(
        TcpCodec::new(wire.len() - 1).decode(&mut whole).is_err(),
        "a {}-byte message passed a limit of {}",
        wire.len(),
        wire.len() - 1
    );
    assert_eq!(whole.len(), wire.len(), "an error consumed bytes");

    let mut again = BytesMut::new();
    back.encode(&mut again)
        .unwrap_or_else(|e| panic!("decoded message does not re-encode: {e}"));
    assert_eq!(&again[..], &wire[..], "re-encoding changed the bytes");
}

fn websocket(msg: &TcpMessage) {
    let mut frame = BytesMut::new();
    msg.encode_ws(&mut frame);
    assert_eq!(frame.len(), msg.ws_encoded_len(), "ws_encoded_len is wrong");
    let frame = frame.freeze();
    let back = TcpMessage::decode_ws(frame.clone())
        .unwrap_or_else(|e| panic!("encoded WebSocket message does not decode: {e}: {msg:?}"));
    assert_eq!(&back, msg, "decode_ws(encode_ws(m)) != m");
    let mut again = BytesMut::new();
    back.encode_ws(&mut again);
    assert_eq!(&again[..], &frame[..], "re-encoding changed the bytes");
}
