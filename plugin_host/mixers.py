"""Baseline mixers to hold the agent against: what a DAW does without any model.

- :func:`plain_sum`: ``balance · input + (1 - balance) · target`` (a fader; the seed's
  0.5/0.5 sum at the default);
- :func:`loudness_matched_sum`: both sources brought to the same energy, then summed, so the
  input holds exactly half of the output's energy by least squares.

Energy is measured on all channels flattened, as the seed flattens waveforms for its
correlations (a mono downmix would hide decorrelated stereo content: docs/evaluate.md).
Audio is float32 ``[C, T]`` (C = 1 or 2), input and target of one shape.
"""

from __future__ import annotations

import math

import numpy as np


def check_pair(input: np.ndarray, target: np.ndarray) -> None:
    """Raise ``ValueError`` unless input and target are float [C, T] of one shape, C in (1, 2)."""
    if input.ndim != 2 or input.shape != target.shape or input.shape[0] not in (1, 2):
        raise ValueError(
            f"input and target must be [C, T] of one shape with C in (1, 2), got "
            f"{input.shape} and {target.shape}"
        )


def plain_sum(input: np.ndarray, target: np.ndarray, balance: float = 0.5) -> np.ndarray:
    """``balance · input + (1 - balance) · target``: float32 [C, T]; balance in [0, 1]."""
    check_pair(input, target)
    if not 0.0 <= balance <= 1.0:
        raise ValueError(f"balance must be in [0, 1], got {balance}")
    return (np.float32(balance) * input + np.float32(1.0 - balance) * target).astype(np.float32)


def energy(x: np.ndarray) -> float:
    """Σx² over all channels and samples (float64 accumulation)."""
    v = np.asarray(x, np.float32).reshape(-1)
    return float(np.dot(v.astype(np.float64), v.astype(np.float64)))


def loudness_matched_sum(input: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``g_in · input + g_tg · target`` with ``‖g_in · input‖² = ‖g_tg · target‖² =
    0.5² · (‖input‖² + ‖target‖²) / 2`` (all channels flattened): each source at half the
    amplitude of the sources' mean level, as in a 0.5/0.5 sum of equally loud sources.
    Returns float32 [C, T].

    Raises ``ValueError`` when a source is silent (zero energy): no gain can match it.
    """
    check_pair(input, target)
    e_in, e_tg = energy(input), energy(target)
    for name, e in (("input", e_in), ("target", e_tg)):
        if not (math.isfinite(e) and e > 0.0):
            raise ValueError(f"{name} is silent or not finite (energy {e:g}); cannot match it")
    ref = 0.25 * (e_in + e_tg) / 2.0  # each source at (0.5)² of the mean energy
    g_in, g_tg = math.sqrt(ref / e_in), math.sqrt(ref / e_tg)
    return (np.float32(g_in) * input + np.float32(g_tg) * target).astype(np.float32)
