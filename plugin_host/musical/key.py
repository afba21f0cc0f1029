"""Key from chroma: correlation with the 24 rotated Krumhansl–Kessler profiles. numpy only.

The clip's key profile is the square root of its chroma power summed over time (amplitude
per pitch class, so one loud chord does not decide alone). Its Pearson correlation with each
of the 12 major and 12 minor profiles rotated to every tonic gives 24 scores r; the key is
the best one.

``confidence`` = margin × tonality:

- ``margin`` = r_best - r_second, where the runner-up excludes the best key's relative
  (same pitch set: C major / A minor) and parallel (same tonic: C major / C minor) keys,
  which any clear key also matches well. Synthetic chord loops: 0.12-0.33; drum loops
  0.005-0.06; but white noise 0.15 (the uneven count of STFT bins per pitch class gives
  its chroma a fixed shape), hence the second factor.
- ``tonality`` = energy-weighted mean over frames of 1 - flatness (geometric over
  arithmetic mean) of the frame's chroma amplitudes: how much of each frame sits in a few
  pitch classes. Triads ~0.5, drum loops ~0.09, white noise ~0.01.

Measured products (docs/musical.md): chord loops 0.06-0.2, drum loops < 0.006, noise 0.002.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugin_host.musical.config import KeyConfig
from plugin_host.musical.features import ChromaFrames

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES = ("major", "minor")

# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


@dataclass(frozen=True)
class KeyEstimate:
    """A clip's key: ``tonic`` pitch class (C = 0), ``mode`` ("major"/"minor"),
    ``correlation`` r of the best profile, ``margin``, ``tonality`` and ``confidence``
    (module docstring), ``runner_up`` the best unrelated key's name."""

    tonic: int
    mode: str
    correlation: float
    margin: float
    tonality: float
    runner_up: str

    @property
    def confidence(self) -> float:
        """margin × tonality (0 when either is 0)."""
        return max(self.margin, 0.0) * self.tonality

    @property
    def name(self) -> str:
        """For example ``"D major"``."""
        return key_name(self.tonic, self.mode)

    @property
    def relative_major(self) -> int:
        """Tonic of the major key with the same pitch set (A minor -> C = 0)."""
        return self.tonic if self.mode == "major" else (self.tonic + 3) % 12

    def reliable(self, cfg: KeyConfig | None = None) -> bool:
        """True when the confidence reaches ``KeyConfig.min_confidence``."""
        return self.confidence >= (cfg or KeyConfig()).min_confidence


def key_name(tonic: int, mode: str) -> str:
    return f"{NOTE_NAMES[tonic % 12]} {mode}"


def key_scores(profile: np.ndarray) -> np.ndarray:
    """Pitch-class profile [12] -> Pearson r with each key: [2, 12] (mode, tonic)."""
    p = np.asarray(profile, np.float64)
    p = p - p.mean()
    out = np.zeros((2, 12))
    for m, base in enumerate((KK_MAJOR, KK_MINOR)):
        ref = np.asarray(base) - np.mean(base)
        for tonic in range(12):
            r = np.roll(ref, tonic)
            den = np.sqrt((p @ p) * (r @ r))
            out[m, tonic] = (p @ r) / den if den > 0 else 0.0
    return out


def _related(mode: int, tonic: int) -> set[tuple[int, int]]:
    """The key itself, its parallel and its relative, as (mode, tonic)."""
    rel = (1, (tonic - 3) % 12) if mode == 0 else (0, (tonic + 3) % 12)
    return {(mode, tonic), (1 - mode, tonic), rel}


def tonality(chroma: np.ndarray) -> float:
    """Energy-weighted mean over frames of 1 - flatness of the chroma amplitudes [12, N]."""
    c = np.asarray(chroma, np.float64)
    energy = c.sum(axis=0)
    if c.size == 0 or energy.sum() <= 0:
        return 0.0
    amp = np.sqrt(np.maximum(c, 0.0)) + 1e-12 * np.sqrt(energy.max())
    flatness = np.exp(np.log(amp).mean(axis=0)) / amp.mean(axis=0)
    return float(((1.0 - flatness) * energy).sum() / energy.sum())


def estimate_key(frames: ChromaFrames) -> KeyEstimate:
    """Key of a clip from its chroma frames [12, N]."""
    profile = np.sqrt(np.asarray(frames.chroma, np.float64).sum(axis=1))
    if not np.any(profile > 0):
        return KeyEstimate(0, "major", 0.0, 0.0, 0.0, "none")
    scores = key_scores(profile)
    m, t = np.unravel_index(int(np.argmax(scores)), scores.shape)
    related = _related(int(m), int(t))
    others = [(scores[a, b], a, b) for a in range(2) for b in range(12) if (a, b) not in related]
    r2, m2, t2 = max(others)
    return KeyEstimate(
        tonic=int(t),
        mode=MODES[int(m)],
        correlation=float(scores[m, t]),
        margin=float(scores[m, t] - r2),
        tonality=tonality(frames.chroma),
        runner_up=key_name(int(t2), MODES[int(m2)]),
    )
