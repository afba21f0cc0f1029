"""Harmonic parts as note lists: a diatonic chord progression (keys, modes and chord
tables from :mod:`training.data.synth`) voiced with inversions, open/closed voicings and a
per-clip register, played as sustained chords, stabs or comping; a bass line on the roots;
an arpeggio over the voicings. Times in seconds, MIDI keys and velocities.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from training.data.soundfont.sequencer import Note
from training.data.synth_harmony import chord_pcs
from training.data.synth_tables import NOTE_NAMES, PROGRESSIONS

COMPING = ("x.x.x.x.", "x..x..x.", "x.xx.x.x", ".x.x.x.x", "x...x.x.", "x..x.x..")  # 8ths
BASS_LINES = ("whole", "quarters", "root_fifth", "octaves", "syncopated", "walking")


def voicing(
    pcs: list[int], rng: np.random.Generator, prev: list[int] | None, center: float, style: str
) -> list[int]:
    """MIDI keys of a chord (pitch classes ``pcs``, root first): of every inversion in
    every octave that fits MIDI 40–88, the one nearest ``prev`` (voice leading, pulled
    towards ``center``) or, for the first chord, a random one near ``center``. ``style``: "close", "open" (2nd voice up an octave) or
    "rooted" (root doubled an octave below)."""
    cands: list[list[int]] = []
    for inv in range(len(pcs)):
        order = pcs[inv:] + pcs[:inv]
        notes = [36 + order[0]]
        for pc in order[1:]:
            notes.append(notes[-1] + ((pc - notes[-1]) % 12 or 12))
        cands += [
            [m + 12 * o for m in notes]
            for o in range(5)
            if notes[0] + 12 * o >= 40 and notes[-1] + 12 * o <= 88
        ]
    if prev is None:
        cost = [abs(float(np.mean(c)) - center) + float(rng.uniform(0, 6)) for c in cands]
    else:
        cost = [
            sum(min(abs(m - q) for q in prev) for m in c) + abs(float(np.mean(c)) - center) / 4
            for c in cands
        ]
    notes = sorted(cands[int(np.argmin(cost))])
    if style == "open" and len(notes) >= 3:
        notes = sorted([notes[0], *notes[2:], notes[1] + 12])
    elif style == "rooted":
        root = min(m for m in notes if m % 12 == pcs[0])
        notes = sorted({root - 12, *notes}) if root - 12 >= 36 else notes
    return notes


def progression(
    rng: np.random.Generator, seconds: float, bpm: float, modes: tuple[str, ...]
) -> tuple[list[tuple[float, float, list[int]]], dict[str, Any]]:
    """Chords covering [0, seconds) s: (start s, length s, pitch classes root first), and
    what was drawn (key, mode, beats per chord, chord names)."""
    beat = 60.0 / bpm
    mode = str(modes[int(rng.integers(len(modes)))])
    key = int(rng.integers(12))
    prog = PROGRESSIONS[mode][int(rng.integers(len(PROGRESSIONS[mode])))]
    fits = [b for b in (2, 4, 8) if seconds / (b * beat) >= 2.0]
    span = int(rng.choice(fits)) if fits else 2
    first = int(rng.integers(len(prog)))
    seventh, raise_7th = bool(rng.random() < 0.35), bool(rng.random() < 0.5)
    offset = float(rng.integers(0, span)) * beat  # the clip may start inside a chord
    chords = []
    for c in range(int(math.ceil((seconds + offset) / (span * beat)))):
        pcs = chord_pcs(key, mode, prog[(first + c) % len(prog)], seventh, raise_7th)
        chords.append((c * span * beat - offset, span * beat, pcs))
    info = dict(
        bpm=round(bpm, 2),
        key=NOTE_NAMES[key],
        mode=mode,
        beats_per_chord=span,
        chords=[" ".join(NOTE_NAMES[pc] for pc in pcs) for *_, pcs in chords],
    )
    return chords, info


def _vel(rng: np.random.Generator, base: float) -> int:
    return int(np.clip(round(base * (1.0 + 0.1 * rng.standard_normal())), 1, 127))


def chord_notes(
    rng: np.random.Generator,
    chords: list[tuple[float, float, list[int]]],
    bpm: float,
    sustained: bool,
    humanize_s: float,
) -> tuple[list[Note], str]:
    """The chord part: held chords (``sustained``) or an 8th-note comping pattern; notes
    of a chord are slightly strummed/spread in time."""
    beat = 60.0 / bpm
    center = float(rng.uniform(54, 70))
    style = str(rng.choice(["close", "close", "open", "rooted"]))
    pattern = "held" if sustained else str(rng.choice(COMPING))
    base = float(rng.uniform(60, 110))
    notes: list[Note] = []
    prev: list[int] | None = None
    for start, length, pcs in chords:
        prev = voicing(pcs, rng, prev, center, style)
        hits = (
            [(start, length)]
            if sustained
            else [
                (start + e * beat / 2, 0.45 * beat)
                for e in range(int(round(2 * length / beat)))
                if pattern[e % 8] == "x"
            ]
        )
        for t, held in hits:
            spread = float(rng.uniform(0.0, 0.025))
            for j, m in enumerate(prev):
                t_j = t + j * spread + humanize_s * float(rng.standard_normal())
                notes.append(Note(t_j, held, m, _vel(rng, base)))
    return notes, f"{style}/{pattern}"


def bass_notes(
    rng: np.random.Generator,
    chords: list[tuple[float, float, list[int]]],
    bpm: float,
    humanize_s: float,
) -> tuple[list[Note], str]:
    """A bass line on the chord roots (MIDI 28..55)."""
    beat = 60.0 / bpm
    line = str(rng.choice(BASS_LINES))
    low = int(rng.integers(28, 36))
    base = float(rng.uniform(70, 115))
    notes: list[Note] = []
    for start, length, pcs in chords:
        root = low + (pcs[0] - low) % 12
        n_beats = max(int(round(length / beat)), 1)
        if line == "whole":
            hits = [(start, length, root)]
        elif line in ("quarters", "root_fifth", "walking"):
            walk = (
                [0, 7, 12, 7]
                if line == "root_fifth"
                else [0, 4 if 4 in [(p - pcs[0]) % 12 for p in pcs] else 3, 7, 10]
            )
            hits = [
                (start + q * beat, 0.9 * beat, root + (walk[q % 4] if line != "quarters" else 0))
                for q in range(n_beats)
            ]
        else:
            hits = [
                (
                    start + e * beat / 2,
                    0.45 * beat,
                    root + (12 if line == "octaves" and e % 2 else 0),
                )
                for e in range(2 * n_beats)
                if line == "octaves" or "x..x..x."[e % 8] == "x"
            ]
        notes += [
            Note(t + humanize_s * float(rng.standard_normal()), d, k, _vel(rng, base))
            for t, d, k in hits
        ]
    return notes, line


def arp_notes(
    rng: np.random.Generator,
    chords: list[tuple[float, float, list[int]]],
    bpm: float,
    humanize_s: float,
) -> tuple[list[Note], str]:
    """An arpeggio over the chords' voicings, one or two octaves up, 8ths or 16ths."""
    beat = 60.0 / bpm
    per_beat = int(rng.choice([2, 4]))
    octaves = int(rng.integers(1, 3))
    direction = str(rng.choice(["up", "down", "updown", "random"]))
    base = float(rng.uniform(55, 100))
    center = float(rng.uniform(58, 68))
    notes: list[Note] = []
    prev: list[int] | None = None
    for start, length, pcs in chords:
        prev = voicing(pcs, rng, prev, center, "close")
        seq = [m + 12 * o for o in range(octaves) for m in prev if m + 12 * o <= 96] or prev
        if direction == "down":
            seq = seq[::-1]
        elif direction == "updown" and len(seq) > 2:
            seq = seq + seq[-2:0:-1]
        step = beat / per_beat
        for e in range(int(round(length / step))):
            key = seq[int(rng.integers(len(seq)))] if direction == "random" else seq[e % len(seq)]
            t = start + e * step + humanize_s * float(rng.standard_normal())
            notes.append(Note(t, 0.9 * step, key, _vel(rng, base)))
    return notes, f"{direction}/{per_beat}"
