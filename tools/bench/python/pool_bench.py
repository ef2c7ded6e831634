"""Python peer of pool_bench.cc: trivial tasks on a 2-worker ThreadPoolExecutor,
each with its own future, all results collected. Python runs 50,000 tasks rather
than 1,000,000 (the per-task cost does not depend on the count); the time printed
is per task, so it compares with pyconc's per-task time."""
import time
from concurrent.futures import ThreadPoolExecutor

TASKS = 50_000
WORKERS = 2


def twice(x):
    return 2 * x


def main():
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        start = time.perf_counter_ns()
        futures = [pool.submit(twice, i) for i in range(TASKS)]
        total = sum(f.result() for f in futures)
        elapsed = time.perf_counter_ns() - start
    assert total == TASKS * (TASKS - 1)
    print(f"pool 1M tasks, 2 workers\tPython ThreadPoolExecutor "
          f"(50k tasks, per task)\t{elapsed / TASKS:.1f}")


if __name__ == "__main__":
    main()
