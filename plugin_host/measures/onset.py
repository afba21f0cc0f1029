"""Rhythm: the band onset envelope (spectral flux on the agent's band powers) and the
correlation of two clips' envelopes.

Envelope of frame t: Σ over bands (and leading dims) of max(0, L[t] - L[t-1]) with
L = log(1 + 100·sqrt(P)) (``ONSET_GAIN``), P the mean |X|² of a band; frame 0 is 0. At
hop 512 / 44.1 kHz one frame is 11.6 ms. It reads K values per frame (the core's features
before the log), not C·F bins, so the host's streamed report can afford it.
"""

from __future__ import annotations

import numpy as np

from plugin_host.measures.constants import ONSET_GAIN
from plugin_host.measures.correlation import pearson


class BandOnsetEnvelope:
    """The envelope of one signal, fed frame-major chunks in order (the last frame of a
    chunk is carried to the next, so any chunking gives the whole clip's envelope)."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None  # log band magnitudes of the last frame [L, K]
        self._parts: list[np.ndarray] = []

    def update(self, band_power: np.ndarray) -> np.ndarray:
        """band_power: [..., n, K], frame-major (leading dims are summed, e.g. items).
        Returns the envelope of these frames, float64 [n] (also kept)."""
        p = np.asarray(band_power, np.float64)
        if p.shape[-2] == 0:
            return np.zeros(0)
        logp = np.log1p(ONSET_GAIN * np.sqrt(np.maximum(p, 0.0)))
        logp = logp.reshape(-1, *logp.shape[-2:])  # [L, n, K]
        prev = logp[:, :1] if self._prev is None else self._prev[:, None]
        steps = np.diff(np.concatenate([prev, logp], axis=1), axis=1)
        part = np.maximum(steps, 0.0).sum(axis=(0, 2))
        self._parts.append(part)
        self._prev = logp[:, -1]
        return part

    def add(self, envelope: np.ndarray, first: bool) -> None:
        """Envelope values computed elsewhere (another accumulator's :meth:`update` of the
        same frames), float [n]; ``first``: these are this envelope's first frames, so the
        first value becomes 0 (as :meth:`update` starts a signal)."""
        part = np.array(envelope, np.float64)
        if first and part.size:
            part[0] = 0.0
        self._parts.append(part)

    def compute(self) -> np.ndarray:
        """float64 [N], N the frames fed so far."""
        return np.concatenate(self._parts) if self._parts else np.zeros(0)


def band_onset_envelope(band_power: np.ndarray) -> np.ndarray:
    """Whole clip: band_power [..., K, N] (band-major, as ``HostDSP.band_power``) -> [N]."""
    env = BandOnsetEnvelope()
    env.update(np.swapaxes(np.asarray(band_power), -1, -2))
    return env.compute()


def band_onset_corr(band_power_a: np.ndarray, band_power_b: np.ndarray) -> float | None:
    """Pearson correlation of two clips' band onset envelopes ([..., K, N] each)."""
    return pearson(band_onset_envelope(band_power_a), band_onset_envelope(band_power_b))
