"""Seeded pairs rendered with sampled instruments: INPUT = a drum groove on a sampled kit,
TARGET = chords (+ bass, + arpeggio) on sampled GM programs, each with its own tempo,
stereo width, room and level.

Audio is float32 ``[C, T]``, ``T = round(seconds * sample_rate)``, peak <=
:data:`training.data.synth.PEAK_CEILING`; levels are RMS over all samples and channels in
dBFS; times in s; tempi in BPM. A pair depends only on ``(cfg, seed)`` (and the SoundFont
files): the same seed gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.signal

from training.data.soundfont.drums import GROOVES, SUBSTITUTES, groove_notes, without
from training.data.soundfont.fonts import (
    FAMILIES,
    FONTS,
    SHARED_NOTES,
    SPLITS,
    Instrument,
    instruments,
)
from training.data.soundfont.harmony import arp_notes, bass_notes, chord_notes, progression
from training.data.soundfont.sequencer import FontBank, Note
from training.data.synth import MODES, PEAK_CEILING

SUSTAINED_FAMILIES = frozenset({"organ", "strings", "choir", "brass", "pad"})


@dataclass(frozen=True)
class SoundFontConfig:
    """Settings of the SoundFont pair renderer.

    sample_rate: Hz. channels: 1 (mono downmix) or 2. seconds: clip length, s.
    split: "train" or "valid": which instruments play (:func:`fonts.instruments`).
    bpm_range: tempo range, BPM (INPUT and TARGET draw their tempi independently).
    rms_dbfs_range: per-clip RMS level, dBFS (a clip whose peak would pass PEAK_CEILING is
    turned down). The default, -18 ± 12 dB, puts either clip up to 24 dB above the other.
    grooves: drum grooves (keys of :data:`drums.GROOVES`). humanize_ms: upper bound of the
    per-clip timing jitter std, ms. swing_prob, swing_max: probability that a groove
    swings, and the largest delay of its off 16ths (fraction of a 16th). fill_prob:
    probability of a fill at each phrase end. modes: "major", "minor". bass_prob, arp_prob:
    probability of a bass line / an arpeggio in the TARGET. reverb_mix_range: room level,
    wet RMS / dry RMS; reverb_seconds_range: room RT60, s. width_range: side gain.
    """

    sample_rate: int = 44100
    channels: int = 2
    seconds: float = 4.0
    split: str = "train"
    bpm_range: tuple[float, float] = (70.0, 180.0)
    rms_dbfs_range: tuple[float, float] = (-30.0, -6.0)
    grooves: tuple[str, ...] = tuple(GROOVES)
    humanize_ms: float = 12.0
    swing_prob: float = 0.3
    swing_max: float = 0.3
    fill_prob: float = 0.4
    modes: tuple[str, ...] = tuple(MODES)
    bass_prob: float = 0.8
    arp_prob: float = 0.5
    reverb_mix_range: tuple[float, float] = (0.05, 0.35)
    reverb_seconds_range: tuple[float, float] = (0.2, 1.2)
    width_range: tuple[float, float] = (0.5, 1.4)

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"SoundFontConfig.{name} {why}, got {getattr(self, name)!r}")

        if self.sample_rate < 8000:
            raise bad("sample_rate", "must be >= 8000 Hz")
        if self.channels not in (1, 2):
            raise bad("channels", "must be 1 or 2")
        if not self.seconds > 0 or round(self.seconds * self.sample_rate) < 1:
            raise bad("seconds", "must give at least one sample")
        if self.split not in SPLITS:
            raise bad("split", f"must be one of {', '.join(SPLITS)}")
        for name in (
            "bpm_range",
            "rms_dbfs_range",
            "reverb_mix_range",
            "reverb_seconds_range",
            "width_range",
        ):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise bad(name, "must be (low, high)")
        if self.bpm_range[0] <= 0 or self.reverb_seconds_range[0] <= 0:
            raise bad(
                "bpm_range" if self.bpm_range[0] <= 0 else "reverb_seconds_range", "must be > 0"
            )
        if self.rms_dbfs_range[1] > 0:
            raise bad("rms_dbfs_range", "must be <= 0 dBFS")
        for name, known in (("grooves", GROOVES), ("modes", MODES)):
            values = getattr(self, name)
            if not values or any(v not in known for v in values):
                raise bad(name, f"must be a non-empty subset of {sorted(known)}")

    @property
    def n_samples(self) -> int:
        """Samples per channel, ``round(seconds * sample_rate)``."""
        return int(round(self.seconds * self.sample_rate))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _choose(rng: np.random.Generator, split: str, role: str) -> Instrument:
    """A random instrument of ``split`` for ``role`` ("drums", "chords", "bass", "arp"):
    a font drawn by :attr:`fonts.Font.weight`, then one of its instruments."""
    pool = [
        i
        for i in instruments(split)
        if (i.drums if role == "drums" else not i.drums and role in FAMILIES[i.family][1])
    ]
    names = sorted({i.font for i in pool})
    weights = np.array([FONTS[n].weight for n in names])
    font = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    pool = [i for i in pool if i.font == font]
    return pool[int(rng.integers(len(pool)))]


def _pan(x: np.ndarray, pan: float) -> np.ndarray:
    """Constant-power balance of stereo x [2, T], pan in [-1 (left), 1 (right)]."""
    theta = (pan + 1.0) * math.pi / 4.0
    g = np.array([math.cos(theta), math.sin(theta)], np.float32) * np.float32(math.sqrt(2.0))
    return x * g[:, None]


def _room(rng: np.random.Generator, x: np.ndarray, cfg: SoundFontConfig) -> np.ndarray:
    """x [2, T] plus a room: per channel, 6–10 early reflections (3–40 ms, random signs)
    and a low-passed exponentially decaying noise tail (RT60 from reverb_seconds_range)
    convolved with the mid signal, mixed at reverb_mix_range (wet RMS / dry RMS)."""
    sr = cfg.sample_rate
    rt60 = _u(rng, cfg.reverb_seconds_range)
    n = max(int(min(rt60, 1.5) * sr), int(0.05 * sr))
    decay = np.exp(-6.9 * np.arange(n) / (rt60 * sr)).astype(np.float32)
    ir = rng.standard_normal((2, n)).astype(np.float32) * decay * np.float32(0.3)
    ir = scipy.signal.sosfilt(
        scipy.signal.butter(1, _u(rng, (2500.0, 8000.0)), fs=sr, output="sos"), ir
    )
    ir[:, : int(0.02 * sr)] = 0.0
    for c in range(2):
        for _ in range(int(rng.integers(6, 11))):
            d = int(rng.uniform(0.003, 0.04) * sr)
            ir[c, d] += float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 1.0)) * decay[d]
    wet = scipy.signal.fftconvolve(x.mean(axis=0)[None], ir, axes=-1)[:, : x.shape[-1]]
    dry_rms, wet_rms = float(np.sqrt(np.mean(x**2))), float(np.sqrt(np.mean(wet**2)))
    if dry_rms <= 0.0 or wet_rms <= 0.0:
        return x
    return (x + np.float32(_u(rng, cfg.reverb_mix_range) * dry_rms / wet_rms) * wet).astype(
        np.float32
    )


def _master(rng: np.random.Generator, x: np.ndarray, cfg: SoundFontConfig) -> np.ndarray:
    """Stereo width (side gain), channel count, RMS level (dBFS) and peak ceiling:
    float32 [C, T]."""
    mid, side = 0.5 * (x[0] + x[1]), 0.5 * (x[0] - x[1]) * np.float32(_u(rng, cfg.width_range))
    y = np.stack([mid + side, mid - side]) if cfg.channels == 2 else mid[None]
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
    if rms > 0.0:
        y = y * np.float32(10.0 ** (_u(rng, cfg.rms_dbfs_range) / 20.0) / rms)
    peak = float(np.abs(y).max())
    if peak > PEAK_CEILING:
        y = y * np.float32(PEAK_CEILING / peak)
    return np.ascontiguousarray(y, dtype=np.float32)


def _name(inst: Instrument) -> str:
    return f"{inst.font}:{inst.bank}:{inst.preset}"


def _drums(
    rng: np.random.Generator, cfg: SoundFontConfig, bank: FontBank
) -> tuple[np.ndarray, dict[str, Any]]:
    kit = _choose(rng, cfg.split, "drums")
    swing = _u(rng, (0.0, cfg.swing_max)) if rng.random() < cfg.swing_prob else 0.0
    notes, info = groove_notes(
        rng,
        cfg.seconds,
        _u(rng, cfg.bpm_range),
        kit.bank == 128,
        cfg.humanize_ms,
        swing,
        cfg.fill_prob,
        cfg.grooves,
    )
    if kit.font in SHARED_NOTES:  # samples the other split's kit has too
        shared = SHARED_NOTES[kit.font]
        notes = without(notes, shared)
        info.update({k: SUBSTITUTES.get(info[k]) for k in ("snare", "hat") if info[k] in shared})
        info["hits"] = len(notes)
    return bank.render(kit, notes, cfg.n_samples), {"kit": _name(kit), **info}


def _harmony(
    rng: np.random.Generator, cfg: SoundFontConfig, bank: FontBank
) -> tuple[np.ndarray, dict[str, Any]]:
    bpm = _u(rng, cfg.bpm_range)
    humanize_s = _u(rng, (0.0, cfg.humanize_ms)) / 1000.0
    chords, info = progression(rng, cfg.seconds, bpm, cfg.modes)
    out = np.zeros((2, cfg.n_samples), np.float32)

    def layer(inst: Instrument, notes: list[Note], level: float, pan: float) -> None:
        audio = bank.render(inst, notes, cfg.n_samples)
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
        if rms > 0.0:
            out[...] += _pan(audio, pan) * np.float32(level / rms)

    inst = _choose(rng, cfg.split, "chords")
    sustained = inst.family in SUSTAINED_FAMILIES or rng.random() < 0.5
    notes, style = chord_notes(rng, chords, bpm, sustained, humanize_s)
    layer(inst, notes, 1.0, _u(rng, (-0.3, 0.3)))
    info["chords_by"], info["chord_style"], info["bass"], info["arp"] = (
        _name(inst),
        style,
        None,
        None,
    )
    if rng.random() < cfg.bass_prob:
        inst = _choose(rng, cfg.split, "bass")
        notes, line = bass_notes(rng, chords, bpm, humanize_s)
        layer(inst, notes, 0.8 * _u(rng, (0.6, 1.3)), 0.0)
        info["bass"] = f"{_name(inst)}/{line}"
    if rng.random() < cfg.arp_prob:
        inst = _choose(rng, cfg.split, "arp")
        notes, kind = arp_notes(rng, chords, bpm, humanize_s)
        layer(inst, notes, 0.5 * _u(rng, (0.6, 1.3)), _u(rng, (-0.7, 0.7)))
        info["arp"] = f"{_name(inst)}/{kind}"
    return out, info


def _rms_db(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return round(20.0 * math.log10(rms), 2) if rms > 0 else -math.inf


def render_pair_info(
    cfg: SoundFontConfig, seed: int, bank: FontBank
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """One (input, target) pair, float32 [C, T] each, and what was drawn (JSON-ready):
    ``{"input": {kit, groove, bpm, swing, ..., rms_dbfs}, "target": {bpm, key, mode,
    chords, chords_by, chord_style, bass, arp, rms_dbfs}}``; instruments are
    ``font:bank:preset``. ``bank`` must be at ``cfg.sample_rate``."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if bank.sample_rate != cfg.sample_rate:
        raise ValueError(f"FontBank at {bank.sample_rate} Hz, config at {cfg.sample_rate} Hz")
    rng_in, rng_tg = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    drums, info_in = _drums(rng_in, cfg, bank)
    x = _master(rng_in, _room(rng_in, drums, cfg), cfg)
    harmony, info_tg = _harmony(rng_tg, cfg, bank)
    y = _master(rng_tg, _room(rng_tg, harmony, cfg), cfg)
    info_in["rms_dbfs"], info_tg["rms_dbfs"] = _rms_db(x), _rms_db(y)
    return x, y, {"input": info_in, "target": info_tg}
