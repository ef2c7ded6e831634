"""Python peer of thread_bench.cc: create, start and join a threading.Thread."""
import threading
import time

ITERATIONS = 5000


def noop():
    pass


def main():
    start = time.perf_counter_ns()
    for _ in range(ITERATIONS):
        thread = threading.Thread(target=noop)
        thread.start()
        thread.join()
    elapsed = time.perf_counter_ns() - start
    print(f"thread create+start+join\tPython threading.Thread\t{elapsed / ITERATIONS:.1f}")


if __name__ == "__main__":
    main()
