"""Python peers of streams_bench.cc: asyncio streams and uvloop, echo over loopback.

The same workload as the C++ rows: an echo server and 100 client connections on one
event loop, each client sending 500 requests of 64 bytes one after another and
waiting for each echo; the time is per request, every reply checked.
"""
import asyncio
import time

from peer import main, peer

ECHO = ("asyncio: echo over loopback, 100 connections x 500 requests of 64 B "
        "(per request)")

CONNECTIONS = 100  # the same numbers as streams_bench.cc
REQUESTS = 500
SIZE = 64


async def echo(reader, writer):
    while True:
        data = await reader.read(64 * 1024)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


async def client(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    message = b"x" * SIZE
    answered = 0
    for _ in range(REQUESTS):
        writer.write(message)
        await writer.drain()
        reply = await reader.readexactly(SIZE)
        answered += reply == message
    writer.close()
    return answered


async def echo_all():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    answered = sum(await asyncio.gather(*[client(port) for _ in range(CONNECTIONS)]))
    server.close()
    await server.wait_closed()
    return answered


def _run_uvloop(coro):
    import uvloop
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def _rows(name, run):
    @peer(ECHO, name)
    def echo_loopback():
        start = time.perf_counter_ns()
        answered = run(echo_all())
        elapsed = time.perf_counter_ns() - start
        assert answered == CONNECTIONS * REQUESTS
        return elapsed / (CONNECTIONS * REQUESTS)


_rows("Python asyncio", asyncio.run)
# Debian's python3-uvloop serves Debian's interpreter; the driver runs this row there.
_rows("Python uvloop", _run_uvloop)

if __name__ == "__main__":
    main()
