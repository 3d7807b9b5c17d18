//! Decoding a PUBLISH allocates nothing: topic, properties and payload are slices of the
//! input, and reading the properties back goes through iterators over those slices.
//!
//! A counting global allocator counts the allocations of the test's own thread (the test
//! harness allocates on other threads), so the counts are exact.

// A `#[global_allocator]` needs `unsafe impl GlobalAlloc`. This one only counts, then forwards
// every call unchanged to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::{Bytes, BytesMut};
use tern_mqtt::{
    Codec, Decoded, MqttString, PacketId, Properties, Property, PropertyId, ProtocolVersion,
    Publish, QoS, TopicName,
};

struct Counting;

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations it made on this thread.
fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

fn properties() -> Properties {
    Properties::builder()
        .push(Property::PayloadFormatIndicator(1))
        .push(Property::MessageExpiryInterval(3600))
        .push(Property::ContentType(
            MqttString::new("application/json").unwrap(),
        ))
        .push(Property::ResponseTopic(
            TopicName::new("reply/here").unwrap(),
        ))
        .push(Property::CorrelationData(Bytes::from_static(
            b"\x00\x01req",
        )))
        .user_property("site", "attic")
        .unwrap()
        .user_property("unit", "°C")
        .unwrap()
        .user_property("site", "cellar")
        .unwrap()
        .push(Property::SubscriptionIdentifier(7))
        .push(Property::SubscriptionIdentifier(300_000))
        .build()
        .unwrap()
}

fn publish(qos: QoS, payload: Bytes) -> Publish {
    let mut p = Publish::new(
        TopicName::new("sensors/kitchen/temperature").unwrap(),
        payload,
    );
    p.qos = qos;
    p.packet_id = (qos != QoS::AtMostOnce).then(|| PacketId::new(42).unwrap());
    p.properties = properties();
    p
}

#[test]
fn decoding_a_publish_and_reading_its_properties_allocates_nothing() {
    // The counter sees this thread's allocations.
    let (v, n) = allocations_in(|| std::hint::black_box(Vec::<u8>::with_capacity(16)));
    assert_eq!((v.capacity() >= 16, n), (true, 1));

    let version = ProtocolVersion::V5;
    let codec = Codec::new(version);
    let big = Bytes::from(vec![0x5a; 64 * 1024]);
    let packets = [
        publish(QoS::AtMostOnce, Bytes::from_static(b"warm-up")),
        publish(QoS::AtMostOnce, Bytes::from_static(b"21.5")),
        publish(QoS::AtLeastOnce, Bytes::from_static(b"21.5")),
        publish(QoS::AtLeastOnce, big.clone()),
    ];
    let mut buf = BytesMut::new();
    for p in &packets {
        codec.encode(&p.clone().into(), &mut buf).unwrap();
    }

    // The first split of a fresh BytesMut turns its vector into a shared buffer: one
    // allocation per buffer, not per packet.
    let (first, _) = allocations_in(|| codec.decode(&mut buf));
    assert!(matches!(first, Ok(Decoded::Packet(_))));

    for want in &packets[1..] {
        let (decoded, n) = allocations_in(|| codec.decode(&mut buf));
        assert_eq!(n, 0, "decoding {:?} PUBLISH allocated", want.qos);
        let Ok(Decoded::Packet(tern_mqtt::Packet::Publish(got))) = decoded else {
            panic!("{decoded:?}")
        };
        assert_eq!(&got, want);

        // Reading every property back, through the typed getters and the iterators.
        let p = &got.properties;
        let (read, n) = allocations_in(|| {
            let mut user = 0;
            for (k, v) in p.user_properties() {
                user += k.len() + v.len();
            }
            (
                p.iter().count(),
                user,
                p.subscription_identifiers().sum::<u32>(),
                p.payload_format_indicator(),
                p.message_expiry_interval(),
                p.content_type().map(|s| s.len()),
                p.response_topic().map(|t| t.len()),
                p.correlation_data().map(|b| b.len()),
                p.contains(PropertyId::TopicAlias),
                p.get(PropertyId::UserProperty).is_some(),
            )
        });
        assert_eq!(n, 0, "reading properties allocated");
        assert_eq!(
            read,
            (
                10,
                "site".len() * 2 + "attic".len() + "unit".len() + "°C".len() + "cellar".len(),
                300_007,
                Some(1),
                Some(3600),
                Some("application/json".len()),
                Some("reply/here".len()),
                Some(5),
                false,
                true
            )
        );
    }
    assert!(buf.is_empty());

    // The decoded payload is a slice of the input, not a copy.
    let mut wire = BytesMut::new();
    codec.encode(&packets[3].clone().into(), &mut wire).unwrap();
    let wire = wire.freeze();
    // A frozen vector is promoted to a shared buffer by its first clone (one allocation, once
    // per buffer); after that, clones and slices only count references.
    let _promote = wire.clone();
    let range = wire.as_ptr_range();
    let (decoded, n) = allocations_in(|| tern_mqtt::Packet::decode(version, wire.clone()));
    let Ok(tern_mqtt::Packet::Publish(p)) = decoded else {
        panic!()
    };
    assert!(range.contains(&p.payload.as_ptr()) && p.payload.len() == big.len());
    assert_eq!(n, 0, "Packet::decode of a shared Bytes allocated");
}
