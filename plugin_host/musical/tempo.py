"""Tempo and beats from an onset envelope: comb-filtered autocorrelation + Ellis (2007)
dynamic-programming beat tracking. numpy only.

1. The envelope minus its local mean (``TempoConfig.smooth_s``), divided by its standard
   deviation, is autocorrelated (FFT; unbiased: each lag divided by its overlap; A(0) = 1)
   up to half the clip (longer lags rest on too few frame pairs).
2. Each candidate tempo on a log grid gets the mean of A(k·P), k = 1..``comb``, for its
   period P in frames (linear interpolation between lags), plus ``subbeat_weight`` · A(P/2)
   (a beat is usually split in two: this rejects the dotted period 1.5·P that a comb alone
   confuses with P), weighted by a log-Gaussian prior around 120 BPM. The best candidate is refined by a parabola through its neighbours.
   ``confidence`` is the comb mean at that period (a correlation: ~0 without a pulse).
3. Beats: Ellis's dynamic programme on the envelope smoothed by a Gaussian of width P/32:
   C(t) = O(t) + max(0, max over τ in [t - 2P, t - P/2] of C(τ) - tightness·log((t - τ)/P)²)
   (0: a chain may start at t),
   backtracked from the last strong local maximum of C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugin_host.musical.config import TempoConfig
from plugin_host.musical.features import OnsetFrames


@dataclass(frozen=True)
class TempoEstimate:
    """A clip's tempo and beats.

    ``bpm``: beats per minute; ``confidence``: comb autocorrelation at the beat period
    (-1..1; below ``TempoConfig.min_confidence`` there is no reliable pulse); ``beats``:
    beat times in seconds from the clip's first sample; ``candidates``: the three best
    (bpm, prior-weighted score) pairs, best first, the alternatives a listener might tap.
    """

    bpm: float
    confidence: float
    beats: tuple[float, ...]
    candidates: tuple[tuple[float, float], ...]

    @property
    def period_s(self) -> float:
        """Beat period in seconds."""
        return 60.0 / self.bpm

    @property
    def phase_s(self) -> float:
        """Time of the first beat modulo the period, in seconds (the grid's phase)."""
        return self.beats[0] % self.period_s if self.beats else 0.0

    def reliable(self, cfg: TempoConfig | None = None) -> bool:
        """True when the confidence reaches ``min_confidence`` and at least two beats exist."""
        cfg = cfg or TempoConfig()
        return self.confidence >= cfg.min_confidence and len(self.beats) >= 2


def octave_error(estimate_bpm: float, true_bpm: float, tolerance: float = 0.02) -> int | None:
    """Which octave of ``true_bpm`` the estimate matches within ``tolerance`` (relative):
    0 (right), 1 (double), -1 (half), ±2 ...; ``None`` if none within 2 octaves does."""
    for octave in (0, 1, -1, 2, -2):
        if abs(estimate_bpm / (true_bpm * 2.0**octave) - 1.0) <= tolerance:
            return octave
    return None


def normalise_envelope(env: np.ndarray, frame_rate: float, smooth_s: float) -> np.ndarray:
    """Envelope [N] minus its moving average over ``smooth_s`` seconds, unit std: [N]."""
    x = np.asarray(env, np.float64)
    w = max(1, int(round(smooth_s * frame_rate)))
    c = np.concatenate([[0.0], np.cumsum(x)])
    lo = np.clip(np.arange(x.size) - w // 2, 0, x.size)
    hi = np.clip(np.arange(x.size) + w // 2 + 1, 0, x.size)
    y = x - (c[hi] - c[lo]) / (hi - lo)
    sd = y.std()
    return y / sd if sd > 0 else y


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Unbiased autocorrelation of ``x`` [N] for lags 0..max_lag, normalised so A(0) = 1."""
    n = x.size
    import scipy.fft  # deferred: 0.2 s to import, needed only when a clip is analysed

    size = scipy.fft.next_fast_len(2 * n)
    spec = scipy.fft.rfft(x, size)
    ac = scipy.fft.irfft(spec * np.conj(spec), size)[: min(max_lag, n - 1) + 1]
    ac = ac / (n - np.arange(ac.size))
    return ac / ac[0] if ac[0] > 0 else np.zeros_like(ac)


def _comb(ac: np.ndarray, periods: np.ndarray, comb: int) -> np.ndarray:
    """Mean of ac(k·P) over the multiples k = 1..comb within ac; 0 where P itself is not.
    ``ac`` spans half the envelope: longer lags average too few frame pairs."""
    lags = periods[:, None] * np.arange(1, comb + 1)[None, :]  # [G, K]
    fits = lags <= ac.size - 1
    vals = np.interp(np.minimum(lags, ac.size - 1), np.arange(ac.size), ac)
    return (vals * fits).sum(axis=1) / np.maximum(fits.sum(axis=1), 1)


def _refine(x: np.ndarray, y: np.ndarray, i: int) -> float:
    """Parabolic interpolation of the maximum of y at index i over x (evenly spaced)."""
    if i == 0 or i == y.size - 1:
        return float(x[i])
    a, b, c = y[i - 1], y[i], y[i + 1]
    den = a - 2 * b + c
    off = 0.5 * (a - c) / den if den < 0 else 0.0
    return float(x[i] + off * (x[1] - x[0]))


def tempo_candidates(
    env: np.ndarray, frame_rate: float, cfg: TempoConfig
) -> tuple[float, float, list[tuple[float, float]]]:
    """(bpm, confidence, top-3 (bpm, score)) from a normalised envelope [N]."""
    log_bpm = np.arange(np.log(cfg.min_bpm), np.log(cfg.max_bpm), np.log1p(cfg.grid_step))
    periods = 60.0 * frame_rate / np.exp(log_bpm)
    ac = autocorrelation(env, min(int(np.ceil(periods[0] * cfg.comb)) + 1, env.size // 2))
    strength = _comb(ac, periods, cfg.comb)
    half = np.maximum(np.interp(periods / 2, np.arange(ac.size), ac), 0.0)
    strength = strength + cfg.subbeat_weight * half
    prior = np.exp(
        -0.5 * ((log_bpm - np.log(cfg.prior_bpm)) / (cfg.prior_octaves * np.log(2))) ** 2
    )
    score = np.maximum(strength, 0.0) * prior
    best = int(np.argmax(score))
    bpm = float(np.exp(_refine(log_bpm, score, best)))
    conf = float(_comb(ac, np.array([60.0 * frame_rate / bpm]), cfg.comb)[0])
    peaks = np.flatnonzero((score[1:-1] >= score[:-2]) & (score[1:-1] > score[2:])) + 1
    top = peaks[np.argsort(score[peaks])[::-1][:3]]
    cands = [(float(np.exp(log_bpm[i])), float(score[i])) for i in top]
    return bpm, conf, cands


def _last_beat(cum: np.ndarray) -> int:
    """Index of the last local maximum of the cumulative score above half their median."""
    peaks = np.flatnonzero((cum[1:-1] > cum[:-2]) & (cum[1:-1] >= cum[2:])) + 1
    if peaks.size == 0:
        return int(np.argmax(cum))
    strong = peaks[cum[peaks] >= 0.5 * np.median(cum[peaks])]
    return int(strong[-1])


def track_beats(env: np.ndarray, period: float, tightness: float) -> np.ndarray:
    """Ellis's dynamic-programming beat tracker: normalised envelope [N], period in frames
    -> beat frame indices (int64, rising)."""
    sigma = max(period / 32.0, 0.5)
    k = np.arange(-int(4 * sigma), int(4 * sigma) + 1)
    local = np.convolve(env, np.exp(-0.5 * (k / sigma) ** 2))[k.size // 2 : k.size // 2 + env.size]
    local = local / (local.std() or 1.0)
    lags = np.arange(max(1, int(round(period / 2))), int(round(2 * period)) + 1)
    txcost = -tightness * np.log(lags / period) ** 2
    cum = local.copy()
    back = np.full(env.size, -1, dtype=np.int64)
    floor = 0.01 * local.max()
    for t in range(lags[0], env.size):
        prev = t - lags
        ok = prev >= 0
        cand = cum[prev[ok]] + txcost[ok]
        j = int(np.argmax(cand))
        if cand[j] > 0 and (local[t] >= floor or back[prev[ok][j]] >= 0):
            cum[t] = local[t] + cand[j]
            back[t] = prev[ok][j]
    beats = [_last_beat(cum)]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    out = np.array(beats[::-1], dtype=np.int64)
    return _trim_weak(out, local)


def _trim_weak(beats: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Drop leading/trailing beats whose local onset score is under 1/4 of the beats' mean
    (the tracker extends its grid into silence at a clip's edges)."""
    if beats.size < 3:
        return beats
    s = local[beats]
    thr = 0.25 * np.mean(np.maximum(s, 0.0))
    keep = np.flatnonzero(s >= thr)
    return beats[keep[0] : keep[-1] + 1] if keep.size else beats


def estimate_tempo(onsets: OnsetFrames, cfg: TempoConfig | None = None) -> TempoEstimate:
    """Tempo, confidence and beat times (s) of a clip from its onset envelopes."""
    cfg = cfg or TempoConfig()
    fr = onsets.frame_rate
    env = normalise_envelope(onsets.full, fr, cfg.smooth_s)
    if env.size < 4 or not np.any(env):
        return TempoEstimate(cfg.prior_bpm, 0.0, (), ())
    bpm, conf, cands = tempo_candidates(env, fr, cfg)
    beats = track_beats(env, 60.0 * fr / bpm, cfg.tightness)
    return TempoEstimate(bpm, conf, tuple(float(b) / fr for b in beats), tuple(cands))
