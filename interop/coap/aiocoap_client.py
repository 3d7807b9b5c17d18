#!/usr/bin/env python3
"""A CoAP client on aiocoap's Python API, for `cargo xtask interop coap`.

aiocoap-client's own observe is broken in aiocoap 0.4.17, and its output is made for people;
this script does one action and prints what the suite checks, one JSON object per line.

Usage: aiocoap_client.py URI ACTION [options]
  ACTION       get, put, post, delete, or observe (a GET with Observe: 0)
  --payload TEXT / --payload-file FILE
               the request payload (Block1 when larger than the block size)
  --block-size N
               16..1024: the largest block in both directions (Block2 is asked for at this
               size from the first request on)
  --non        send the request as NON
  --content-format N
  --duration SECS
               observe: how long to collect notifications (default 3)
  --out FILE   write the final response's payload (after Block2 reassembly) to FILE
  --timeout SECS
               give up after SECS (default 20): exit 3

stdout: one line per response or notification:
  {"code": "2.05", "type": "ACK", "location": "/store/1", "size": 5, "payload": "hello"}
(`payload` only when it is UTF-8; `location` only with Location-Path options).
Exit status: 0 when every response was 2.xx, 1 on another code or a reset, 2 on usage errors,
3 on a timeout.
"""

import argparse
import asyncio
import json
import sys

from aiocoap import Code, Context, Message, NON
from aiocoap.optiontypes import BlockOption

METHODS = {"get": Code.GET, "put": Code.PUT, "post": Code.POST, "delete": Code.DELETE}


def describe(response):
    line = {
        "code": response.code.dotted,
        "type": response.mtype.name if response.mtype is not None else None,
        "size": len(response.payload),
    }
    if response.opt.location_path:
        line["location"] = "/" + "/".join(response.opt.location_path)
    try:
        line["payload"] = response.payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    print(json.dumps(line), flush=True)
    return response.code.is_successful()


def request_message(args):
    code = Code.GET if args.action == "observe" else METHODS[args.action]
    request = Message(code=code, uri=args.uri)
    if args.action == "observe":
        request.opt.observe = 0
    if args.non:
        request.mtype = NON
    if args.payload is not None:
        request.payload = args.payload.encode()
    elif args.payload_file is not None:
        with open(args.payload_file, "rb") as f:
            request.payload = f.read()
    if args.content_format is not None:
        request.opt.content_format = args.content_format
    if args.block_size is not None:
        szx = args.block_size.bit_length() - 5
        # The remote's limit covers Block1 and later Block2 requests; the explicit Block2
        # option makes the first response small too, rather than a 1024-byte first block.
        request.remote.maximum_block_size_exp = szx
        if code == Code.GET:
            request.opt.block2 = BlockOption.BlockwiseTuple(0, False, szx)
    return request


async def run(args):
    context = await Context.create_client_context(transports=["udp6"])
    try:
        request = context.request(request_message(args))
        if args.action != "observe":
            response = await request.response
            if args.out:
                with open(args.out, "wb") as f:
                    f.write(response.payload)
            return describe(response)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.duration
        first = await request.response
        results = [describe(first)]
        if first.opt.observe is None:
            print("the response carries no Observe option", file=sys.stderr)
            return False

        async def notifications():
            async for notification in request.observation:
                results.append(describe(notification))

        try:
            await asyncio.wait_for(notifications(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            pass
        request.observation.cancel()
        return all(results)
    finally:
        await context.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("action", choices=[*METHODS, "observe"])
    payload = parser.add_mutually_exclusive_group()
    payload.add_argument("--payload")
    payload.add_argument("--payload-file")
    parser.add_argument("--block-size", type=int)
    parser.add_argument("--non", action="store_true")
    parser.add_argument("--content-format", type=int)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--out")
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    if args.block_size is not None and (
        args.block_size not in (16, 32, 64, 128, 256, 512, 1024)
    ):
        parser.error("--block-size must be a power of two from 16 to 1024")

    async def bounded():
        return await asyncio.wait_for(run(args), args.timeout)

    try:
        ok = asyncio.run(bounded())
    except asyncio.TimeoutError:
        print(f"aiocoap_client: no answer within {args.timeout} s", file=sys.stderr)
        sys.exit(3)
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        print(f"aiocoap_client: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
