"""Python peer of mpi_bench.cc: mpi4py.futures.MPIPoolExecutor with 2 spawned workers
(the script runs alone, as the bench does): 20,000 tiny tasks (x*x), each its own
future, all collected (ns per task); and a 64 MiB bytes object sent to a worker and
back (ns per round trip). mpi4py comes from Debian's python3-mpi4py, so the driver runs
these rows on Debian's python3, as it does uvloop's."""
import time

from peer import main, peer

TASKS = 20_000
WORKERS = 2
ROUND_TRIPS = 5
NAME = "Python mpi4py MPIPoolExecutor.submit"


def square(x):
    return x * x


def echo(data):
    return data


def executor():
    from mpi4py.futures import MPIPoolExecutor
    # Spawned workers may outnumber the cores, as pyconc's may.
    pool = MPIPoolExecutor(max_workers=WORKERS,
                           mpi_info={"map_by": "slot:OVERSUBSCRIBE"})
    pool.submit(square, 0).result()  # Workers up, as pyconc's start eagerly.
    return pool


@peer("mpi pool 20k x*x, 2 spawned workers, Submit", NAME)
def tiny_calls():
    with executor() as pool:
        start = time.perf_counter_ns()
        futures = [pool.submit(square, i) for i in range(TASKS)]
        total = sum(f.result() for f in futures)
        elapsed = time.perf_counter_ns() - start
    assert total == sum(i * i for i in range(TASKS))
    return elapsed / TASKS


@peer("mpi pool 64 MiB round trip, 2 spawned workers", NAME)
def big_round_trip():
    data = b"x" * (64 << 20)
    with executor() as pool:
        start = time.perf_counter_ns()
        for _ in range(ROUND_TRIPS):
            assert len(pool.submit(echo, data).result()) == len(data)
        elapsed = time.perf_counter_ns() - start
    return elapsed / ROUND_TRIPS


if __name__ == "__main__":
    main()
