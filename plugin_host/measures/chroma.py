"""Harmony: 12-bin chroma (power of the STFT bins in 55-5000 Hz folded to pitch classes)
and the mean frame-wise cosine between two clips' chroma.

Drum chroma is broadband, so similarity to a drum input has a floor (~0.4): compare
against baselines, not zero.
"""

from __future__ import annotations

import numpy as np

from plugin_host.measures.constants import (
    CHROMA_A4_HZ,
    CHROMA_FLOOR,
    CHROMA_FMAX_HZ,
    CHROMA_FMIN_HZ,
)


def chroma_notes(
    n_freq: int,
    sample_rate: int,
    n_fft: int,
    fmin_hz: float = CHROMA_FMIN_HZ,
    fmax_hz: float = CHROMA_FMAX_HZ,
) -> tuple[np.ndarray, np.ndarray]:
    """(bins, notes): the STFT bins in [fmin_hz, fmax_hz] (the report's 55–5000 Hz unless
    told) and each one's MIDI note (the nearest semitone of A4 = 440 Hz), int64 arrays of
    one length; a bin's pitch class is ``note % 12`` (C = 0)."""
    freqs = np.arange(n_freq) * sample_rate / n_fft
    bins = np.flatnonzero((freqs >= fmin_hz) & (freqs <= fmax_hz))
    if bins.size == 0:
        raise ValueError(f"no STFT bin in the chroma band at {sample_rate} Hz, n_fft {n_fft}")
    note = np.round(12 * np.log2(freqs[bins] / CHROMA_A4_HZ) + 69).astype(np.int64)
    return bins, note


class ChromaFold:
    """Chroma of frame-major power: power [..., n, F] (|X|²) -> float64 [n, 12], summed
    over leading dims (channels) in the power's dtype.

    The chroma bins form a contiguous range: one product with a 0/1 matrix [S, 12] (bin ->
    its pitch class) sums them per pitch class (a BLAS product of the bins' view, no copy;
    float32 for the streamed report, whose sums then widen to float64).
    """

    def __init__(
        self,
        n_freq: int,
        sample_rate: int,
        n_fft: int,
        fmin_hz: float = CHROMA_FMIN_HZ,
        fmax_hz: float = CHROMA_FMAX_HZ,
    ) -> None:
        bins, note = chroma_notes(n_freq, sample_rate, n_fft, fmin_hz, fmax_hz)
        self.bins = slice(int(bins[0]), int(bins[-1]) + 1)
        self.matrix = np.zeros((bins.size, 12), np.float64)  # [S, 12]
        self.matrix[np.arange(bins.size), note % 12] = 1.0
        self._matrix32 = self.matrix.astype(np.float32)

    def __call__(self, power: np.ndarray) -> np.ndarray:
        """power float [..., n, F] -> float64 [n, 12]."""
        p = power[..., self.bins]  # a view [..., n, S]
        if p.ndim > 2:  # [n, S], summed over leading dims
            p = p.reshape(-1, *p.shape[-2:]).sum(axis=0)
        matrix = self._matrix32 if p.dtype == np.float32 else self.matrix
        return np.matmul(p, matrix).astype(np.float64, copy=False)


class ChromaCosine:
    """Mean frame-wise cosine between two chroma streams, over the frames where both have
    energy (norm above ``CHROMA_FLOOR`` × the larger of the two clips' largest norms).
    ``update`` keeps three floats per frame."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []  # [3, n]: |a|, |b|, a·b per frame

    def update(self, chroma_a: np.ndarray, chroma_b: np.ndarray) -> np.ndarray:
        """chroma_a, chroma_b: [n, 12] over the same frames. Returns what is kept of them,
        float64 [3, n]: |a|, |b| and a·b per frame (for :meth:`add`)."""
        na, nb = np.linalg.norm(chroma_a, axis=1), np.linalg.norm(chroma_b, axis=1)
        part = np.stack([na, nb, (chroma_a * chroma_b).sum(axis=1)])
        self._parts.append(part)
        return part

    def add(self, part: np.ndarray) -> None:
        """Frames measured elsewhere (another cosine's :meth:`update`): float64 [3, n]."""
        self._parts.append(part)

    def compute(self) -> float | None:
        """The mean cosine; ``None`` if no frame has energy in both."""
        if not self._parts:
            return None
        na, nb, dot = np.concatenate(self._parts, axis=1)
        floor = CHROMA_FLOOR * max(float(na.max(initial=0.0)), float(nb.max(initial=0.0)), 1e-30)
        ok = (na > floor) & (nb > floor)
        if not ok.any():
            return None
        return float((dot[ok] / (na[ok] * nb[ok])).mean())


def chroma(
    mag: np.ndarray,
    sample_rate: int,
    n_fft: int,
    fmin_hz: float = CHROMA_FMIN_HZ,
    fmax_hz: float = CHROMA_FMAX_HZ,
) -> np.ndarray:
    """Whole clip: |STFT| [..., F, N] -> chroma float64 [12, N] (summed over leading dims),
    bins in [fmin_hz, fmax_hz] (the report's band unless told)."""
    m = np.asarray(mag, np.float64)
    fold = ChromaFold(m.shape[-2], sample_rate, n_fft, fmin_hz, fmax_hz)
    return fold(np.swapaxes(m * m, -1, -2)).T


def chroma_cos(mag_a: np.ndarray, mag_b: np.ndarray, sample_rate: int, n_fft: int) -> float | None:
    """Whole clips: mean frame-wise chroma cosine of two |STFT| [..., F, N]."""
    cos = ChromaCosine()
    cos.update(chroma(mag_a, sample_rate, n_fft).T, chroma(mag_b, sample_rate, n_fft).T)
    return cos.compute()
