"""The CPU budget of the speed targets: how many CPU seconds (every thread of the process)
the host render, the end-to-end render, the FFT floor and the chain's plugins alone take,
and how many the targets would leave them on this machine's cores.

A target on wall time is a budget of CPU time: with ``threads`` cores kept busy for the
whole render, a render of ``cpu`` CPU seconds cannot take less than ``cpu / threads`` wall
seconds. Set beside the measured CPU seconds, the budget tells whether a missed target is a
matter of keeping the cores busy (``cores_used`` below ``threads``) or of work to remove.

Two more figures separate the render's own work from what its threads add: the host's CPU
seconds on one thread, and how many times one thread's work the machine's cores really
give (``parallel``, :mod:`bench.parallel`). The one-thread work split over the cores at
that rate, with nothing added by threads, gives the best each target could reach here
(``bounds``); the :mod:`bench.usage` counters show what the threads add (kernel time,
context switches, page faults).
"""

from __future__ import annotations

import time
from typing import Any

from bench.config import CHAIN, TARGETS
from bench.context import Setup
from bench.timing import median
from plugin_host.chain import Chain

CPU_KEYS = ("host", "fft_floor", "end_to_end")  # the timed renders whose CPU is kept


def chain_plugins_cpu(s: Setup, runs: int) -> float:
    """Median CPU seconds of the benchmark chain's plugins alone (:data:`CHAIN`), each
    section's board run once over a whole clip of the pair (input chain on the input,
    target chain on the target, output chain on the input as an output-sized stand-in),
    on the calling thread: the plugins' own cost, which any render with them pays."""
    boards = Chain.from_json(CHAIN).boards()
    x, y = s.pair
    clip = {"input_chain": x, "target_chain": y, "output_chain": x}
    rate = float(s.model.metadata.sample_rate)
    cpu: list[float] = []
    for _ in range(runs + 1):  # one untimed: the plugins' first call allocates
        t = time.process_time()
        for name, board in boards.items():
            board.process(clip[name], rate, reset=True)
        cpu.append(time.process_time() - t)
    return median(cpu[1:])


def _bound(key: str) -> float:
    return next(t.bound for t in TARGETS if t.key == key)


def _bounds(results: dict[str, Any], threads: int) -> dict[str, Any] | None:
    """The best ``host_vs_fft_floor_ratio`` and ``end_to_end_rtf`` that the host's work on
    one thread allows (plus the chain's plugins end to end), spread over the cores at the
    machine's measured parallel throughput with no work added by threads; None when a
    figure is missing."""
    one, plugins = results.get("host_1thread_cpu_seconds"), results.get("chain_plugins_cpu_seconds")
    parallel = results.get("parallel")
    rate = 1.0 if threads == 1 else (parallel or {}).get("throughput")
    if one is None or plugins is None or rate is None:
        return None
    return {
        "parallel_throughput": rate,
        "host_vs_fft_floor_ratio": one / rate / results["fft_floor_seconds"],
        "end_to_end_rtf": results["config"]["seconds"] * rate / (one + plugins),
    }


def cpu_budget(results: dict[str, Any], threads: int) -> dict[str, Any] | None:
    """From the host and chains sections' results: CPU seconds and cores used per render,
    the real-time factor with every core busy, the CPU seconds the targets allow, the
    :mod:`bench.usage` counters and the :func:`_bounds` (None when either section did not
    run)."""
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    for k in CPU_KEYS:
        c, w = results.get(f"{k}_cpu_seconds"), results.get(f"{k}_seconds")
        if c is None or w is None:
            return None
        cpu[k], wall[k] = float(c), float(w)
    seconds = float(results["config"]["seconds"])
    one = results.get("host_1thread_cpu_seconds")
    return {
        "threads": threads,
        "cpu_seconds": {
            **cpu,
            "chain_plugins": results.get("chain_plugins_cpu_seconds"),
            "host_1thread": one,
        },
        "cores_used": {k: cpu[k] / wall[k] for k in CPU_KEYS},
        "rtf_all_cores_busy": {k: seconds * threads / cpu[k] for k in CPU_KEYS},
        # the CPU seconds a render may take and still meet its target, every core busy
        "host_cpu_allowed_s": _bound("host_vs_fft_floor_ratio") * wall["fft_floor"] * threads,
        "end_to_end_cpu_allowed_s": seconds / _bound("end_to_end_rtf") * threads,
        # the host's CPU with threads over its CPU on one thread
        "threads_cpu_ratio": None if one is None else cpu["host"] / float(one),
        "usage": {k: results.get(f"{k}_usage") for k in ("host", "host_1thread", "end_to_end")},
        "bounds": _bounds(results, threads),
    }


def md_cpu_budget(r: dict[str, Any]) -> list[str]:
    """Section 3a of benchmarks.md: the table of CPU seconds and the targets' budgets."""
    b = r.get("cpu_budget")
    if not b:
        return ["## 3a. CPU budget of the speed targets", "", "not run", ""]
    n, cpu = b["threads"], b["cpu_seconds"]
    lines = [
        "## 3a. CPU budget of the speed targets",
        "",
        "CPU seconds of every thread of the process (`time.process_time`), medians over the "
        f"same timed runs as above. With {n} cores busy for the whole call, a call of c CPU "
        f"seconds takes at least c / {n} wall seconds.",
        "",
        f"| call | wall s | CPU s | cores used | × real time with {n} cores busy |",
        "|---|---:|---:|---:|---:|",
    ]
    for key in CPU_KEYS:
        lines.append(
            f"| {key} | {r[key + '_seconds']:.3f} | {cpu[key]:.3f} | "
            f"{b['cores_used'][key]:.2f} | {b['rtf_all_cores_busy'][key]:.0f} |"
        )
    plugins = cpu.get("chain_plugins")
    if plugins is not None:
        lines.append(f"| the chain's plugins alone, one thread | | {plugins:.3f} | 1 | |")
    steal = r.get("steal_percent") or {}
    stolen = [f"{k} {steal[k]:.1f} %" for k in ("host", "chains") if steal.get(k) is not None]
    if stolen:
        lines += ["", "CPU steal meanwhile (`bench.steal`): " + ", ".join(stolen) + "."]
    e2e_plugins = (
        f", of which the chain's plugins alone take {plugins:.3f}" if plugins is not None else ""
    )
    return [
        *lines,
        *_md_usage(b),
        "",
        f"- `host_vs_fft_floor_ratio` ≤ {_bound('host_vs_fft_floor_ratio'):g} leaves the host "
        f"{b['host_cpu_allowed_s']:.3f} CPU s with every core busy; it takes "
        f"{cpu['host']:.3f} ({cpu['host'] / b['host_cpu_allowed_s']:.2f}× that).",
        f"- `end_to_end_rtf` ≥ {_bound('end_to_end_rtf'):g} leaves the end-to-end render "
        f"{b['end_to_end_cpu_allowed_s']:.3f} CPU s with every core busy; it takes "
        f"{cpu['end_to_end']:.3f} ({cpu['end_to_end'] / b['end_to_end_cpu_allowed_s']:.2f}× "
        f"that){e2e_plugins}.",
        *_md_bounds(b),
        "",
    ]


def _md_usage(b: dict[str, Any]) -> list[str]:
    """The :mod:`bench.usage` counters per render, one row per call that has them."""
    names = {"host": "host", "host_1thread": "host, one thread", "end_to_end": "end to end"}
    rows = [(names[k], u) for k, u in (b.get("usage") or {}).items() if u is not None]
    if not rows:
        return []
    return [
        "",
        "What each render cost the process besides its wall time (medians per render, "
        "`getrusage`: every thread; `bench.usage`):",
        "",
        "| call | user CPU s | kernel CPU s | context switches | page faults |",
        "|---|---:|---:|---:|---:|",
        *(f"| {name} | {u['user_s']:.3f} | {u['sys_s']:.3f} | {u['switches']:.0f} | "
          f"{u['faults']:.0f} |" for name, u in rows),
    ]  # fmt: skip


def _md_bounds(b: dict[str, Any]) -> list[str]:
    """What the one-thread work and the machine's parallel throughput allow at best."""
    bounds, one, n = b.get("bounds"), b["cpu_seconds"].get("host_1thread"), b["threads"]
    if not bounds or one is None:
        return []
    rate, ratio = bounds["parallel_throughput"], bounds["host_vs_fft_floor_ratio"]
    host_bound = _bound("host_vs_fft_floor_ratio")
    verdict = (
        "above the target: it needs less work per render, however well the threads run"
        if ratio > host_bound
        else "within the target: what stands between is what the threads add"
    )
    return [
        f"- This machine's cores: {n} threads, each running the FFT floor's own work, got "
        f"through {rate:.2f}× the work of one thread alone in the same time "
        f"(`bench.parallel`). On one thread the host render takes {one:.3f} CPU s; with "
        f"threads it takes {b['threads_cpu_ratio']:.2f}× that.",
        f"- That one-thread work spread over the cores at {rate:.2f}×, with nothing added by "
        f"threads, would give `host_vs_fft_floor_ratio` = {ratio:.2f} ({verdict}), and end "
        f"to end, with the chain's plugins, {bounds['end_to_end_rtf']:.0f}× real time "
        f"(target ≥ {_bound('end_to_end_rtf'):g}).",
    ]
