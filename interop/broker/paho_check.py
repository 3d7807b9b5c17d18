#!/usr/bin/env python3
"""Broker checks on paho-mqtt's Python API, for `cargo xtask interop broker`.

Each CHECK connects its own clients to the broker at --host/--port, does one thing, and
judges what came back. The same check runs against mosquitto first (the suite's control),
so that a failure against tern is tern's and not this script's.

Usage: paho_check.py CHECK --port PORT [--host H] [--proto 3.1.1|5] [--qos Q] [--prefix P]
                       [--takeover-may-just-close]
  deliver        --qos Q: a subscriber and a publisher; 20 messages arrive once, in order,
                 at the subscription's QoS (3.1.1 or 5.0)
  shared         5.0: two members of $share/GROUP/T and a plain subscriber on T; each of 20
                 QoS 1 messages reaches exactly one member (both members get some) and the
                 plain subscriber gets all 20, in order
  subid-nolocal  5.0: subscription identifiers (one per matching subscription, none for a
                 subscription without one) and No Local (no echo of the client's own message)
  retain-handling
                 5.0: two retained messages; Retain Handling 0 sends them at a SUBSCRIBE and
                 again at the same SUBSCRIBE repeated, 1 only at the first, 2 never (each
                 with RETAIN 1); Retain As Published 1 forwards a live retained publication
                 with RETAIN 1, 0 with RETAIN 0
  expiry         5.0: Message Expiry Interval: a retained message with 1 s is gone for a
                 subscriber 2 s later, one with 60 s arrives with at most 58 s left; a live
                 subscriber gets each message with what is left of its interval (none without
                 one); a persistent session offline for 2 s gets the 60 s message (at most
                 58 s left) and the one without expiry, not the 1 s one
  aliases        5.0: a publisher sets Topic Aliases 1 and the CONNACK's Topic Alias Maximum
                 with a topic, reuses them with an empty topic and remaps 1; the subscriber
                 gets every message under its real topic (and no alias of its own); a raw
                 PUBLISH with the maximum + 1 ends that connection (DISCONNECT 0x94, if any)
                 and goes nowhere
  request-response
                 5.0: Response Topic, Correlation Data (binary), Content Type, Payload Format
                 Indicator and six User Properties (repeated keys, non-ASCII, empty value)
                 arrive unchanged and in order; a request without properties gets none; the
                 response goes back with the Correlation Data
  takeover       3.1.1 or 5.0: a raw connection with a persistent session subscribes; a second
                 connection with the same client id (clean start 0) takes over: the first gets
                 DISCONNECT 0x8E in 5.0 (nothing in 3.1.1) and is closed, the second finds the
                 session (Session Present 1) and gets a message through its subscription.
                 --takeover-may-just-close lets a 5.0 broker close without the DISCONNECT
                 (mosquitto before 2.0.15; the suite's control only)

stdout: `ok: DETAILS` and exit 0, or `FAIL: WHAT` and exit 1 (exit 2: usage, 3: timeout
or a refused connection).
"""

import argparse
import socket
import struct
import sys
import threading
import time
from collections import namedtuple

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

TIMEOUT = 10.0


class Fail(Exception):
    pass


class Timeout(Exception):
    pass


class Peer:
    """One paho client with a background network loop; what it receives is kept in order.

    `messages` holds (topic, payload, qos, retain, subscription ids) tuples; `received` the
    same messages as `Received`, with their properties (5.0). paho does not reconnect by
    itself: a dropped connection stays dropped, for the check to see.
    """

    def __init__(self, args, name, clean_start=True, session_expiry=None, client_id=None):
        self.name = name
        self.v5 = args.proto == "5"
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"{args.prefix}-{name}",
            protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
            reconnect_on_failure=False,
            **({} if self.v5 else {"clean_session": clean_start}),
        )
        self.lock = threading.Condition()
        self.messages = []
        self.received = []
        self.connack = None
        self.connack_flags = None
        self.connack_properties = None
        self.disconnects = []
        self.subacks = {}
        self.acks = set()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        if self.v5:
            props = None
            if session_expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = session_expiry
            self.client.connect(
                args.host, args.port, keepalive=30, clean_start=clean_start, properties=props
            )
        else:
            self.client.connect(args.host, args.port, keepalive=30)
        self.client.loop_start()
        self._wait(lambda: self.connack is not None, "CONNACK")
        if self.connack.is_failure:
            raise Fail(f"{name}: CONNACK refused the connection: {self.connack}")

    @property
    def session_present(self):
        return bool(self.connack_flags.session_present)

    def _on_connect(self, client, userdata, flags, reason, properties):
        with self.lock:
            self.connack = reason
            self.connack_flags = flags
            self.connack_properties = properties
            self.lock.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason, properties):
        with self.lock:
            self.disconnects.append(reason)
            self.lock.notify_all()

    def _on_message(self, client, userdata, message):
        ids = []
        if self.v5 and message.properties is not None:
            ids = list(getattr(message.properties, "SubscriptionIdentifier", []) or [])
        props = message.properties if self.v5 else None
        with self.lock:
            self.messages.append(
                (message.topic, bytes(message.payload), message.qos, bool(message.retain), ids)
            )
            self.received.append(
                Received(
                    message.topic, bytes(message.payload), message.qos, bool(message.retain), props
                )
            )
            self.lock.notify_all()

    def _on_subscribe(self, client, userdata, mid, reasons, properties):
        with self.lock:
            self.subacks[mid] = [int(r.value) if hasattr(r, "value") else int(r) for r in reasons]
            self.lock.notify_all()

    def _on_publish(self, client, userdata, mid, reason, properties):
        with self.lock:
            self.acks.add(mid)
            self.lock.notify_all()

    def _wait(self, ready, what):
        deadline = time.monotonic() + TIMEOUT
        with self.lock:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(f"{self.name}: no {what} within {TIMEOUT:.0f} s")
                self.lock.wait(left)

    def subscribe(
        self, topic, qos, identifier=None, no_local=False, retain_handling=0, as_published=False
    ):
        props = None
        if self.v5:
            options = SubscribeOptions(
                qos=qos,
                noLocal=no_local,
                retainAsPublished=as_published,
                retainHandling=retain_handling,
            )
            if identifier is not None:
                props = Properties(PacketTypes.SUBSCRIBE)
                props.SubscriptionIdentifier = identifier
            result, mid = self.client.subscribe(topic, options=options, properties=props)
        else:
            result, mid = self.client.subscribe(topic, qos)
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise Fail(f"{self.name}: subscribe({topic}) failed locally: {result}")
        self._wait(lambda: mid in self.subacks, f"SUBACK for {topic}")
        granted = self.subacks[mid]
        if granted != [qos]:
            raise Fail(f"{self.name}: SUBACK for {topic} at QoS {qos} gave {granted}")

    def publish(self, topic, payload, qos, retain=False, properties=None):
        info = self.client.publish(topic, payload, qos, retain=retain, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise Fail(f"{self.name}: publish({topic!r}) failed locally: {info.rc}")
        if qos > 0:
            self._wait(lambda: info.mid in self.acks, f"{'PUBACK' if qos == 1 else 'PUBCOMP'}")
        else:
            info.wait_for_publish(TIMEOUT)

    def wait_messages(self, count):
        self._wait(lambda: len(self.messages) >= count, f"{count} message(s) (got {len(self.messages)})")
        return list(self.messages)

    def settle(self, seconds=0.5):
        """Lets late (wrong) deliveries arrive before the messages are judged."""
        time.sleep(seconds)
        with self.lock:
            return list(self.messages)

    def settled(self, seconds=0.5):
        """`settle`, giving the messages as `Received`, with their properties."""
        time.sleep(seconds)
        with self.lock:
            return list(self.received)

    def wait_for(self, payload):
        """Waits for the message with this payload; returns everything received up to it."""
        self._wait(
            lambda: any(m.payload == payload for m in self.received),
            f"the message {payload!r} (got {[m.payload for m in self.received]})",
        )
        with self.lock:
            return list(self.received)

    def close(self, properties=None):
        self.client.disconnect(properties=properties)
        self.client.loop_stop()


Received = namedtuple("Received", "topic payload qos retain properties")


def prop(message, name, default=None):
    """A property of a received 5.0 message, `default` when it is absent."""
    if message.properties is None:
        return default
    return getattr(message.properties, name, default)


def publish_properties(**values):
    props = Properties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(props, name, value)
    return props


def show(messages):
    return [(m.topic, m.payload, f"retain {int(m.retain)}") for m in messages]


class Raw:
    """A client on a bare socket, for what paho hides: the packets a broker sends before it
    closes a connection (paho 2.1 drops the reason code of a DISCONNECT without properties)
    and packets paho would not send. It reads nothing in the background: each packet is
    read when the check asks for it."""

    CONNACK, PUBLISH, PUBACK, SUBACK, DISCONNECT = 2, 3, 4, 9, 14
    NAMES = {2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC", 9: "SUBACK", 13: "PINGRESP",
             14: "DISCONNECT"}

    def __init__(self, args, name, client_id, clean_start=True, session_expiry=None):
        self.name = name
        self.v5 = args.proto == "5"
        self.sock = socket.create_connection((args.host, args.port), timeout=TIMEOUT)
        self.buffer = b""
        props = b""
        if self.v5 and session_expiry is not None:
            props = b"\x11" + struct.pack("!I", session_expiry)
        body = (
            utf8("MQTT")
            + bytes([5 if self.v5 else 4, 0x02 if clean_start else 0x00])
            + struct.pack("!H", 60)
            + (varint(len(props)) + props if self.v5 else b"")
            + utf8(client_id)
        )
        self.send(0x10, body)
        kind, _, body = self.read("CONNACK")
        if kind != self.CONNACK or len(body) < 2 or body[1] != 0:
            got = "the end of the connection" if kind is None else describe([(kind, 0, body)])
            raise Fail(f"{name}: expected CONNACK 0, got {got}")
        self.session_present = bool(body[0] & 1)

    def send(self, first_byte, body):
        self.sock.sendall(bytes([first_byte]) + varint(len(body)) + body)

    def read(self, what):
        """The next packet as (type, flags, body), or (None, None, None) at end of stream."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            packet = self._parse()
            if packet is not None:
                return packet
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout(f"{self.name}: no {what} within {TIMEOUT:.0f} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if self.buffer:
                    raise Fail(
                        f"{self.name}: the stream ended inside a packet: {self.buffer.hex()}"
                    )
                return (None, None, None)
            self.buffer += chunk

    def _parse(self):
        if len(self.buffer) < 2:
            return None
        length, used = 0, 0
        for i in range(4):
            if 1 + i >= len(self.buffer):
                return None
            byte = self.buffer[1 + i]
            length |= (byte & 0x7F) << (7 * i)
            used = i + 1
            if not byte & 0x80:
                break
        start = 1 + used
        if len(self.buffer) < start + length:
            return None
        first, body = self.buffer[0], self.buffer[start : start + length]
        self.buffer = self.buffer[start + length :]
        return (first >> 4, first & 0x0F, body)

    def packets_until_closed(self):
        """Every packet the broker sends until it closes the connection."""
        packets = []
        while True:
            kind, flags, body = self.read("end of the connection")
            if kind is None:
                return packets
            packets.append((kind, flags, body))

    def subscribe(self, topic, qos):
        body = struct.pack("!H", 1) + (b"\x00" if self.v5 else b"") + utf8(topic) + bytes([qos])
        self.send(0x82, body)
        kind, _, body = self.read("SUBACK")
        granted = None
        if kind == self.SUBACK and len(body) > 2:
            granted = body[2:]
            if self.v5:  # after the properties
                length, used = decode_varint(granted)
                granted = granted[used + length :]
        if granted is None or list(granted) != [qos]:
            got = "the end of the connection" if kind is None else describe([(kind, 0, body)])
            raise Fail(f"{self.name}: SUBACK for {topic} at QoS {qos}: got {got}")

    def publish(self, topic, payload, qos, packet_id=1, properties=b""):
        body = utf8(topic) + (struct.pack("!H", packet_id) if qos else b"")
        if self.v5:
            body += varint(len(properties)) + properties
        self.send(0x30 | (qos << 1), body + payload)

    def close(self):
        self.sock.close()


def utf8(text):
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def decode_varint(data):
    """(value, bytes used) of the Variable Byte Integer at the start of `data`."""
    value = 0
    for i, byte in enumerate(data[:4]):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, i + 1
    raise Fail(f"not a Variable Byte Integer: {data[:4].hex()}")


def describe(packets):
    return [f"{Raw.NAMES.get(k, k)} {b.hex() or '(empty)'}" for k, _, b in packets]


def deliver(args):
    topic = f"{args.prefix}/deliver"
    sub = Peer(args, "s")
    sub.subscribe(topic, args.qos)
    pub = Peer(args, "p")
    sent = [f"message {n}".encode() for n in range(20)]
    for payload in sent:
        pub.publish(topic, payload, args.qos)
    sub.wait_messages(len(sent))
    got = sub.settle()
    payloads = [m[1] for m in got]
    if payloads != sent:
        raise Fail(f"expected {len(sent)} messages once and in order, got {payloads}")
    wrong_qos = [m for m in got if m[2] != args.qos]
    if wrong_qos:
        raise Fail(f"messages at another QoS than {args.qos}: {wrong_qos[:3]}")
    pub.close()
    sub.close()
    return f"{len(sent)} messages at QoS {args.qos}, once each, in order"


def shared(args):
    if args.proto != "5":
        raise Fail("shared subscriptions are MQTT 5.0")
    topic = f"{args.prefix}/shared"
    members = [Peer(args, "m1"), Peer(args, "m2")]
    # A share name is one topic level: no `/`, `+` or `#` (MQTT 5.0 4.8.2).
    group = "g" + "".join(c for c in args.prefix if c.isalnum())
    for member in members:
        member.subscribe(f"$share/{group}/{topic}", 1)
    plain = Peer(args, "all")
    plain.subscribe(topic, 1)
    pub = Peer(args, "p")
    sent = [f"shared {n}".encode() for n in range(20)]
    for payload in sent:
        pub.publish(topic, payload, 1)
    plain.wait_messages(len(sent))
    deadline = time.monotonic() + TIMEOUT
    while sum(len(m.messages) for m in members) < len(sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    counts = [len(m.messages) for m in members]
    received = sorted(p for m in members for (_, p, _, _, _) in m.messages)
    if received != sorted(sent):
        raise Fail(
            f"each message should reach exactly one member of the group: members got {counts} "
            f"messages, {len(set(received))} distinct of {len(sent)}"
        )
    if min(counts) == 0:
        raise Fail(f"one member got every message ({counts}): the group is not shared")
    for member in members:
        mine = [p for (_, p, _, _, _) in member.messages]
        if mine != sorted(mine, key=sent.index):
            raise Fail(f"{member.name} got its share out of order: {mine}")
    if [p for (_, p, _, _, _) in plain.messages] != sent:
        raise Fail(f"the plain subscriber got {[m[1] for m in plain.messages]}")
    for peer in members + [plain, pub]:
        peer.close()
    return f"20 messages split {counts[0]}/{counts[1]} between two members; plain subscriber got 20"


def subid_nolocal(args):
    if args.proto != "5":
        raise Fail("subscription identifiers and No Local are MQTT 5.0")
    base = f"{args.prefix}/subid"
    a = Peer(args, "a")
    a.subscribe(f"{base}/#", 1, identifier=7)
    a.subscribe(f"{base}/+/x", 1, identifier=9)
    a.subscribe(f"{base}/none", 1)
    b = Peer(args, "b")
    b.publish(f"{base}/k/x", b"both", 1)
    b.publish(f"{base}/k/y", b"seven", 1)
    b.publish(f"{base}/none", b"none and seven", 1)
    got = a.wait_messages(3)
    got = a.settle()
    ids = {}
    for topic, payload, _, _, sub_ids in got:
        ids.setdefault(payload, []).extend(sub_ids)
    want = {b"both": [7, 9], b"seven": [7], b"none and seven": [7]}
    for payload, expected in want.items():
        if sorted(ids.get(payload, [])) != expected:
            raise Fail(
                f"message {payload!r}: subscription identifiers {sorted(ids.get(payload, []))}, "
                f"expected {expected} (MQTT 5.0 3.3.4: one per matching subscription that has "
                f"one); everything received: {got}"
            )
    a.close()

    # No Local: the subscriber's own messages are not sent back to it (3.8.3.1).
    topic = f"{args.prefix}/nolocal"
    c = Peer(args, "c")
    c.subscribe(topic, 1, no_local=True)
    c.subscribe(f"{topic}/echo", 1)
    c.publish(topic, b"mine", 1)
    c.publish(f"{topic}/echo", b"echo", 1)
    b.publish(topic, b"theirs", 1)
    c.wait_messages(2)
    got = sorted(m[1] for m in c.settle())
    if got != [b"echo", b"theirs"]:
        raise Fail(
            f"with No Local on {topic}, expected its own `echo` (another subscription) and "
            f"`theirs`, got {got}"
        )
    c.close()
    b.close()
    return "identifiers [7, 9], [7], [7]; No Local kept the client's own message back"


def clear_retained(pub, topics):
    """Leaves no retained message behind for later subscribers to `#`; a failure here does
    not hide the check's own."""
    try:
        for topic in topics:
            pub.publish(topic, b"", 1, retain=True)
        pub.close()
    except (Fail, Timeout, OSError):
        pass


def require_v5(args, what):
    if args.proto != "5":
        raise Fail(f"{what}: MQTT 5.0 only")


def retain_handling(args):
    require_v5(args, "Retain Handling and Retain As Published")
    base = f"{args.prefix}/rh"
    pub = Peer(args, "p")
    kept = [(f"{base}/a", b"kept a"), (f"{base}/b", b"kept b")]
    rap = f"{args.prefix}/rap"
    try:
        for topic, payload in kept:
            pub.publish(topic, payload, 1, retain=True)
        # What each Retain Handling must send at the first SUBSCRIBE and at the same one again
        # (MQTT 5.0 3.3.1.3: retained messages sent for a subscription carry RETAIN 1).
        retained = sorted((t, p, True) for t, p in kept)
        rules = {
            0: (retained, retained, "[MQTT-3.3.1-9]: every time"),
            1: (retained, [], "[MQTT-3.3.1-10]: only when the subscription is new"),
            2: ([], [], "[MQTT-3.3.1-11]: never"),
        }
        for rh, (first, again, rule) in rules.items():
            sub = Peer(args, f"rh{rh}")
            # A marker on a topic outside the filter closes what each SUBSCRIBE brought.
            marker = f"{args.prefix}/mark/rh{rh}"
            sub.subscribe(marker, 1)
            for round_ in (b"first", b"again"):
                sub.subscribe(f"{base}/+", 1, retain_handling=rh)
                pub.publish(marker, round_, 1)
                sub.wait_for(round_)
            got = sub.settled()
            segments, current = [], []
            for m in got:
                if m.topic == marker:
                    segments.append(sorted(current))
                    current = []
                else:
                    current.append((m.topic, m.payload, m.retain))
            if current:
                segments.append(sorted(current))
            if segments != [first, again]:
                raise Fail(
                    f"Retain Handling {rh} sends the retained messages {rule}; expected "
                    f"{first} at the first SUBSCRIBE and {again} at the second, got "
                    f"{segments[:2]}{' and then ' + str(segments[2:]) if len(segments) > 2 else ''}"
                )
            sub.close()

        # Retain As Published: the RETAIN flag of a message forwarded to a subscription that
        # exists when it is published; a new subscription's retained copy has RETAIN 1 anyway.
        on, off = Peer(args, "rap1"), Peer(args, "rap0")
        on.subscribe(rap, 1, as_published=True)
        off.subscribe(rap, 1, as_published=False)
        pub.publish(rap, b"retained", 1, retain=True)
        pub.publish(rap, b"live", 1)
        late = Peer(args, "late")
        late.subscribe(rap, 1, as_published=False)
        pub.publish(rap, b"after", 1)
        want = {
            on: ([(rap, b"retained", True), (rap, b"live", False), (rap, b"after", False)],
                 "Retain As Published 1 keeps the publisher's RETAIN [MQTT-3.3.1-13]"),
            off: ([(rap, b"retained", False), (rap, b"live", False), (rap, b"after", False)],
                  "Retain As Published 0 clears RETAIN [MQTT-3.3.1-12]"),
            late: ([(rap, b"retained", True), (rap, b"after", False)],
                   "a new subscription gets the retained message with RETAIN 1 (3.3.1.3), "
                   "even with Retain As Published 0"),
        }
        for peer, (expected, rule) in want.items():
            peer.wait_for(b"after")
        for peer, (expected, rule) in want.items():
            got = [(m.topic, m.payload, m.retain) for m in peer.settled(0.2)]
            if got != expected:
                raise Fail(f"{rule}: {peer.name} expected {expected}, got {got}")
        for peer in (on, off, late):
            peer.close()
    finally:
        clear_retained(pub, [t for t, _ in kept] + [rap])
    return (
        "Retain Handling 0 sent the retained messages at both SUBSCRIBEs, 1 at the first only, "
        "2 never; Retain As Published 1 kept RETAIN, 0 cleared it"
    )


def expiry(args):
    require_v5(args, "Message Expiry Interval")
    base = f"{args.prefix}/exp"
    pub = Peer(args, "p")
    short, lasting, end = f"{base}/r/short", f"{base}/r/long", f"{base}/r/end"
    try:
        pub.publish(short, b"retained, 1 s", 1, retain=True,
                    properties=publish_properties(MessageExpiryInterval=1))
        pub.publish(lasting, b"retained, 60 s", 1, retain=True,
                    properties=publish_properties(MessageExpiryInterval=60))

        # A persistent session (Session Expiry Interval 300) that goes offline, and a live
        # subscriber, on the same topic.
        queued = f"{base}/queued"
        offline = Peer(args, "off", clean_start=True, session_expiry=300)
        offline.subscribe(queued, 1)
        offline.close()
        live = Peer(args, "live")
        live.subscribe(queued, 1)
        sent_at = time.monotonic()
        pub.publish(queued, b"queued, 1 s", 1,
                    properties=publish_properties(MessageExpiryInterval=1))
        pub.publish(queued, b"queued, 60 s", 1,
                    properties=publish_properties(MessageExpiryInterval=60))
        pub.publish(queued, b"queued, no expiry", 1)

        # Delivered at once: each carries what is left of its interval (at most what was
        # published), the one without an interval none [MQTT-3.3.2-6].
        live.wait_for(b"queued, no expiry")
        got = {m.payload: prop(m, "MessageExpiryInterval") for m in live.settled(0.2)}
        bounds = {b"queued, 1 s": (0, 1), b"queued, 60 s": (1, 60), b"queued, no expiry": None}
        for payload, bound in bounds.items():
            value = got.get(payload, "not delivered")
            ok = value is None if bound is None else (
                isinstance(value, int) and bound[0] <= value <= bound[1])
            if not ok:
                raise Fail(
                    f"a subscriber present at publication got {payload!r} with Message Expiry "
                    f"Interval {value}, expected {'none' if bound is None else bound} "
                    f"[MQTT-3.3.2-6]; all it got: {got}"
                )
        live.close()

        time.sleep(max(0.0, 2.2 - (time.monotonic() - sent_at)))
        waited = time.monotonic() - sent_at

        # The retained message with 1 s is gone for a subscriber 2 s later [MQTT-3.3.2-5];
        # the one with 60 s arrives with at most 60 - 2 s left [MQTT-3.3.2-6].
        late = Peer(args, "late")
        late.subscribe(f"{base}/r/+", 1)
        pub.publish(end, b"end", 1)
        late.wait_for(b"end")
        got = late.settled()
        expected = [(lasting, b"retained, 60 s", True), (end, b"end", False)]
        if [(m.topic, m.payload, m.retain) for m in got] != expected:
            raise Fail(
                f"a subscriber {waited:.1f} s after the retained messages were published "
                f"expected {expected} (the one with Message Expiry Interval 1 had expired: "
                f"[MQTT-3.3.2-5], 3.3.1.3), got {show(got)}"
            )
        left = prop(got[0], "MessageExpiryInterval")
        if not isinstance(left, int) or not 1 <= left <= 58:
            raise Fail(
                f"the retained message published with Message Expiry Interval 60 was sent "
                f"{waited:.1f} s later with {left}, expected 1 to 58 [MQTT-3.3.2-6]"
            )
        late.close()

        # The offline session: the 1 s message expired while it waited and is not sent; the
        # others are, in order, the 60 s one with what is left [MQTT-3.3.2-5, -6].
        back = Peer(args, "off", clean_start=False, session_expiry=0)
        if not back.session_present:
            raise Fail("the persistent session was not resumed (Session Present 0) "
                       "[MQTT-3.2.2-3]")
        pub.publish(queued, b"after reconnect", 1)
        back.wait_for(b"after reconnect")
        got = back.settled()
        expected = [b"queued, 60 s", b"queued, no expiry", b"after reconnect"]
        if [m.payload for m in got] != expected:
            raise Fail(
                f"the session resumed {waited:.1f} s after the messages were queued: expected "
                f"{expected} (the one with Message Expiry Interval 1 expired while it was "
                f"offline [MQTT-3.3.2-5]), got {show(got)}"
            )
        left = prop(got[0], "MessageExpiryInterval")
        if not isinstance(left, int) or not 1 <= left <= 58:
            raise Fail(
                f"the queued message with Message Expiry Interval 60 was sent {waited:.1f} s "
                f"later with {left}, expected 1 to 58 [MQTT-3.3.2-6]"
            )
        if prop(got[1], "MessageExpiryInterval") is not None:
            raise Fail(
                f"the queued message without an expiry was sent with Message Expiry Interval "
                f"{prop(got[1], 'MessageExpiryInterval')}"
            )
        back.close()
    finally:
        clear_retained(pub, [short, lasting])
    return (
        f"expired after 1 s: neither retained nor queued; with 60 s: {left} s left after "
        f"{waited:.1f} s; live deliveries carry their remaining interval"
    )


def aliases(args):
    require_v5(args, "Topic Alias")
    base = f"{args.prefix}/alias"
    pub = Peer(args, "p")
    maximum = getattr(pub.connack_properties, "TopicAliasMaximum", 0)
    if maximum < 2:
        raise Fail(
            f"the CONNACK gives Topic Alias Maximum {maximum}: the broker takes no (or one) "
            f"alias, so this check cannot run (3.2.2.3.8)"
        )
    sub = Peer(args, "s")
    sub.subscribe(f"{base}/#", 1)
    one, two, three = f"{base}/one", f"{base}/two/deeper", f"{base}/three"
    # (topic sent, alias, payload, topic the subscriber must see); aliases 1 and the
    # broker's maximum, never above it [MQTT-3.2.2-17, MQTT-3.3.2-9]; the broker must take
    # both [MQTT-3.3.2-12].
    steps = [
        (one, 1, b"a1", one),
        (two, maximum, b"b1", two),
        ("", 1, b"a2", one),
        ("", maximum, b"b2", two),
        (three, 1, b"c1", three),  # alias 1 now stands for `three`
        ("", 1, b"c2", three),
        ("", maximum, b"b3", two),
        (one, None, b"a3", one),  # a topic without an alias leaves the mapping alone
        ("", 1, b"c3", three),
    ]
    for topic, alias, payload, _ in steps:
        props = publish_properties(TopicAlias=alias) if alias else None
        pub.publish(topic, payload, 1, properties=props)
    sub.wait_for(b"c3")
    got = sub.settled()
    want = [(t, p) for _, _, p, t in steps]
    pairs = [(m.topic, m.payload) for m in got]
    per_topic = all(
        [p for t, p in pairs if t == topic] == [p for t, p in want if t == topic]
        for topic in (one, two, three)
    )
    if sorted(pairs) != sorted(want) or not per_topic:
        raise Fail(
            f"with Topic Alias Maximum {maximum}, publishing through aliases 1 and {maximum} "
            f"(set, used with an empty topic, remapped): expected {want} (each topic in "
            f"order; the broker takes aliases up to its maximum [MQTT-3.3.2-12] and maps them "
            f"as 3.3.4 says), got {pairs}"
        )
    sent_alias = [m for m in got if prop(m, "TopicAlias") is not None]
    if sent_alias:
        raise Fail(
            f"the subscriber allowed no Topic Alias (none in its CONNECT) but got "
            f"{[(m.payload, prop(m, 'TopicAlias')) for m in sent_alias]} [MQTT-3.1.2-27]"
        )

    # One above the maximum is a Protocol Error: the broker closes the connection, after a
    # DISCONNECT 0x94 Topic Alias invalid if it sends one (3.3.4, 4.13), and the message goes
    # nowhere.
    raw = Raw(args, "bad", f"{args.prefix}-bad")
    closing = "(no alias above 65535 to try)"
    if maximum < 65535:
        raw.publish(f"{base}/bad", b"alias above the maximum", 1,
                    properties=b"\x23" + struct.pack("!H", maximum + 1))
        try:
            packets = raw.packets_until_closed()
        except Timeout:
            raise Fail(
                f"a PUBLISH with Topic Alias {maximum + 1} (maximum {maximum}) did not close "
                f"the connection within {TIMEOUT:.0f} s (3.3.4: a Protocol Error)"
            ) from None
        if not (packets == [] or (len(packets) == 1 and packets[0][0] == Raw.DISCONNECT
                                  and packets[0][2][:1] == b"\x94")):
            raise Fail(
                f"a PUBLISH with Topic Alias {maximum + 1} (maximum {maximum}) should end the "
                f"connection, with DISCONNECT 0x94 Topic Alias invalid if any (3.3.4); got "
                f"{describe(packets)}"
            )
        closing = (
            f"alias {maximum + 1} closed the connection after "
            f"{describe(packets) or 'no packet'}"
        )
    raw.close()
    pub.publish(f"{base}/after", b"after", 1)
    got = sub.wait_for(b"after")
    if any(m.payload == b"alias above the maximum" for m in got):
        raise Fail(f"the message with an invalid Topic Alias was delivered: {show(got)}")
    pub.close()
    sub.close()
    return (
        f"Topic Alias Maximum {maximum}: {len(steps)} messages through aliases 1 and {maximum} "
        f"(set, reused, remapped) arrived under the right topics; {closing}"
    )


def request_response(args):
    require_v5(args, "request/response properties")
    base = f"{args.prefix}/rr"
    request, response = f"{base}/request", f"{base}/response/requester"
    responder = Peer(args, "responder")
    responder.subscribe(request, 1)
    requester = Peer(args, "requester")
    requester.subscribe(response, 1)
    correlation = b"\x00\x01corr-42\xff\n"
    users = [
        ("trace", "1"),
        ("app", "tern interop"),
        ("trace", "2"),
        ("ключ", "значение ✓"),
        ("empty", ""),
        ("trace", "3"),
    ]
    content_type = "application/json; charset=utf-8"
    requester.publish(
        request,
        '{"ask": "temperature", "unit": "°C"}'.encode(),
        1,
        properties=publish_properties(
            ResponseTopic=response,
            CorrelationData=correlation,
            ContentType=content_type,
            PayloadFormatIndicator=1,
            UserProperty=users,
        ),
    )
    # A second request without properties: nothing of the first may stick to it.
    requester.publish(request, b"\xff\xfe no properties", 1)
    responder.wait_for(b"\xff\xfe no properties")
    got = responder.settled(0.2)
    if len(got) != 2:
        raise Fail(f"the responder expected 2 requests, got {show(got)}")
    first, second = got
    expected = [
        ("ResponseTopic", response, "[MQTT-3.3.2-15]"),
        ("CorrelationData", correlation, "[MQTT-3.3.2-16]"),
        ("ContentType", content_type, "[MQTT-3.3.2-20]"),
        ("PayloadFormatIndicator", 1, "[MQTT-3.3.2-4]"),
        ("UserProperty", users, "unaltered and in order, repeated keys too [MQTT-3.3.2-17, -18]"),
    ]
    for name, value, rule in expected:
        have = prop(first, name)
        if isinstance(have, list):
            have = [tuple(pair) for pair in have]
        if have != value:
            raise Fail(f"the request's {name} arrived as {have!r}, sent {value!r} {rule}")
    leaked = {name: prop(second, name) for name, _, _ in expected if prop(second, name)}
    if leaked:
        raise Fail(f"a request published without properties arrived with {leaked}")

    # The response goes to the Response Topic with the Correlation Data it got (4.10).
    responder.publish(
        prop(first, "ResponseTopic"),
        b"21.5",
        1,
        properties=publish_properties(
            CorrelationData=prop(first, "CorrelationData"), UserProperty=[("answer", "yes")]
        ),
    )
    got = requester.wait_for(b"21.5")
    answer = got[-1]
    checks = [
        (answer.topic, response, "topic"),
        (prop(answer, "CorrelationData"), correlation, "Correlation Data [MQTT-3.3.2-16]"),
        ([tuple(p) for p in prop(answer, "UserProperty", [])], [("answer", "yes")],
         "User Property [MQTT-3.3.2-17]"),
        (prop(answer, "ResponseTopic"), None, "Response Topic (none was sent)"),
    ]
    for have, want, what in checks:
        if have != want:
            raise Fail(f"the response's {what}: {have!r}, expected {want!r}")
    if [m.payload for m in requester.settled(0.2)] != [b"21.5"]:
        raise Fail(f"the requester expected only the response, got {show(requester.received)}")
    for peer in (responder, requester):
        peer.close()
    return (
        "Response Topic, Correlation Data, Content Type, Payload Format Indicator and "
        f"{len(users)} User Properties (repeated keys, non-ASCII, empty value) passed "
        "unchanged and in order; the response came back correlated"
    )


def takeover(args):
    topic = f"{args.prefix}/takeover"
    client_id = f"{args.prefix}-k"
    # A persistent session: 3.1.1 clean session 0; 5.0 clean start 0, session expiry 300 s.
    old = Raw(args, "old", client_id, clean_start=False, session_expiry=300)
    old.subscribe(topic, 1)
    new = Peer(args, "new", clean_start=False, session_expiry=300, client_id=client_id)
    try:
        packets = old.packets_until_closed()
    except Timeout:
        raise Fail(
            f"after a second connection with the client id {client_id}, the first one was "
            f"still open {TIMEOUT:.0f} s later ({'[MQTT-3.1.4-3]' if old.v5 else '[MQTT-3.1.4-2]'})"
        ) from None
    taken_over = (
        len(packets) == 1 and packets[0][0] == Raw.DISCONNECT and packets[0][2][:1] == b"\x8e"
    )
    if old.v5:
        if not (taken_over or (packets == [] and args.takeover_may_just_close)):
            raise Fail(
                f"the connection taken over should get DISCONNECT 0x8E Session taken over and "
                f"then be closed [MQTT-3.1.4-3]; it got {describe(packets)} and was closed"
            )
    elif packets:
        raise Fail(
            f"in 3.1.1 the connection taken over is closed [MQTT-3.1.4-2] (a server sends no "
            f"DISCONNECT in 3.1.1); it got {describe(packets)}"
        )
    old.close()
    if not new.session_present:
        raise Fail(
            "the second connection (clean start 0) found no session: Session Present 0 "
            f"{'[MQTT-3.2.2-3]' if old.v5 else '[MQTT-3.2.2-2]'}; the takeover lost the "
            "persistent session"
        )
    pub = Peer(args, "p")
    pub.publish(topic, b"after the takeover", 1)
    new.wait_for(b"after the takeover")
    got = new.settled()
    if [(m.topic, m.payload) for m in got] != [(topic, b"after the takeover")]:
        raise Fail(
            f"the session's subscription should survive the takeover: the new connection, "
            f"which did not subscribe, expected exactly ({topic}, b'after the takeover'), "
            f"got {show(got)}"
        )
    if new.disconnects:
        raise Fail(f"the new connection was dropped: {new.disconnects}")
    new.close()
    pub.close()
    # End the session (clean start, no expiry).
    Peer(args, "end", client_id=client_id).close()
    got = describe(packets) or "no packet"
    if old.v5 and not taken_over:
        got += " (no DISCONNECT 0x8E: allowed by --takeover-may-just-close)"
    return (
        f"the first connection got {got} and was closed; the session and its subscription "
        "went on with the second"
    )


CHECKS = {
    "deliver": deliver,
    "shared": shared,
    "subid-nolocal": subid_nolocal,
    "retain-handling": retain_handling,
    "expiry": expiry,
    "aliases": aliases,
    "request-response": request_response,
    "takeover": takeover,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("check", choices=sorted(CHECKS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--proto", choices=["3.1.1", "5"], default="5")
    parser.add_argument("--qos", type=int, choices=[0, 1, 2], default=1)
    parser.add_argument("--prefix", default=f"paho{int(time.time())}")
    parser.add_argument(
        "--takeover-may-just-close",
        action="store_true",
        help="takeover: let a 5.0 connection taken over be closed without DISCONNECT 0x8E "
        "(mosquitto before 2.0.15, eclipse-mosquitto/mosquitto#2607; for the control only)",
    )
    args = parser.parse_args()
    try:
        print(f"ok: {CHECKS[args.check](args)}", flush=True)
        return 0
    except Fail as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    except (Timeout, OSError) as e:
        print(f"FAIL: {e}", flush=True)
        return 3


if __name__ == "__main__":
    sys.exit(main())
