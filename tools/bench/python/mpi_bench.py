"""Python peer of mpi_bench.cc: mpi4py.futures.MPIPoolExecutor with 2 spawned workers
(the script runs alone, as the bench does): 20,000 tiny tasks (x*x), each its own
future, all collected (ns per task); and a 64 MiB bytes object sent to a worker and
back (ns per round trip). Runs with Debian's python3, which has python3-mpi4py."""
import os
import sys
import time

try:
    from mpi4py.futures import MPIPoolExecutor
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", __file__])
    print("mpi_bench.py: mpi4py is not installed (Debian's python3-mpi4py)",
          file=sys.stderr)
    sys.exit(1)

TASKS = 20_000
WORKERS = 2
ROUND_TRIPS = 5


def square(x):
    return x * x


def echo(data):
    return data


def main():
    # Spawned workers may outnumber the cores, as pyconc's may.
    with MPIPoolExecutor(max_workers=WORKERS,
                         mpi_info={"map_by": "slot:OVERSUBSCRIBE"}) as pool:
        pool.submit(square, 0).result()  # Workers up, as pyconc's start eagerly.
        start = time.perf_counter_ns()
        futures = [pool.submit(square, i) for i in range(TASKS)]
        total = sum(f.result() for f in futures)
        elapsed = time.perf_counter_ns() - start
        assert total == sum(i * i for i in range(TASKS))
        print(f"mpi pool 20k x*x, 2 spawned workers, Submit"
              f"\tPython mpi4py MPIPoolExecutor.submit\t{elapsed / TASKS:.1f}",
              flush=True)

        data = b"x" * (64 << 20)
        start = time.perf_counter_ns()
        for _ in range(ROUND_TRIPS):
            assert len(pool.submit(echo, data).result()) == len(data)
        elapsed = time.perf_counter_ns() - start
        print(f"mpi pool 64 MiB round trip, 2 spawned workers"
              f"\tPython mpi4py MPIPoolExecutor.submit\t{elapsed / ROUND_TRIPS:.1f}",
              flush=True)


if __name__ == "__main__":
    main()
