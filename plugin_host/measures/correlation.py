"""Pearson correlation: one formula from co-moments, used on whole arrays and on running
sums (``WaveformMoments``). Undefined (``None``, never NaN) for a constant or silent
signal, fewer than two values, or non-finite values."""

from __future__ import annotations

import math

import numpy as np

from plugin_host.measures.constants import PEARSON_FLOOR


def pearson_from_comoments(cxy: float, cxx: float, cyy: float, n: int) -> float | None:
    """Σx̃ỹ / sqrt(Σx̃² · Σỹ²) from the co-moments of n values (x̃ = x - x̄), clipped to
    [-1, 1]; ``None`` when n < 2, a sum is not finite, or the denominator is at most
    ``PEARSON_FLOOR`` × n (a constant signal)."""
    if n < 2:
        return None
    den = math.sqrt(max(float(cxx), 0.0) * max(float(cyy), 0.0))
    if not (math.isfinite(den) and math.isfinite(float(cxy))) or den <= PEARSON_FLOOR * n:
        return None
    return float(np.clip(cxy / den, -1.0, 1.0))


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation of two signals flattened (the seed's ``corrcoef`` of
    ``reshape(-1)``), in float64; ``None`` where undefined (see module)."""
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"pearson: shapes differ ({x.size} vs {y.size} values)")
    if x.size < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    x = x - x.mean()
    y = y - y.mean()
    return pearson_from_comoments(float(x @ y), float(x @ x), float(y @ y), x.size)
