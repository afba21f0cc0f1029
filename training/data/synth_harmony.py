"""The TARGET clips: a diatonic progression in a random key and mode, voice-led voicings,
played as sustained or stabbed chords, a bass line and an arpeggio, rendered to float32
[2, T] before room and level."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.data.synth_config import SynthConfig
from training.data.synth_dsp import draw_uniform, midi_hz, pan_gains, pick_one, place_shot
from training.data.synth_tables import (
    BASS_LINES,
    MODES,
    NOTE_NAMES,
    PROGRESSIONS,
    STABS,
    TIMBRES,
)
from training.data.synth_voices import Voice


def chord_pcs(key: int, mode: str, degree: int, seventh: bool, raise_7th: bool) -> list[int]:
    """Pitch classes (0 = C) of the diatonic triad or seventh chord on ``degree``, root first;
    ``raise_7th``: the V chord of a minor key takes the harmonic-minor leading tone (major V)."""
    scale = list(MODES[mode])
    if raise_7th and mode == "minor" and degree == 4:
        scale[6] = 11
    tones = [scale[(degree + 2 * i) % 7] for i in range(4 if seventh else 3)]
    return [(key + pc) % 12 for pc in tones]


def voice_chord(
    pcs: list[int], prev: list[int] | None, rng: np.random.Generator, spread: bool
) -> list[int]:
    """MIDI notes of a chord between 45 and 81: the inversion/octave closest to the previous
    chord (voice leading), or centred near MIDI 62 for the first; ``spread`` opens it."""
    cands: list[list[int]] = []
    for inv in range(len(pcs)):
        order = pcs[inv:] + pcs[:inv]
        notes = [48 + order[0]]
        for pc in order[1:]:
            notes.append(notes[-1] + ((pc - notes[-1]) % 12 or 12))
        for shift in (-12, 0, 12):
            if notes[0] + shift >= 45 and notes[-1] + shift <= 81:
                cands.append([m + shift for m in notes])
    if prev is None:
        cost = [abs(float(np.mean(c)) - 62.0) + float(rng.uniform(0, 3)) for c in cands]
    else:
        cost = [sum(min(abs(m - q) for q in prev) for m in c) for c in cands]
    notes = sorted(cands[int(np.argmin(cost))])
    if spread and len(notes) >= 3:
        notes = sorted([notes[0], *notes[2:], notes[1] + 12])
    return notes


Note = tuple[float, float, float]  # (start, held, midi): start and held in samples


@dataclass(frozen=True)
class _Plan:
    """A clip's harmony: tempo (``beat``: samples per quarter note), key (pitch class,
    0 = C), mode, ``span`` beats per chord, and per chord (pitch classes, voicing)."""

    bpm: float
    beat: float
    key: int
    mode: str
    span: int
    chords: list[tuple[list[int], list[int]]]


def _plan(rng: np.random.Generator, cfg: SynthConfig) -> _Plan:
    """Draw tempo, key, mode and progression; voice-lead the chords over the clip."""
    t = cfg.n_samples
    bpm = draw_uniform(rng, cfg.bpm_range)
    beat = 60.0 / bpm * cfg.sample_rate  # samples per quarter note
    mode = pick_one(rng, cfg.modes)
    key = int(rng.integers(12))
    prog = PROGRESSIONS[mode][int(rng.integers(len(PROGRESSIONS[mode])))]
    fits = [b for b in (2, 4, 8) if t / (b * beat) >= 2.0]  # at least two chords per clip
    span = int(rng.choice(fits)) if fits else 2  # beats per chord
    first = int(rng.integers(len(prog)))
    seventh, raise_7th, spread = rng.random(3) < (0.35, 0.5, 0.3)
    chords: list[tuple[list[int], list[int]]] = []  # (pitch classes, voicing)
    prev: list[int] | None = None
    for c in range(int(math.ceil(t / (span * beat)))):
        pcs = chord_pcs(key, mode, prog[(first + c) % len(prog)], bool(seventh), bool(raise_7th))
        prev = voice_chord(pcs, prev, rng, bool(spread))
        chords.append((pcs, prev))
    return _Plan(bpm, beat, key, mode, span, chords)


def _add_layer(out: np.ndarray, voice: Voice, notes: list[Note], level: float, pan: float) -> None:
    """Render ``notes`` with ``voice`` at ``pan`` and add them to out [2, T] at RMS
    ``level`` (linear)."""
    t, sr = out.shape[-1], voice.sr
    buf = np.zeros((2, t), np.float32)
    tail = int(1.5 * voice.tail_s * sr)  # release reaches about -50 dB
    for start, held, midi in notes:
        s = int(round(start))
        n = min(int(held) + tail, t - s)
        if n > 0:
            place_shot(buf, voice.note(midi_hz(midi), n, int(held)), s, pan_gains(pan))
    rms = float(np.sqrt(np.mean(buf**2)))
    if rms > 0:
        out[...] += buf * np.float32(level / rms)


def _options(cfg: SynthConfig, role: str) -> list[str]:
    return [name for name in cfg.timbres if role in TIMBRES[name]]


def _chord_layer(
    rng: np.random.Generator, cfg: SynthConfig, plan: _Plan, out: np.ndarray
) -> tuple[str, bool]:
    """Chords, sustained or stabbed on an 8th-note pattern: (timbre, stabbed)."""
    beat, span = plan.beat, plan.span
    name = pick_one(rng, _options(cfg, "chords"))
    voice = Voice(name, rng, cfg.sample_rate)
    stabs = name not in ("pad", "strings") and rng.random() < 0.5
    pattern = pick_one(rng, STABS)
    notes: list[Note] = []
    for c, (_, voicing) in enumerate(plan.chords):
        t0 = c * span * beat
        if stabs:
            for e in range(2 * span):
                if pattern[e % 8] == "x":
                    notes += [(t0 + e * beat / 2, 0.4 * beat, m) for m in voicing]
        else:
            notes += [(t0, span * beat, m) for m in voicing]
    _add_layer(out, voice, notes, 1.0, float(rng.uniform(-0.2, 0.2)))
    return name, bool(stabs)


def _bass_layer(
    rng: np.random.Generator, cfg: SynthConfig, plan: _Plan, out: np.ndarray
) -> str | None:
    """Maybe a bass line on the chord roots: "timbre/line", or None."""
    if not (_options(cfg, "bass") and rng.random() < cfg.bass_prob):
        return None
    beat, span = plan.beat, plan.span
    voice = Voice(pick_one(rng, _options(cfg, "bass")), rng, cfg.sample_rate)
    line = pick_one(rng, BASS_LINES)
    notes: list[Note] = []
    for c, (pcs, _) in enumerate(plan.chords):
        root = 33 + (pcs[0] - 33) % 12
        t0 = c * span * beat
        if line == "whole":
            notes.append((t0, span * beat, root))
        elif line in ("quarters", "root_fifth"):
            for q in range(span):
                fifth = line == "root_fifth" and q % 2 == 1
                notes.append((t0 + q * beat, 0.9 * beat, root + (7 if fifth else 0)))
        else:
            for e in range(2 * span):
                if line == "octaves" or "x..x..x."[e % 8] == "x":
                    up = line == "octaves" and e % 2 == 1
                    notes.append((t0 + e * beat / 2, 0.45 * beat, root + (12 if up else 0)))
    _add_layer(out, voice, notes, 0.8 * float(rng.uniform(0.7, 1.2)), 0.0)
    return f"{voice.name}/{line}"


def _arp_layer(
    rng: np.random.Generator, cfg: SynthConfig, plan: _Plan, out: np.ndarray
) -> str | None:
    """Maybe an arpeggio over the voicing, one or two octaves up: "timbre/direction/per
    beat", or None."""
    if not (_options(cfg, "arp") and rng.random() < cfg.arp_prob):
        return None
    beat, span = plan.beat, plan.span
    voice = Voice(pick_one(rng, _options(cfg, "arp")), rng, cfg.sample_rate)
    per_beat = int(rng.choice([2, 4]))
    octaves = int(rng.integers(1, 3))
    direction = pick_one(rng, ("up", "down", "updown"))
    notes: list[Note] = []
    for c, (_, voicing) in enumerate(plan.chords):
        seq = [m + 12 * o for o in range(1, octaves + 1) for m in voicing]
        seq = [m for m in seq if m <= 96] or voicing
        if direction == "down":
            seq = seq[::-1]
        elif direction == "updown" and len(seq) > 2:
            seq = seq + seq[-2:0:-1]
        step = beat / per_beat
        for e in range(span * per_beat):
            notes.append((c * span * beat + e * step, 0.9 * step, seq[e % len(seq)]))
    level = 0.5 * float(rng.uniform(0.7, 1.2))
    _add_layer(out, voice, notes, level, float(rng.uniform(-0.6, 0.6)))
    return f"{voice.name}/{direction}/{per_beat}"


def render_harmony(rng: np.random.Generator, cfg: SynthConfig) -> tuple[np.ndarray, dict[str, Any]]:
    """The TARGET clip before room and level, float32 [2, T], and what was drawn (the
    random draws in a fixed order: plan, chords, bass, arpeggio)."""
    plan = _plan(rng, cfg)
    out = np.zeros((2, cfg.n_samples), np.float32)
    name, stabs = _chord_layer(rng, cfg, plan, out)
    info: dict[str, Any] = dict(
        bpm=round(plan.bpm, 2),
        key=NOTE_NAMES[plan.key],
        mode=plan.mode,
        beats_per_chord=plan.span,
        chords=[" ".join(NOTE_NAMES[pc] for pc in pcs) for pcs, _ in plan.chords],
        chord_timbre=name,
        stabs=stabs,
        bass=None,
        arp=None,
    )
    info["bass"] = _bass_layer(rng, cfg, plan, out)
    info["arp"] = _arp_layer(rng, cfg, plan, out)
    return out, info
