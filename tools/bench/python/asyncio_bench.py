"""Python peers of asyncio_bench.cc: asyncio and uvloop, per task/timer/await.

Python runs smaller batches than C++ (the loops are ~100x slower); times are
per task, per timer (overhead beyond the longest sleep) and per await.
"""
import asyncio
import os
import random
import subprocess
import sys
import time

YIELD = "asyncio: task with one sleep(0), 1M tasks"
TIMERS = "asyncio: timer overhead, 1M sleeps of 0-100 ms"
AWAIT = "asyncio: await a trivial coroutine"
GATHER = "asyncio: gather of 1M tasks with one sleep(0)"
WAIT_FOR = "asyncio: wait_for around an immediately-completing coroutine"

TASKS = 200_000
AWAITS = 2_000_000


async def spawn_all(sleeps):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    state = {"sum": 0, "n": 0}
    n = len(sleeps)

    async def work(i, delay):
        await asyncio.sleep(delay)
        state["sum"] += i
        state["n"] += 1
        if state["n"] == n:
            done.set_result(None)
        return i

    for i, delay in enumerate(sleeps):
        asyncio.create_task(work(i, delay))
    await done
    return state["sum"]


async def trivial(i):
    return i


async def await_many(n):
    total = 0
    for i in range(n):
        total += await trivial(i)
    return total


async def yield_value(i):
    await asyncio.sleep(0)
    return i


async def gather_all(n):
    return sum(await asyncio.gather(*[yield_value(i) for i in range(n)]))


async def wait_for_many(n):
    total = 0
    for i in range(n):
        total += await asyncio.wait_for(trivial(i), 10)
    return total


def measure(run, name):
    start = time.perf_counter_ns()
    run(spawn_all([0] * TASKS))
    print(f"{YIELD}\t{name}\t{(time.perf_counter_ns() - start) / TASKS:.1f}",
          flush=True)

    rng = random.Random(2024)
    sleeps = [rng.randint(0, 100_000) / 1e6 for _ in range(TASKS)]
    sleeps[0] = 0.1
    start = time.perf_counter_ns()
    run(spawn_all(sleeps))
    overhead = time.perf_counter_ns() - start - 100_000_000
    print(f"{TIMERS}\t{name}\t{overhead / TASKS:.1f}", flush=True)

    start = time.perf_counter_ns()
    run(await_many(AWAITS))
    print(f"{AWAIT}\t{name}\t{(time.perf_counter_ns() - start) / AWAITS:.1f}",
          flush=True)

    start = time.perf_counter_ns()
    run(gather_all(TASKS))
    print(f"{GATHER}\t{name}\t{(time.perf_counter_ns() - start) / TASKS:.1f}",
          flush=True)

    start = time.perf_counter_ns()
    run(wait_for_many(TASKS))
    print(f"{WAIT_FOR}\t{name}\t{(time.perf_counter_ns() - start) / TASKS:.1f}",
          flush=True)


def main():
    uvloop_only = "--uvloop-only" in sys.argv
    if not uvloop_only:
        measure(asyncio.run, "Python asyncio")
    try:
        import uvloop  # noqa: F401
    except ImportError:
        # Debian's python3-uvloop is installed for Debian's interpreter, which
        # may not be the first python3 on PATH (pyenv).
        system = "/usr/bin/python3"
        if not uvloop_only and sys.executable != system and os.path.exists(system):
            subprocess.run([system, __file__, "--uvloop-only"], check=False)
        return
    measure(_run_uvloop, "Python uvloop")


def _run_uvloop(coro):
    import uvloop
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


if __name__ == "__main__":
    main()
