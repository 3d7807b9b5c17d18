#!/usr/bin/env python3
"""Broker checks on paho-mqtt's Python API, for `cargo xtask interop broker`.

Each CHECK connects its own clients to the broker at --host/--port, does one thing, and
judges what came back. The same check runs against mosquitto first (the suite's control),
so that a failure against tern is tern's and not this script's.

Usage: paho_check.py CHECK --port PORT [--host H] [--proto 3.1.1|5] [--qos Q] [--prefix P]
  deliver        --qos Q: a subscriber and a publisher; 20 messages arrive once, in order,
                 at the subscription's QoS (3.1.1 or 5.0)
  shared         5.0: two members of $share/GROUP/T and a plain subscriber on T; each of 20
                 QoS 1 messages reaches exactly one member (both members get some) and the
                 plain subscriber gets all 20, in order
  subid-nolocal  5.0: subscription identifiers (one per matching subscription, none for a
                 subscription without one) and No Local (no echo of the client's own message)

stdout: `ok: DETAILS` and exit 0, or `FAIL: WHAT` and exit 1 (exit 2: usage, 3: timeout
or a refused connection).
"""

import argparse
import sys
import threading
import time

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
    """One paho client with a background network loop; what it receives is kept in order."""

    def __init__(self, args, name):
        self.name = name
        self.v5 = args.proto == "5"
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{args.prefix}-{name}",
            protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
            **({} if self.v5 else {"clean_session": True}),
        )
        self.lock = threading.Condition()
        self.messages = []
        self.connack = None
        self.subacks = {}
        self.acks = set()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.connect(args.host, args.port, keepalive=30)
        self.client.loop_start()
        self._wait(lambda: self.connack is not None, "CONNACK")
        if self.connack.is_failure:
            raise Fail(f"{name}: CONNACK refused the connection: {self.connack}")

    def _on_connect(self, client, userdata, flags, reason, properties):
        with self.lock:
            self.connack = reason
            self.lock.notify_all()

    def _on_message(self, client, userdata, message):
        ids = []
        if self.v5 and message.properties is not None:
            ids = list(getattr(message.properties, "SubscriptionIdentifier", []) or [])
        with self.lock:
            self.messages.append(
                (message.topic, bytes(message.payload), message.qos, bool(message.retain), ids)
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

    def subscribe(self, topic, qos, identifier=None, no_local=False):
        props = None
        if self.v5:
            options = SubscribeOptions(qos=qos, noLocal=no_local)
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

    def publish(self, topic, payload, qos):
        info = self.client.publish(topic, payload, qos)
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

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


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


CHECKS = {"deliver": deliver, "shared": shared, "subid-nolocal": subid_nolocal}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("check", choices=sorted(CHECKS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--proto", choices=["3.1.1", "5"], default="5")
    parser.add_argument("--qos", type=int, choices=[0, 1, 2], default=1)
    parser.add_argument("--prefix", default=f"paho{int(time.time())}")
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
