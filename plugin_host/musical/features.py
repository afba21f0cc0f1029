"""Frame features for the musical analysis: onset envelopes and chroma, from the host's STFT.

The spectral flux and the chroma folding are the host's own measures
(:func:`plugin_host.measures.band_onset_envelope`, :func:`plugin_host.measures.chroma`); this module
only picks the frame sizes (:mod:`plugin_host.musical.config`) and downmixes to mono.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugin_host.dsp import HostDSP
from plugin_host.measures import band_onset_envelope, chroma
from plugin_host.musical.config import KeyConfig, OnsetConfig, pow2_samples


@dataclass(frozen=True)
class OnsetFrames:
    """Onset envelopes of one clip, float64 [N]; frame n is centred on sample ``n · hop``.

    ``full``: the host's band onset envelope (log-compressed flux over octave bands);
    ``low``: rise of the linear amplitude of the bands centred below ``OnsetConfig.low_hz``
    (no log: a kick must stand above the low-frequency leak of a snare's noise)."""

    full: np.ndarray
    low: np.ndarray
    hop: int
    sample_rate: int

    @property
    def frame_rate(self) -> float:
        """Frames per second (Hz)."""
        return self.sample_rate / self.hop


def mono(audio: np.ndarray) -> np.ndarray:
    """[C, T] or [T] -> float32 [T] (channel mean)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        return x
    if x.ndim != 2:
        raise ValueError(f"audio must be [C, T] or [T], got shape {x.shape}")
    return x.mean(axis=0)


def onset_frames(
    audio: np.ndarray, sample_rate: int, cfg: OnsetConfig | None = None
) -> OnsetFrames:
    """Spectral-flux onset envelopes of the mono downmix of ``audio`` [C, T]."""
    cfg = cfg or OnsetConfig()
    hop = pow2_samples(cfg.hop_s, sample_rate)
    n_fft = cfg.fft_hops * hop
    edges = octave_edges(n_fft, sample_rate, cfg.first_edge_hz)
    dsp = HostDSP(n_fft, hop, edges, workers=1)
    power = dsp.band_power(dsp.stft(mono(audio))[None, None])[0]  # [K, N]
    centres = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2 * sample_rate / n_fft
    n_low = max(1, int(np.sum(centres < cfg.low_hz)))
    if power.shape[-1] < 2:  # shorter than one hop: no rise to measure
        return OnsetFrames(np.zeros(power.shape[-1]), np.zeros(power.shape[-1]), hop, sample_rate)
    low_amp = np.sqrt(np.maximum(power[:n_low], 0.0)).sum(axis=0)
    low = np.concatenate([[0.0], np.maximum(np.diff(low_amp), 0.0)])
    return OnsetFrames(band_onset_envelope(power), low, hop, sample_rate)


def octave_edges(n_fft: int, sample_rate: int, first_edge_hz: float) -> list[int]:
    """Bin edges of octave-wide bands: 0, then doubling from ``first_edge_hz`` to Nyquist."""
    n_bins = n_fft // 2 + 1
    edges = [0]
    f = first_edge_hz
    while (b := int(round(f * n_fft / sample_rate))) < n_bins:
        if b > edges[-1]:
            edges.append(b)
        f *= 2
    if n_bins - edges[-1] < max(1, edges[-1] - edges[-2] if len(edges) > 1 else 1) // 2:
        edges.pop()  # fold a sliver of a top band into the one below
    return [*edges, n_bins]


@dataclass(frozen=True)
class ChromaFrames:
    """12-bin chroma (C = 0), power per pitch class, float64 [12, N]; frame n centred on
    sample ``n · hop``."""

    chroma: np.ndarray
    hop: int
    sample_rate: int


def chroma_frames(
    audio: np.ndarray, sample_rate: int, cfg: KeyConfig | None = None
) -> ChromaFrames:
    """Chroma of the mono downmix of ``audio`` [C, T] (bins in [fmin_hz, fmax_hz])."""
    cfg = cfg or KeyConfig()
    n_fft = pow2_samples(cfg.frame_s, sample_rate)
    hop = n_fft // cfg.hop_frames
    mag = np.abs(HostDSP(n_fft, hop, [0, n_fft // 2 + 1], workers=1).stft(mono(audio)))
    return ChromaFrames(chroma(mag, sample_rate, n_fft, cfg.fmin_hz, cfg.fmax_hz), hop, sample_rate)


def pick_onsets(
    env: np.ndarray, frame_rate: float, rel_threshold: float = 0.3, min_gap_s: float = 0.05
) -> np.ndarray:
    """Onset times (s) of an envelope [N]: local maxima at least ``rel_threshold`` × its
    maximum, the larger one kept when two lie closer than ``min_gap_s``."""
    e = np.asarray(env, np.float64)
    if e.size < 3 or e.max() <= 0:
        return np.zeros(0)
    peaks = (
        np.flatnonzero(
            (e[1:-1] > e[:-2]) & (e[1:-1] >= e[2:]) & (e[1:-1] >= rel_threshold * e.max())
        )
        + 1
    )
    gap = min_gap_s * frame_rate
    kept: list[int] = []
    for p in peaks[np.argsort(e[peaks])[::-1]]:
        if all(abs(p - q) >= gap for q in kept):
            kept.append(int(p))
    return np.sort(np.array(kept, dtype=np.float64)) / frame_rate
