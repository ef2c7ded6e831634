"""Python peer of http_bench.cc: aiohttp, 10,000 pages at most 100 in flight.

The same workload as the C++ rows: 10,000 quote pages from pyconc's quote server
(no delay), 100 at a time under an asyncio.Semaphore, one ClientSession (which keeps
connections alive, as libcurl's multi handle does). The server is the threaded
scraper's tool run with --serve, a process of its own. Time is per page; every page
is checked for an HTTP 200 with a body.
"""
import asyncio
import pathlib
import re
import subprocess
import time

from peer import main, peer

PAGES = ("http: 10,000 quote pages from the local quote server, at most 100 in "
         "flight (per page)")

COUNT = 10000  # the same numbers as http_bench.cc
IN_FLIGHT = 100


def start_server():
    """Starts //threading/stocks:tool --serve; returns (process, base URL)."""
    # This script is tools/bench/python/ in the bench's runfiles; the tool is
    # threading/stocks/tool beside it (not resolved: runfiles are symlinks).
    root = pathlib.Path(__file__).absolute().parents[3]
    tool = root / "threading" / "stocks" / "tool"
    server = subprocess.Popen([str(tool), "--serve", "--delay_ms=0"],
                              stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+)/quote/", line)
    if not found:
        server.kill()
        raise RuntimeError(f"the quote server did not start: {line!r}")
    return server, found.group(1)


async def get_all(base):
    import aiohttp
    limit = asyncio.Semaphore(IN_FLIGHT)
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def get_one(i):
            async with limit:
                async with session.get(f"{base}/quote/T{i % 1000}") as answer:
                    body = await answer.read()
                    return answer.status == 200 and len(body) > 0
        return sum(await asyncio.gather(*[get_one(i) for i in range(COUNT)]))


# Debian's python3-aiohttp serves Debian's interpreter; the driver runs this row there.
@peer(PAGES, "Python aiohttp")
def aiohttp_pages():
    server, base = start_server()
    try:
        start = time.perf_counter_ns()
        ok = asyncio.run(get_all(base))
        elapsed = time.perf_counter_ns() - start
    finally:
        server.terminate()
        server.wait()
    assert ok == COUNT, f"{ok} of {COUNT} pages came"
    return elapsed / COUNT


if __name__ == "__main__":
    main()
