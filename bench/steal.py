"""CPU steal: the share of time the hypervisor gave this virtual machine's CPUs to someone
else (``/proc/stat``). On a shared VM it moves every figure of a run: measured here, 3 % of
a render loop's CPU time in one 5 s window and 17 % in the next, with 0.27 s and 0.31 s
per 60 s render. The benchmark records it per section and for the whole run."""

from __future__ import annotations

from pathlib import Path

PROC_STAT = Path("/proc/stat")
_STEAL = 7  # fields of the "cpu" line: user nice system idle iowait irq softirq steal ...


def cpu_ticks() -> list[int] | None:
    """The machine's summed CPU time counters (USER_HZ ticks) from ``/proc/stat``'s
    ``cpu`` line, None where the file is missing or has no steal field."""
    try:
        with PROC_STAT.open(encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if len(fields) < _STEAL + 2 or fields[0] != "cpu":
        return None
    return [int(x) for x in fields[1 : _STEAL + 2]]


def steal_percent(before: list[int] | None, after: list[int] | None) -> float | None:
    """Steal ticks over all ticks between two :func:`cpu_ticks` readings, in %; None when
    either is missing or no tick passed."""
    if before is None or after is None:
        return None
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta)
    return 100.0 * delta[_STEAL] / total if total > 0 else None
