"""Python peers of asyncio_prims_bench.cc: asyncio and uvloop.

The same workloads with the same N as the C++ rows: a Lock and a Semaphore
held across asyncio.sleep(0) by 4 contending tasks, and a Queue(maxsize=1)
between a producer and a consumer task. Each run checks its result and exits
non-zero if it is wrong. Times are per round trip.
"""
import asyncio
import time

from peer import main, peer

LOCK = "asyncio: Lock round trip, 4 tasks contending"
QUEUE = "asyncio: Queue(maxsize=1) put and get, producer to consumer"
SEMAPHORE = "asyncio: Semaphore(2) round trip, 4 tasks contending"

ROUNDS = 100_000
TASKS = 4
UNITS = 2


async def contend_lock():
    lock = asyncio.Lock()
    counter = 0

    async def rounds(n):
        nonlocal counter
        for _ in range(n):
            async with lock:
                seen = counter
                await asyncio.sleep(0)
                counter = seen + 1

    await asyncio.gather(*(rounds(ROUNDS // TASKS) for _ in range(TASKS)))
    if counter != ROUNDS:
        raise SystemExit(f"Lock let two tasks in: {counter} != {ROUNDS}")


async def hand_off():
    queue = asyncio.Queue(maxsize=1)

    async def consume():
        total = 0
        for _ in range(ROUNDS):
            total += await queue.get()
        return total

    consumer = asyncio.create_task(consume())
    for i in range(ROUNDS):
        await queue.put(i)
    total = await consumer
    if total != ROUNDS * (ROUNDS - 1) // 2:
        raise SystemExit(f"Queue lost or repeated items: sum {total}")


async def contend_semaphore():
    sem = asyncio.Semaphore(UNITS)
    inside = {"now": 0, "most": 0, "rounds": 0}

    async def rounds(n):
        for _ in range(n):
            async with sem:
                inside["now"] += 1
                inside["most"] = max(inside["most"], inside["now"])
                await asyncio.sleep(0)
                inside["now"] -= 1
                inside["rounds"] += 1

    await asyncio.gather(*(rounds(ROUNDS // TASKS) for _ in range(TASKS)))
    if inside["rounds"] != ROUNDS or inside["most"] != UNITS:
        raise SystemExit(f"Semaphore let the wrong number in: {inside}")


def run_uvloop(coro):
    import uvloop
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def _rows(name, run):
    """The three workloads on one event loop implementation."""
    for workload, coro in ((LOCK, contend_lock), (QUEUE, hand_off),
                           (SEMAPHORE, contend_semaphore)):
        def measure(coro=coro):
            start = time.perf_counter_ns()
            run(coro())
            return (time.perf_counter_ns() - start) / ROUNDS
        peer(workload, name)(measure)


_rows("Python asyncio", asyncio.run)
# Debian's python3-uvloop serves Debian's interpreter; the driver runs this row there.
_rows("Python uvloop", run_uvloop)

if __name__ == "__main__":
    main()
