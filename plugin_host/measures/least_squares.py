"""Least squares ``out ≈ a·x_in + b·x_tg + e`` on flattened waveforms: how much of each
source the output holds, and what is new (the residual). One formula from the Gram matrix,
used on whole arrays and on running sums (``WaveformMoments``)."""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np

from plugin_host.measures.constants import LS_SINGULAR


class LeastSquares(TypedDict):
    """``coef_input`` (a), ``coef_target`` (b); ``share_input`` = ‖a·x_in‖² / (‖a·x_in‖² +
    ‖b·x_tg‖²), ``share_target`` = 1 - share_input; ``residual`` = ‖e‖² / ‖out‖² in [0, 1]
    (0 for a linear mix, ~1 for a resynthesis, where the shares mean little). ``None``
    where undefined."""

    coef_input: float | None
    coef_target: float | None
    share_input: float | None
    share_target: float | None
    residual: float | None


def least_squares_from_gram(gram: np.ndarray) -> LeastSquares:
    """The decomposition from the uncentred Gram matrix [3, 3] of (output, input, target):
    ``gram[i, j]`` = Σ s_i · s_j over all samples. Undefined (all ``None``) when the output
    is silent or the input and target have no unique split (a silent source, or one
    proportional to the other: det <= ``LS_SINGULAR`` × Σx² · Σy²)."""
    out = LeastSquares(
        coef_input=None, coef_target=None, share_input=None, share_target=None, residual=None
    )
    g = np.asarray(gram, np.float64)
    eo = float(g[0, 0])
    if not (math.isfinite(eo) and eo > 0):
        return out
    a = g[1:, 1:]
    if abs(np.linalg.det(a)) <= LS_SINGULAR * max(a[0, 0] * a[1, 1], 1e-30):
        return out
    rhs = g[1:, 0]
    coef = np.linalg.solve(a, rhs)
    e_in, e_tg = float(coef[0] ** 2 * a[0, 0]), float(coef[1] ** 2 * a[1, 1])
    resid = eo - 2.0 * float(coef @ rhs) + float(coef @ a @ coef)  # ‖o - A·coef‖²
    out["coef_input"], out["coef_target"] = float(coef[0]), float(coef[1])
    out["residual"] = float(np.clip(resid / eo, 0.0, 1.0))
    if e_in + e_tg > 0:
        out["share_input"] = e_in / (e_in + e_tg)
        out["share_target"] = e_tg / (e_in + e_tg)
    return out


def ls_decomposition(output: np.ndarray, input: np.ndarray, target: np.ndarray) -> LeastSquares:
    """:func:`least_squares_from_gram` of three whole signals (any shape, flattened, float64)."""
    v = np.stack([np.asarray(s, np.float64).reshape(-1) for s in (output, input, target)])
    return least_squares_from_gram(v @ v.T)
