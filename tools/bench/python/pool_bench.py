"""Python peer of pool_bench.cc: 1,000,000 trivial tasks on a 2-worker
ThreadPoolExecutor, each with its own future, all results collected; time per task."""
import time
from concurrent.futures import ThreadPoolExecutor

from peer import main, peer

TASKS = 1_000_000
WORKERS = 2


def twice(x):
    return 2 * x


@peer("pool 1M tasks, 2 workers", "Python ThreadPoolExecutor")
def thread_pool():
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        start = time.perf_counter_ns()
        futures = [pool.submit(twice, i) for i in range(TASKS)]
        total = sum(f.result() for f in futures)
        elapsed = time.perf_counter_ns() - start
    assert total == TASKS * (TASKS - 1)
    return elapsed / TASKS


if __name__ == "__main__":
    main()
