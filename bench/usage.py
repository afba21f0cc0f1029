"""What a call cost the process beyond its wall time, from ``getrusage(RUSAGE_SELF)`` (every
thread of the process, finished ones included): user and kernel CPU seconds, context
switches and page faults.

On this project's 2-core VM they show what threads cost a render of the 60 s pair. On one
thread: 0.26-0.28 user + 0.01-0.02 kernel CPU seconds and 25-40 context switches. With
threads: 0-0.06 user and 0.04-0.06 kernel CPU seconds more, and 1,300-1,900 context
switches, about 1,000 of them voluntary waits of the stage threads (reader, report, output,
lane) and 350 of the agent's thread; strace counted 8,500 futex calls per render: threads
waiting for each other and for the GIL. Page faults varied from 300 to 7,800 per threaded
render with what ran before (the threads' malloc arenas give memory back and fault it in
again). The benchmark records these counters per timed call.
"""

from __future__ import annotations

import resource
import statistics
from dataclasses import dataclass

USAGE_KEYS = ("user_s", "sys_s", "switches", "faults")


@dataclass(frozen=True)
class Usage:
    """Counters of the whole process at one moment: CPU seconds in user and kernel mode,
    context switches (voluntary and involuntary) and minor page faults."""

    user_s: float
    sys_s: float
    switches: int
    faults: int

    @classmethod
    def now(cls) -> Usage:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return cls(r.ru_utime, r.ru_stime, r.ru_nvcsw + r.ru_nivcsw, r.ru_minflt)

    def since(self, before: Usage) -> dict[str, float]:
        """What happened between ``before`` and this reading (keys :data:`USAGE_KEYS`)."""
        return {
            "user_s": self.user_s - before.user_s,
            "sys_s": self.sys_s - before.sys_s,
            "switches": float(self.switches - before.switches),
            "faults": float(self.faults - before.faults),
        }


def median_usage(calls: list[dict[str, float]]) -> dict[str, float] | None:
    """Key by key median of several calls' :meth:`Usage.since` (None for no call)."""
    if not calls:
        return None
    return {k: float(statistics.median(c[k] for c in calls)) for k in USAGE_KEYS}
