"""The command line every Python peer script shares (see tools/bench/bench_main.cc).

A script registers its rows and calls main():

    @peer("lock uncontended acquire+release", "Python threading.Lock")
    def lock_uncontended():
        ...                 # run the workload, check its result
        return ns_per_iteration

    if __name__ == "__main__":
        main()

`script --list` prints "<workload>\\t<implementation>" per row; `script --run WORKLOAD
IMPLEMENTATION` measures that row and prints "<workload>\\t<implementation>\\t<ns>".
The benchmark driver runs each row in a fresh interpreter, several rounds interleaved
with the C++ rows of the same workload.
"""
import sys

_ROWS = {}


def peer(workload, implementation):
    """Registers the decorated function as the row (workload, implementation)."""
    def register(function):
        _ROWS[(workload, implementation)] = function
        return function
    return register


def main():
    args = sys.argv[1:]
    if args == ["--list"]:
        for workload, implementation in _ROWS:
            print(f"{workload}\t{implementation}")
        return
    if len(args) == 3 and args[0] == "--run":
        key = (args[1], args[2])
        if key not in _ROWS:
            sys.exit(f"{sys.argv[0]}: no row {key}")
        ns = _ROWS[key]()
        print(f"{key[0]}\t{key[1]}\t{ns:.3f}", flush=True)
        return
    sys.exit(f"usage: {sys.argv[0]} --list | --run WORKLOAD IMPLEMENTATION")
