"""Python peer of queue_bench.cc: producers and consumers move int items through a
queue.Queue(maxsize=1024).

The C++ workload moves 2,000,000 items; Python moves 200,000 and prints the time
scaled by 10 (throughput is flat in the item count), and says so.
"""
import queue
import threading
import time

ITEMS = 200_000
SCALE = 2_000_000 // ITEMS
CAPACITY = 1024


def move_all_items(producers, consumers):
    q = queue.Queue(maxsize=CAPACITY)
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


def main():
    for threads in (1, 2):
        elapsed = min(move_all_items(threads, threads) for _ in range(3))
        workload = f"queue {threads}p{threads}c cap1024 2M int64"
        print(f"{workload}\tPython queue.Queue (scaled from 200k)\t{elapsed * SCALE:.1f}")


if __name__ == "__main__":
    main()
