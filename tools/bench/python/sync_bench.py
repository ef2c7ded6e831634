"""Python peers of sync_bench.cc: threading's Lock, RLock, Semaphore and Event.

Each workload is the one of the same name in sync_bench.cc; methods are bound
to locals first, the fastest way Python calls them.
"""
import threading
import time

from peer import main, peer

ITERATIONS = 200_000


def acquire_release(make):
    """One thread takes and releases a primitive nobody else wants."""
    primitive = make()
    acquire, release = primitive.acquire, primitive.release
    start = time.perf_counter_ns()
    for _ in range(ITERATIONS):
        acquire()
        release()
    return time.perf_counter_ns() - start


def shared_counter(make):
    """Two threads each add one to a shared counter under the lock."""
    lock = make()
    counter = [0]

    def increment():
        acquire, release = lock.acquire, lock.release
        for _ in range(ITERATIONS):
            acquire()
            counter[0] += 1
            release()

    threads = [threading.Thread(target=increment) for _ in range(2)]
    start = time.perf_counter_ns()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter_ns() - start
    assert counter[0] == 2 * ITERATIONS
    return elapsed


def event_ping_pong():
    """A partner thread answers each ping with a pong; one round trip each."""
    ping, pong = threading.Event(), threading.Event()
    rounds = ITERATIONS // 10

    def partner():
        for _ in range(rounds):
            ping.wait()
            ping.clear()
            pong.set()

    thread = threading.Thread(target=partner)
    thread.start()
    start = time.perf_counter_ns()
    for _ in range(rounds):
        ping.set()
        pong.wait()
        pong.clear()
    elapsed = time.perf_counter_ns() - start
    thread.join()
    return elapsed, rounds


for _workload, _implementation, _make in [
    ("lock", "Python threading.Lock", threading.Lock),
    ("rlock", "Python threading.RLock", threading.RLock),
]:
    peer(f"{_workload} uncontended acquire+release", _implementation)(
        lambda make=_make: acquire_release(make) / ITERATIONS)
    peer(f"{_workload} 2 threads increment shared counter (per increment)",
         _implementation)(lambda make=_make: shared_counter(make) / (2 * ITERATIONS))


@peer("semaphore acquire+release", "Python threading.Semaphore")
def semaphore():
    return acquire_release(threading.Semaphore) / ITERATIONS


@peer("event ping-pong 2 threads (round trip)", "Python threading.Event")
def event():
    elapsed, rounds = event_ping_pong()
    return elapsed / rounds


if __name__ == "__main__":
    main()
