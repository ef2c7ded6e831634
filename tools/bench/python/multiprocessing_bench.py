"""Python peers of multiprocessing_bench.cc: 20,000 tiny tasks (x*x) on 2 worker
processes, with ProcessPoolExecutor.submit (each its own future, all collected) and
with multiprocessing.Pool.map (its default chunking), times per task; and a 64 MiB
argument and result through ProcessPoolExecutor, time per round trip."""
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from peer import main, peer

TASKS = 20_000
WORKERS = 2
EXPECTED = sum(i * i for i in range(TASKS))


def square(x):
    return x * x


@peer("process pool 20k x*x, 2 workers, Submit", "Python ProcessPoolExecutor.submit")
def submit():
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        pool.submit(square, 0).result()  # Workers up, as pyconc's start eagerly.
        start = time.perf_counter_ns()
        futures = [pool.submit(square, i) for i in range(TASKS)]
        total = sum(f.result() for f in futures)
        elapsed = time.perf_counter_ns() - start
    assert total == EXPECTED
    return elapsed / TASKS


@peer("process pool 20k x*x, 2 workers, Map", "Python multiprocessing.Pool.map")
def pool_map():
    with multiprocessing.Pool(WORKERS) as pool:
        pool.map(square, [0])
        start = time.perf_counter_ns()
        total = sum(pool.map(square, range(TASKS)))
        elapsed = time.perf_counter_ns() - start
    assert total == EXPECTED
    return elapsed / TASKS


BIG = 64 << 20
ROUND_TRIPS = 5


def echo(data):
    return data


@peer("process pool 64 MiB argument+result round trip",
      "Python ProcessPoolExecutor.submit")
def big_round_trip():
    payload = b"x" * BIG
    with ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(echo, payload).result()  # Worker up, memory touched.
        start = time.perf_counter_ns()
        for _ in range(ROUND_TRIPS):
            assert len(pool.submit(echo, payload).result()) == BIG
        elapsed = time.perf_counter_ns() - start
    return elapsed / ROUND_TRIPS


if __name__ == "__main__":
    main()
