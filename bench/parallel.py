"""How much of this machine's cores one process really gets: the same work on one thread
alone, and ``threads`` copies of it at once on as many threads.

On a virtual machine, cores that share a physical core, a memory bus or the hypervisor's
time slices give less than ``threads``× one core. The probe runs the FFT floor's own work
(``bench.fft_floor`` on one FFT thread: framing, window, rfft and irfft, which release the
GIL), so its figure is the most a render's threads could get from these cores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bench.timing import median, rounds


def together(work: Callable[[], object], threads: int) -> None:
    """``work()`` on ``threads`` threads at once; returns when all are done, raising the
    first error."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # re-raised on the caller's thread below
            errors.append(exc)

    pool = [threading.Thread(target=run, name=f"parallel-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]


def parallel_throughput(
    work: Callable[[], object], threads: int, runs: int, warmup: int
) -> dict[str, Any]:
    """``work`` alone and ``threads`` copies at once, in interleaved rounds
    (:func:`bench.timing.rounds`): median wall seconds of each, and ``throughput`` =
    threads × alone / together (``threads`` when the copies take no longer than one; 1
    when the cores give nothing to a second thread)."""
    times = rounds(
        {"alone": work, "together": lambda: together(work, threads)},
        runs, warmup, f"one vs {threads} threads",
    )  # fmt: skip
    alone, both = median(times["alone"]), median(times["together"])
    return {
        "threads": threads,
        "alone_seconds": alone,
        "together_seconds": both,
        "throughput": threads * alone / both,
    }
