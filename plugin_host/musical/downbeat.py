"""Downbeat: which beat of each 4/4 bar is beat 1. numpy only.

Two cues per tracked beat, each averaged over the beats of every bar position
φ = 0..beats_per_bar-1 and normalised to sum to 1 over φ (a cue with no preference then adds
the same to every position and decides nothing):

- bass onsets: the low-band onset envelope's maximum within ±30 ms of the beat (kick drums
  and bass notes mark beat 1);
- harmonic change: 1 - cosine between the chroma over the beat and over the beat before
  (chords change on beat 1), weighted by ``harmony_weight`` (the caller passes how tonal
  the clip is: a drum loop's chroma changes with its drums, not with chords).

The downbeat position is the best summed score; ``confidence`` = (best - second) / best
(0: several positions tie, e.g. four-on-the-floor drums; near 1: one position stands out).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from plugin_host.musical.features import ChromaFrames, OnsetFrames

NEAR_S = 0.03  # half-width of the window around a beat for its bass onset (s)


@dataclass(frozen=True)
class DownbeatEstimate:
    """``first_s``: time of the first downbeat among the tracked beats (s); ``index``: that
    beat's index in the beat list; ``confidence`` as in the module docstring."""

    first_s: float
    index: int
    confidence: float


def _bass_cue(beats: np.ndarray, onsets: OnsetFrames) -> np.ndarray:
    fr = onsets.frame_rate
    near = max(1, int(round(NEAR_S * fr)))
    idx = np.round(beats * fr).astype(np.int64)
    env = onsets.low
    return np.array([env[max(0, i - near) : i + near + 1].max(initial=0.0) for i in idx])


def _harmony_cue(beats: np.ndarray, chroma: ChromaFrames) -> np.ndarray:
    fr = chroma.sample_rate / chroma.hop
    c = chroma.chroma
    edges = np.clip(np.round(beats * fr).astype(np.int64), 0, c.shape[1])
    means = [
        c[:, a:b].mean(axis=1) if b > a else np.zeros(12) for a, b in itertools.pairwise(edges)
    ]
    means.append(c[:, edges[-1] :].mean(axis=1) if edges[-1] < c.shape[1] else np.zeros(12))
    out = np.zeros(len(beats))
    for i in range(1, len(beats)):
        a, b = means[i - 1], means[i]
        den = np.linalg.norm(a) * np.linalg.norm(b)
        out[i] = 1.0 - (a @ b) / den if den > 0 else 0.0
    return out


def _position_share(cue: np.ndarray, per_bar: int, skip_first: bool) -> np.ndarray:
    """Mean cue per bar position, normalised to sum 1 (uniform when the cue is all zero)."""
    pos = np.arange(cue.size) % per_bar
    use = np.ones(cue.size, bool)
    use[0] = not skip_first
    means = np.array(
        [cue[use & (pos == p)].mean() if np.any(use & (pos == p)) else 0.0 for p in range(per_bar)]
    )
    total = means.sum()
    return means / total if total > 0 else np.full(per_bar, 1.0 / per_bar)


def estimate_downbeat(
    beats_s: tuple[float, ...] | np.ndarray,
    onsets: OnsetFrames,
    chroma: ChromaFrames,
    beats_per_bar: int = 4,
    harmony_weight: float = 1.0,
) -> DownbeatEstimate | None:
    """First downbeat among ``beats_s`` (s), or ``None`` when there are no beats. With less
    than one bar of beats the first beat is returned with confidence 0."""
    beats = np.asarray(beats_s, np.float64)
    if beats.size == 0:
        return None
    if beats.size < beats_per_bar:
        return DownbeatEstimate(float(beats[0]), 0, 0.0)
    score = _position_share(_bass_cue(beats, onsets), beats_per_bar, False)
    harmony = _position_share(_harmony_cue(beats, chroma), beats_per_bar, True)
    score = score + harmony_weight * harmony
    order = np.argsort(score)[::-1]
    best = int(order[0])
    conf = float((score[best] - score[order[1]]) / score[best]) if score[best] > 0 else 0.0
    return DownbeatEstimate(float(beats[best]), best, conf)
