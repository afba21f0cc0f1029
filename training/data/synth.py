"""Built-in music data: seeded synthetic clip pairs for training and validation.

INPUT clips are drum/percussion loops (kick, snare/clap/rim, hats, toms, shakers) in one of
several kits, 16-step grooves with swing, fills, humanised timing and velocity. TARGET
clips are harmonic material: diatonic chord progressions in a random key and mode with
voice-led voicings, played by synthesized timbres (pads, plucks, organ, FM bells, bass ...)
as sustained or stabbed chords, bass lines and arpeggios. Both get a small stereo room,
stereo width and a per-clip loudness.

Everything is plain numpy/scipy (torch only for :class:`SynthPairs`); a pair depends only
on ``(cfg, seed)``, nothing is cached between calls.

Units: ``sample_rate`` in Hz; ``seconds`` and every ``*_s`` length in seconds; tempo in
beats per minute (a beat is a quarter note, a step a 16th note); gains in dB; loudness is the
RMS over all samples and channels in dBFS (full scale = 1.0). Audio is float32 ``[C, T]``
with ``T = round(seconds * sample_rate)`` and peak <= :data:`PEAK_CEILING`.

The variety is parameterised (``kits``, ``timbres``, ``bpm_range`` ...), so training holds
some settings out: :func:`validation_config` uses kits, timbres and a tempo range that
:func:`train_config` never uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from training.data.synth_config import (
    PEAK_CEILING,
    TRAIN_BPM,
    TRAIN_KITS,
    TRAIN_TIMBRES,
    VALID_BPM,
    VALID_KITS,
    VALID_TIMBRES,
    SynthConfig,
    train_config,
    validation_config,
)
from training.data.synth_drums import render_drums
from training.data.synth_harmony import render_harmony
from training.data.synth_mix import add_room, master_clip, rms_db
from training.data.synth_tables import KITS, MODES, NOTE_NAMES, STYLES, TIMBRES, Kit

__all__ = [
    "KITS",
    "MODES",
    "NOTE_NAMES",
    "PEAK_CEILING",
    "STYLES",
    "TIMBRES",
    "TRAIN_BPM",
    "TRAIN_KITS",
    "TRAIN_TIMBRES",
    "VALID_BPM",
    "VALID_KITS",
    "VALID_TIMBRES",
    "Kit",
    "SynthConfig",
    "SynthPairs",
    "generate_pair",
    "generate_pair_info",
    "item_seed",
    "train_config",
    "validation_config",
]


def generate_pair(cfg: SynthConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One (input, target) pair: drums and harmony, float32 [C, T] each at
    ``cfg.sample_rate`` Hz, ``T = cfg.n_samples``, peak <= PEAK_CEILING. The same
    ``(cfg, seed)`` always gives the same samples; ``seed`` is any int >= 0."""
    x, y, _ = generate_pair_info(cfg, seed)
    return x, y


def generate_pair_info(
    cfg: SynthConfig, seed: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """:func:`generate_pair` plus what was drawn (JSON-ready): ``{"input": {kit, style,
    bpm, swing, hits, rms_dbfs}, "target": {bpm, key, mode, beats_per_chord, chords
    (pitch-class names, root first, e.g. "A C# E"), chord_timbre, stabs, bass, arp, rms_dbfs}}``."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    rng_in, rng_tg = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    drums, info_in = render_drums(rng_in, cfg)
    x = master_clip(rng_in, add_room(rng_in, drums, cfg), cfg)
    harmony, info_tg = render_harmony(rng_tg, cfg)
    y = master_clip(rng_tg, add_room(rng_tg, harmony, cfg), cfg)
    assert x.shape == y.shape == (cfg.channels, cfg.n_samples)
    info_in["rms_dbfs"], info_tg["rms_dbfs"] = rms_db(x), rms_db(y)
    return x, y, {"input": info_in, "target": info_tg}


def item_seed(seed: int, index: int) -> int:
    """The generator seed of item ``index`` of a set seeded ``seed``: an int in [0, 2**53)
    (exact in JSON everywhere), hashed from both so neighbouring sets do not overlap."""
    lo, hi = np.random.SeedSequence([seed, index]).generate_state(2, dtype=np.uint32)
    return (int(hi) << 32 | int(lo)) & ((1 << 53) - 1)


class SynthPairs(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """``n_pairs`` generated pairs, item i made from ``item_seed(seed, i)`` on demand:
    ``{"input": Tensor[C, T], "target": Tensor[C, T]}`` (float32)."""

    def __init__(self, cfg: SynthConfig, n_pairs: int, seed: int = 0) -> None:
        if n_pairs < 1:
            raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.cfg, self.n_pairs, self.seed = cfg, n_pairs, seed

    def __len__(self) -> int:
        return self.n_pairs

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not -self.n_pairs <= i < self.n_pairs:
            raise IndexError(f"SynthPairs index {i} out of range for {self.n_pairs} pairs")
        x, y = generate_pair(self.cfg, item_seed(self.seed, i % self.n_pairs))
        return {"input": torch.from_numpy(x), "target": torch.from_numpy(y)}
