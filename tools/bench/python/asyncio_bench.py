"""Python peers of asyncio_bench.cc: asyncio and uvloop, per task/timer/await.

Every row runs the same N as the C++ rows of its workload; times are per task, per
timer (overhead beyond the longest sleep) and per await, each result checked.
"""
import asyncio
import os
import random
import time

from peer import main, peer

YIELD = "asyncio: task with one sleep(0), 1M tasks"
TIMERS = "asyncio: timer overhead, 1M sleeps of 0-100 ms"
AWAIT = "asyncio: await a trivial coroutine"
GATHER = "asyncio: gather of 1M tasks with one sleep(0)"
WAIT_FOR = "asyncio: wait_for around an immediately-completing coroutine"
MEMORY = "asyncio: memory per sleeping task, 1M sleeping (bytes)"

TASKS = 1_000_000      # the same N as asyncio_bench.cc
AWAITS = 10_000_000
WAIT_FORS = 1_000_000


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


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def measure_sleepers(n):
    """The resident memory n tasks asleep in asyncio.sleep add; then cancels them."""
    tasks = []
    before = resident_bytes()
    for _ in range(n):
        tasks.append(asyncio.create_task(asyncio.sleep(3600)))
    await asyncio.sleep(0)  # Every task is now asleep.
    after = resident_bytes()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return after - before


def _run_uvloop(coro):
    import uvloop
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def _per(elapsed_ns, n):
    return elapsed_ns / n


def _rows(name, run):
    """The five workloads on one event loop implementation."""

    @peer(YIELD, name)
    def task_yield():
        start = time.perf_counter_ns()
        total = run(spawn_all([0] * TASKS))
        elapsed = time.perf_counter_ns() - start
        assert total == TASKS * (TASKS - 1) // 2
        return _per(elapsed, TASKS)

    @peer(TIMERS, name)
    def timers():
        rng = random.Random(2024)
        sleeps = [rng.randint(0, 100_000) / 1e6 for _ in range(TASKS)]
        sleeps[0] = 0.1
        start = time.perf_counter_ns()
        total = run(spawn_all(sleeps))
        overhead = time.perf_counter_ns() - start - 100_000_000
        assert total == TASKS * (TASKS - 1) // 2
        return _per(overhead, TASKS)

    @peer(AWAIT, name)
    def await_trivial():
        start = time.perf_counter_ns()
        total = run(await_many(AWAITS))
        elapsed = time.perf_counter_ns() - start
        assert total == AWAITS * (AWAITS - 1) // 2
        return _per(elapsed, AWAITS)

    @peer(GATHER, name)
    def gather():
        start = time.perf_counter_ns()
        total = run(gather_all(TASKS))
        elapsed = time.perf_counter_ns() - start
        assert total == TASKS * (TASKS - 1) // 2
        return _per(elapsed, TASKS)

    @peer(MEMORY, name)
    def memory():
        return run(measure_sleepers(TASKS)) / TASKS

    @peer(WAIT_FOR, name)
    def wait_for():
        start = time.perf_counter_ns()
        total = run(wait_for_many(WAIT_FORS))
        elapsed = time.perf_counter_ns() - start
        assert total == WAIT_FORS * (WAIT_FORS - 1) // 2
        return _per(elapsed, WAIT_FORS)


_rows("Python asyncio", asyncio.run)
# Debian's python3-uvloop serves Debian's interpreter; the driver runs this row there.
_rows("Python uvloop", _run_uvloop)

if __name__ == "__main__":
    main()
