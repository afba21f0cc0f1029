"""A bar grid on a clip's timeline: tempo, first downbeat and meter, and the bar boundaries
that the per-bar report and bar-valued balance curves use.

Bar 1 starts at the first downbeat; what precedes it (a pickup) is bar 0, present only
when the first downbeat is later than ``MIN_PICKUP_S``. Bars run to the clip's end; the last
one may be short. Times are seconds, tempi BPM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_PICKUP_S = 0.05  # a first downbeat this close to 0 starts bar 1 at 0 (no bar 0)


@dataclass(frozen=True)
class BarGrid:
    """``bpm`` beats per minute, ``downbeat_s`` first downbeat (s, >= 0), ``beats_per_bar``."""

    bpm: float
    downbeat_s: float
    beats_per_bar: int = 4

    def __post_init__(self) -> None:
        if not (math.isfinite(self.bpm) and self.bpm > 0):
            raise ValueError(f"BarGrid: bpm must be positive, got {self.bpm}")
        if not (math.isfinite(self.downbeat_s) and self.downbeat_s >= 0):
            raise ValueError(f"BarGrid: downbeat_s must be >= 0, got {self.downbeat_s}")
        if self.beats_per_bar < 1:
            raise ValueError(f"BarGrid: beats_per_bar must be >= 1, got {self.beats_per_bar}")

    @property
    def bar_s(self) -> float:
        """Length of one bar in seconds."""
        return self.beats_per_bar * 60.0 / self.bpm

    def bar_start_s(self, bar: float) -> float:
        """Time (s) of bar number ``bar`` (1 = the first downbeat; fractions allowed, so a
        balance curve's ``2.5`` is half way through bar 2)."""
        return self.downbeat_s + (bar - 1.0) * self.bar_s

    def bars(self, duration_s: float) -> list[tuple[int, float, float]]:
        """(bar number, start s, end s) covering ``[0, duration_s)``: bar 0 is the pickup
        before the first downbeat (when longer than ``MIN_PICKUP_S``)."""
        if duration_s <= 0:
            return []
        out: list[tuple[int, float, float]] = []
        pickup = self.downbeat_s >= MIN_PICKUP_S
        if pickup:
            out.append((0, 0.0, min(self.downbeat_s, duration_s)))
        k = 1
        while (start := self.bar_start_s(k)) < duration_s:
            # a pickup shorter than MIN_PICKUP_S joins bar 1; every bar starts where
            # bar_start_s says (a bar-valued balance curve and the timeline agree)
            lo = 0.0 if k == 1 and not pickup else start
            out.append((k, lo, min(start + self.bar_s, duration_s)))
            k += 1
        return out
