#!/usr/bin/env python3
"""An aiocoap server with the resources of `tern coap serve`, for `cargo xtask interop coap`.

The interop suite runs the same checks against this server (as controls, proving the checks
and the clients work) and against `tern coap serve`, so the resources follow tern's CLI
contract:

  /hello      GET -> 2.05 "Hello, world!" (text/plain), or the last payload PUT/POSTed to it;
              PUT/POST -> 2.04 Changed, stores the payload
  /time       GET, observable: seconds since the epoch as text, a notification every second
  /large      GET -> 2.05, the contents of --large (Block2 when larger than a block)
  /separate   GET -> "separate" after --separate-delay seconds (an empty ACK goes first)
  /store      POST -> 2.01 Created with Location-Path store/N
  /store/NAME PUT -> 2.01 Created or 2.04 Changed, GET -> 2.05 or 4.04, DELETE -> 2.02
  /.well-known/core with query filtering (aiocoap's own)

Block1 uploads are reassembled by aiocoap before a resource sees them.

Usage: aiocoap_server.py --bind HOST --port PORT --large FILE [--separate-delay SECS]
Prints `listening on HOST:PORT` on stderr once bound, then serves until killed.
"""

import argparse
import asyncio
import sys
import time

from aiocoap import Code, Context, Message, error, resource
from aiocoap.util.linkformat import Link, LinkFormat

TEXT_PLAIN = 0


class Hello(resource.Resource):
    rt = "tern.hello"
    ct = TEXT_PLAIN

    def __init__(self):
        super().__init__()
        self.payload = b"Hello, world!"

    async def render_get(self, request):
        return Message(payload=self.payload, content_format=TEXT_PLAIN)

    async def render_put(self, request):
        self.payload = request.payload
        return Message(code=Code.CHANGED)

    async def render_post(self, request):
        return await self.render_put(request)


class Time(resource.ObservableResource):
    rt = "tern.time"
    ct = TEXT_PLAIN

    def __init__(self):
        super().__init__()
        self.ticker = None

    def update_observation_count(self, newcount):
        # Tick only while someone observes, as a constrained server would.
        if newcount and self.ticker is None:
            self.ticker = asyncio.get_running_loop().create_task(self.tick())
        elif not newcount and self.ticker is not None:
            self.ticker.cancel()
            self.ticker = None

    async def tick(self):
        while True:
            await asyncio.sleep(1)
            self.updated_state()

    async def render_get(self, request):
        return Message(payload=str(int(time.time())).encode(), content_format=TEXT_PLAIN)


class Large(resource.Resource):
    rt = "tern.large"
    ct = TEXT_PLAIN

    def __init__(self, body):
        super().__init__()
        self.body = body

    async def render_get(self, request):
        return Message(payload=self.body, content_format=TEXT_PLAIN)


class Separate(resource.Resource):
    rt = "tern.separate"
    ct = TEXT_PLAIN

    def __init__(self, delay):
        super().__init__()
        self.delay = delay

    async def render_get(self, request):
        # Longer than aiocoap's EMPTY_ACK_DELAY, so the request is ACKed empty first.
        await asyncio.sleep(self.delay)
        return Message(payload=b"separate", content_format=TEXT_PLAIN)


class Store:
    """The stored items, shared by /store and /store/NAME."""

    def __init__(self):
        self.items = {}
        self.next = 1

    def new_name(self):
        while str(self.next) in self.items:
            self.next += 1
        return str(self.next)


class StoreRoot(resource.Resource):
    """/store itself: POST creates an item under a new name."""

    rt = "tern.store"

    def __init__(self, store):
        super().__init__()
        self.store = store

    async def render_post(self, request):
        name = self.store.new_name()
        self.store.items[name] = request.payload
        return Message(code=Code.CREATED, location_path=("store", name))


class StoreItems(resource.Resource, resource.PathCapable):
    """/store/NAME: the site hands over requests with the path after `store/`."""

    def __init__(self, store):
        super().__init__()
        self.store = store

    async def render(self, request):
        path = request.opt.uri_path
        if len(path) != 1 or not path[0]:
            raise error.NotFound()
        name = path[0]
        if request.code == Code.GET:
            if name not in self.store.items:
                raise error.NotFound()
            return Message(code=Code.CONTENT, payload=self.store.items[name])
        if request.code == Code.PUT:
            created = name not in self.store.items
            self.store.items[name] = request.payload
            return Message(code=Code.CREATED if created else Code.CHANGED)
        if request.code == Code.DELETE:
            self.store.items.pop(name, None)
            return Message(code=Code.DELETED)
        raise error.UnallowedMethod()

    def get_resources_as_linkheader(self):
        return LinkFormat([Link("/" + name) for name in sorted(self.store.items)])


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--large", required=True, help="file served as /large")
    parser.add_argument("--separate-delay", type=float, default=2.0)
    args = parser.parse_args()
    with open(args.large, "rb") as f:
        large = f.read()

    store = Store()
    site = resource.Site()
    site.add_resource([".well-known", "core"], resource.WKCResource(site.get_resources_as_linkheader))
    site.add_resource(["hello"], Hello())
    site.add_resource(["time"], Time())
    site.add_resource(["large"], Large(large))
    site.add_resource(["separate"], Separate(args.separate_delay))
    site.add_resource(["store"], StoreRoot(store))
    site.add_resource(["store"], StoreItems(store))

    # udp6 only: the default list would also open TCP and WebSocket listeners.
    await Context.create_server_context(site, bind=(args.bind, args.port), transports=["udp6"])
    print(f"listening on {args.bind}:{args.port}", file=sys.stderr, flush=True)
    await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
