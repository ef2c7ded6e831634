"""Python peer of thread_bench.cc: create, start and join a threading.Thread."""
import threading
import time

from peer import main, peer

ITERATIONS = 5000


def noop():
    pass


@peer("thread create+start+join", "Python threading.Thread")
def create_start_join():
    start = time.perf_counter_ns()
    for _ in range(ITERATIONS):
        thread = threading.Thread(target=noop)
        thread.start()
        thread.join()
    return (time.perf_counter_ns() - start) / ITERATIONS


if __name__ == "__main__":
    main()
