"""The seed's mask statistics and the input's share of the masked energy, accumulated over
frames of band-grid masks (names as the seed's training log).

Masks are band masks in [0, 1]; band powers the mean |X|² per band (over its bins and the
channels); ``band_sizes`` the STFT bins per band, so Σ_bins |M·X|² = M² · size · power.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np


class MaskStatistics(TypedDict):
    """``input_mask_mean``, ``target_mask_mean``: mean mask value (what the seed's balance
    loss drives to 0.5/0.5); ``overlap``: mean(M_in · M_tg); ``complementarity``:
    100 · (1 - overlap) in %; ``mask_reg``: mean((M_in + M_tg - 1)²) + overlap;
    ``temporal_diversity``: mean over bands and both masks of the std over frames
    (ddof 1; 0 for one frame); ``masked_share_input``: E_in / (E_in + E_tg) with
    E = Σ|M·X|² (``None`` when both masked sources are silent)."""

    input_mask_mean: float
    target_mask_mean: float
    overlap: float
    complementarity: float
    mask_reg: float
    temporal_diversity: float
    masked_share_input: float | None


class MaskStats:
    """Running sums over frames: ``update`` per chunk, ``compute`` at the end."""

    def __init__(self, band_sizes: np.ndarray) -> None:
        self.band_sizes = np.asarray(band_sizes, np.float64)  # [K]
        k = self.band_sizes.size
        self.frames = 0
        self._sums = dict.fromkeys(("in", "tg", "overlap", "reg", "e_in", "e_tg"), 0.0)
        self._band_sum = np.zeros((2, k))
        self._band_sq = np.zeros((2, k))

    def update(
        self,
        input_mask: np.ndarray,
        target_mask: np.ndarray,
        input_band_power: np.ndarray,
        target_band_power: np.ndarray,
    ) -> np.ndarray:
        """All four [n, K], frame-major, over the same frames. Returns the masked energies
        Σ_bins |M·X|² per frame, float64 [2, n] (input, target)."""
        m_in = np.asarray(input_mask, np.float64)
        m_tg = np.asarray(target_mask, np.float64)
        if m_in.shape != m_tg.shape or m_in.shape[-1] != self.band_sizes.size:
            raise ValueError(f"masks must be [n, {self.band_sizes.size}], got {m_in.shape}")
        s = self._sums
        self.frames += m_in.shape[0]
        s["in"] += m_in.sum()
        s["tg"] += m_tg.sum()
        s["overlap"] += (m_in * m_tg).sum()
        s["reg"] += ((m_in + m_tg - 1.0) ** 2).sum()
        sq_in, sq_tg = m_in**2, m_tg**2
        energy = np.stack([(sq_in * input_band_power) @ self.band_sizes,
                           (sq_tg * target_band_power) @ self.band_sizes])  # fmt: skip
        s["e_in"] += energy[0].sum()
        s["e_tg"] += energy[1].sum()
        self._band_sum += [m_in.sum(axis=0), m_tg.sum(axis=0)]
        self._band_sq += [sq_in.sum(axis=0), sq_tg.sum(axis=0)]
        return energy

    def compute(self) -> MaskStatistics | None:
        """The statistics, or ``None`` before any frame."""
        n, cells = self.frames, self.frames * self.band_sizes.size
        if cells == 0:
            return None
        s = self._sums
        overlap = s["overlap"] / cells
        temporal = 0.0
        if n > 1:
            var = (self._band_sq - self._band_sum**2 / n) / (n - 1)
            temporal = float(np.sqrt(np.maximum(var, 0.0)).mean())
        energy = s["e_in"] + s["e_tg"]
        return MaskStatistics(
            input_mask_mean=s["in"] / cells,
            target_mask_mean=s["tg"] / cells,
            overlap=overlap,
            complementarity=100.0 * (1.0 - overlap),
            mask_reg=s["reg"] / cells + overlap,
            temporal_diversity=temporal,
            masked_share_input=s["e_in"] / energy if energy > 0 else None,
        )


def mask_stats(
    input_mask: np.ndarray,
    target_mask: np.ndarray,
    input_band_power: np.ndarray,
    target_band_power: np.ndarray,
    band_sizes: np.ndarray,
) -> MaskStatistics | None:
    """Whole clip: masks and band powers [K, N] (band-major), band_sizes [K]."""
    acc = MaskStats(band_sizes)
    acc.update(*(np.swapaxes(np.asarray(a), -1, -2) for a in
                 (input_mask, target_mask, input_band_power, target_band_power)))  # fmt: skip
    return acc.compute()
