"""Every constant of the musical analysis, in one place, as frozen dataclasses.

Times are in seconds, tempi in BPM (beats per minute), frequencies in Hz. The analysis
frame sizes are given in seconds and turned into power-of-two sample counts for each sample
rate by :func:`pow2_samples`, so a 44.1 kHz and a 48 kHz clip are analysed alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def pow2_samples(seconds: float, sample_rate: int) -> int:
    """The power of two nearest (in log) to ``seconds · sample_rate`` samples (at least 16)."""
    return max(16, 2 ** round(math.log2(max(seconds * sample_rate, 1.0))))


@dataclass(frozen=True)
class OnsetConfig:
    """Onset envelope: spectral flux of octave bands of the mono downmix (the host's
    ``band_onset_envelope``: rise of log(1 + 100·band amplitude), summed over bands).

    Octave bands weigh a kick (a few bins) like hi-hats (hundreds of bins); a flux summed
    over linear bins is dominated by the hats and locks onto off-beats.
    ``hop_s`` 5.8 ms (256 samples at 44.1 kHz) keeps the frame quantisation (±2.9 ms) well
    under the 20 ms alignment target; ``n_fft = fft_hops · hop`` (1024 at 44.1 kHz: 23 ms,
    43 Hz bins). Bands: [0, ``first_edge_hz``), then octaves up to Nyquist. ``low_hz``: bands
    centred below it give the kick-drum envelope used for the downbeat.
    """

    hop_s: float = 0.0058
    fft_hops: int = 4
    first_edge_hz: float = 90.0
    low_hz: float = 120.0


@dataclass(frozen=True)
class TempoConfig:
    """Tempo search and dynamic-programming beat tracking (Ellis 2007).

    - ``min_bpm``/``max_bpm``: range searched; ``grid_step`` relative step of the log grid
      of candidate tempi (0.05 %, far under the 2 % target).
    - ``comb``: number of multiples k·P of a candidate period P whose autocorrelations are
      averaged (the comb); more multiples sharpen the period estimate.
    - ``subbeat_weight``: weight of A(P/2), the half-beat periodicity, added to the comb.
      Measured on 78 synthetic loops (50-190 BPM): without it, two four-on-the-floor loops
      (160, 174 BPM) read at 2/3 of their tempo; with 0.2 none do, and 53 of 78 read at the
      written tempo, the rest at half or double (0.5 gave 49 of 78).
    - ``prior_bpm``/``prior_octaves``: log-Gaussian tempo prior (Ellis: 120 BPM, 1 octave)
      that breaks the ambiguity between P, 2P and P/2.
    - ``smooth_s``: the envelope's local mean over this window is subtracted (a high-pass)
      before the autocorrelation.
    - ``tightness``: weight of the log-interval penalty in the beat tracker (Ellis: 100 on a
      unit-variance envelope); larger holds the beats closer to the global period.
    - ``min_confidence``: below this tempo confidence (normalised autocorrelation at the
      beat period), a clip is treated as having no reliable pulse. Measured: synthetic drum
      and chord loops 0.54-0.83, 4 s of white noise 0.14.
    - ``beats_per_bar``: the metre assumed for downbeats and bar loops (4/4).
    """

    min_bpm: float = 50.0
    max_bpm: float = 220.0
    grid_step: float = 0.0005
    comb: int = 4
    subbeat_weight: float = 0.2
    prior_bpm: float = 120.0
    prior_octaves: float = 1.0
    smooth_s: float = 0.5
    tightness: float = 100.0
    min_confidence: float = 0.25
    beats_per_bar: int = 4


@dataclass(frozen=True)
class KeyConfig:
    """Key from chroma against Krumhansl–Kessler profiles (24 keys).

    ``frame_s``: STFT size for chroma (186 ms, 8192 samples at 44.1 kHz: 5.4 Hz bins,
    finer than a semitone from ``fmin_hz`` = 65 Hz, C2, up). ``fmax_hz``: chroma upper
    bound (harmonics above add little and noise). ``min_confidence``: below it the key is
    reported but ``--transpose auto`` does nothing. Measured (docs/musical.md): synthetic
    chord loops 0.06-0.2, drum loops under 0.006, white noise 0.002; 0.03 sits 5× above
    the drums and 2× under the weakest chord loop.
    """

    frame_s: float = 0.186
    hop_frames: int = 4
    fmin_hz: float = 65.0
    fmax_hz: float = 2100.0
    min_confidence: float = 0.03


@dataclass(frozen=True)
class StretchConfig:
    """Rubber Band settings for ``pedalboard.time_stretch`` in the alignment.

    ``preserve_formants`` is off: it re-weights a shifted tone's harmonics (measured: an
    E major chord loop shifted -4 semitones read as G major, key confidence 0.01, with it;
    as C major, 0.18, without). It suits voices, not the chords and pads a TARGET holds.
    ``transient_mode`` "crisp" keeps attacks sharp, so stretched onsets stay on the grid.
    """

    high_quality: bool = True
    transient_mode: str = "crisp"
    preserve_formants: bool = False
