"""Bar-aware looping for ``--fit loop``: repeat whole bars, not raw samples.

The loop body is the largest whole number of bars that fits between the first downbeat and
the clip's end; what precedes the first downbeat (a pickup) plays once, then the body repeats
until ``length``. Copies are placed at ``round(downbeat + k · body_seconds · sample_rate)`` so
the grid does not drift by the rounding of a fractional bar length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoopPlan:
    """``start``: first sample of the body (the first downbeat); ``bars``: bars in the body
    (0: fewer than one bar fits, the whole clip is looped raw from sample 0);
    ``body_samples``: exact body length in samples (fractional)."""

    start: int
    bars: int
    body_samples: float


def plan_loop(
    n_samples: int, sample_rate: int, bpm: float, downbeat_s: float, beats_per_bar: int = 4
) -> LoopPlan:
    """Loop body of a clip of ``n_samples`` with tempo ``bpm`` and first downbeat (s)."""
    if bpm <= 0 or n_samples <= 0:
        raise ValueError(f"plan_loop: bpm ({bpm}) and length ({n_samples}) must be positive")
    bar = beats_per_bar * 60.0 / bpm * sample_rate
    start = int(round(max(downbeat_s, 0.0) * sample_rate))
    bars = int((n_samples - start) // bar) if start < n_samples else 0
    if bars < 1:
        return LoopPlan(0, 0, float(n_samples))
    return LoopPlan(start, bars, bars * bar)


def loop_bars(
    audio: np.ndarray,
    sample_rate: int,
    length: int,
    bpm: float,
    downbeat_s: float,
    beats_per_bar: int = 4,
) -> tuple[np.ndarray, LoopPlan]:
    """Loop ``audio`` [C, T] by whole bars to ``length`` samples: (float32 [C, length], plan).

    Shorter clips are extended; a clip already ``length`` or longer is cut to it.
    """
    x = np.asarray(audio, np.float32)
    plan = plan_loop(x.shape[-1], sample_rate, bpm, downbeat_s, beats_per_bar)
    out = np.zeros((x.shape[0], length), np.float32)
    head = min(x.shape[-1], length)
    out[:, :head] = x[:, :head]
    body = x[:, plan.start : plan.start + int(np.ceil(plan.body_samples))]
    k = 1
    while (at := int(round(plan.start + k * plan.body_samples))) < length:
        seg = body[:, : length - at]
        out[:, at : at + seg.shape[-1]] = seg
        k += 1
    return out, plan
