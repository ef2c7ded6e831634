"""Python peers of queue_bench.cc: producers and consumers move 2,000,000 int items
through a queue.Queue(maxsize=1024), or a queue.SimpleQueue (unbounded); the time is
for all of them, as in C++."""
import queue
import threading
import time

from peer import main, peer

ITEMS = 2_000_000
CAPACITY = 1024


def move_all_items(q, producers, consumers):
    sums = [0] * consumers

    def consume(c):
        total = 0
        for _ in range(c, ITEMS, consumers):
            total += q.get()
        sums[c] = total

    def produce(p):
        for i in range(p, ITEMS, producers):
            q.put(i)

    threads = [threading.Thread(target=consume, args=(c,)) for c in range(consumers)]
    threads += [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    start = time.perf_counter_ns()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter_ns() - start
    assert sum(sums) == ITEMS * (ITEMS - 1) // 2
    return elapsed


for _threads in (1, 2):
    peer(f"queue {_threads}p{_threads}c cap1024 2M int64", "Python queue.Queue")(
        lambda n=_threads: move_all_items(queue.Queue(maxsize=CAPACITY), n, n))
    peer(f"queue {_threads}p{_threads}c unbounded 2M int64", "Python queue.SimpleQueue")(
        lambda n=_threads: move_all_items(queue.SimpleQueue(), n, n))


if __name__ == "__main__":
    main()
