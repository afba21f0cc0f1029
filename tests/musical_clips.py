"""Drum loops and chord loops made in code, with a known tempo, downbeat and key.

Every clip starts its first bar (beat 1) at ``lead_s`` seconds and is float32 [C, T].
Drum patterns are 16 sixteenth-note steps per 4/4 bar: ``K`` kick, ``S`` snare, ``H`` closed
hat, ``O`` open hat, ``.`` rest; letters may stack with ``+`` in a step list.
"""

from __future__ import annotations

import numpy as np

SR = 44100

# Several patterns so the tracker is not tuned to one groove. Kick on beat 1 in each.
DRUM_PATTERNS: dict[str, list[str]] = {
    "rock": [
        "K+H",
        "H",
        "H",
        "H",
        "S+H",
        "H",
        "H",
        "H",
        "K+H",
        "H",
        "K+H",
        "H",
        "S+H",
        "H",
        "H",
        "H",
    ],
    "four_floor": ["K", "H", "O", "H", "K", "H", "O", "H", "K", "H", "O", "H", "K", "H", "O", "H"],
    "breakbeat": [
        "K+H",
        ".",
        "H",
        ".",
        "S+H",
        ".",
        "H",
        "K",
        ".",
        "H",
        "K+H",
        ".",
        "S+H",
        ".",
        "H",
        ".",
    ],
    "halftime": [
        "K+H",
        ".",
        "H",
        ".",
        "H",
        ".",
        "H",
        ".",
        "S+H",
        ".",
        "H",
        ".",
        "H",
        "K",
        "H",
        ".",
    ],
}

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor


def _kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    freq = 50.0 + 100.0 * np.exp(-t / 0.03)  # pitch sweep 150 -> 50 Hz
    phase = 2 * np.pi * np.cumsum(freq) / sr
    click = rng.standard_normal(t.size) * np.exp(-t / 0.002) * 0.3
    return (np.sin(phase) * np.exp(-t / 0.12) + click) * 0.9


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    body = np.sin(2 * np.pi * 190.0 * t) * np.exp(-t / 0.04) * 0.4
    noise = rng.standard_normal(t.size) * np.exp(-t / 0.06) * 0.5
    return body + noise


def _hat(sr: int, rng: np.random.Generator, decay: float) -> np.ndarray:
    t = np.arange(int(5 * decay * sr)) / sr
    noise = np.diff(rng.standard_normal(t.size + 1))  # high-passed noise
    return noise * np.exp(-t / decay) * 0.15


def drum_loop(
    bpm: float,
    pattern: str = "rock",
    bars: int = 4,
    sr: int = SR,
    lead_s: float = 0.25,
    channels: int = 2,
    seed: int = 0,
) -> np.ndarray:
    """A drum loop at ``bpm`` from :data:`DRUM_PATTERNS`: float32 [C, T], peak 0.8."""
    rng = np.random.default_rng(seed)
    step = 60.0 / bpm / 4
    sounds = {"K": _kick(sr, rng), "S": _snare(sr, rng), "H": _hat(sr, rng, 0.01)}
    sounds["O"] = _hat(sr, rng, 0.06)
    total = int((lead_s + bars * 16 * step + 0.5) * sr)
    out = np.zeros(total)
    for bar in range(bars):
        for i, hits in enumerate(DRUM_PATTERNS[pattern]):
            start = int(round((lead_s + (bar * 16 + i) * step) * sr))
            for hit in hits.split("+"):
                if hit == ".":
                    continue
                s = sounds[hit][: total - start]
                out[start : start + s.size] += s
    out = 0.8 * out / np.abs(out).max()
    return np.repeat(out[None].astype(np.float32), channels, axis=0)


def triad(degree: int, tonic: int, minor: bool) -> list[int]:
    """Pitch classes (C = 0) of the diatonic triad on scale ``degree`` (1..7)."""
    scale = MINOR_SCALE if minor else MAJOR_SCALE
    return [(tonic + scale[(degree - 1 + k) % 7]) % 12 for k in (0, 2, 4)]


def chord_loop(
    bpm: float,
    tonic: int,
    minor: bool,
    degrees: tuple[int, ...] = (1, 4, 5, 1),
    sr: int = SR,
    lead_s: float = 0.25,
    channels: int = 2,
) -> np.ndarray:
    """One diatonic triad per 4/4 bar, struck on every beat (accent on beat 1), additive
    synthesis (5 harmonics, 1/h amplitudes) with a bass note an octave below: float32 [C, T]."""
    beat = 60.0 / bpm
    total = int((lead_s + len(degrees) * 4 * beat + 0.5) * sr)
    out = np.zeros(total)
    n = int(beat * sr)
    t = np.arange(n) / sr
    env = np.exp(-t / (0.45 * beat)) * np.minimum(t / 0.004, 1.0)
    for bar, degree in enumerate(degrees):
        pcs = triad(degree, tonic, minor)
        freqs = [261.63 * 2 ** (pc / 12) for pc in pcs] + [65.41 * 2 ** (pcs[0] / 12)]
        tone = sum(
            np.sin(2 * np.pi * f * h * t) / h for f in freqs for h in range(1, 6) if f * h < 8000
        )
        for b in range(4):
            start = int(round((lead_s + (bar * 4 + b) * beat) * sr))
            seg = (tone * env * (1.0 if b == 0 else 0.6))[: total - start]
            out[start : start + seg.size] += seg
    out = 0.8 * out / np.abs(out).max()
    return np.repeat(out[None].astype(np.float32), channels, axis=0)


def key_name(tonic: int, minor: bool) -> str:
    return f"{NOTE_NAMES[tonic]} {'minor' if minor else 'major'}"


# The clips of docs/musical.md: name -> (maker, args); sample rate SR, 4 bars each.
DEMO_CLIPS = {
    "drums_90_rock.wav": (drum_loop, (90, "rock")),
    "drums_100_breakbeat.wav": (drum_loop, (100, "breakbeat")),
    "drums_128_four_floor.wav": (drum_loop, (128, "four_floor")),
    "drums_140_halftime.wav": (drum_loop, (140, "halftime")),
    "chords_76_C_major.wav": (chord_loop, (76, 0, False)),
    "chords_84_F#_minor.wav": (chord_loop, (84, 6, True)),
    "chords_112_A_minor.wav": (chord_loop, (112, 9, True)),
    "chords_150_D_major.wav": (chord_loop, (150, 2, False)),
}


def write_clip(path: str, audio: np.ndarray, sr: int = SR) -> None:
    """Write float32 [C, T] as a 32-bit float WAV, atomically (plugin_host.atomic)."""
    from typing import BinaryIO, cast

    from pedalboard.io import AudioFile

    from plugin_host.atomic import AtomicFile

    with (
        AtomicFile(path) as af,
        AudioFile(
            cast(BinaryIO, af.file), "w", sr, audio.shape[0], bit_depth=32, format="wav"
        ) as f,
    ):
        f.write(audio)


if __name__ == "__main__":  # python tests/musical_clips.py DIR: write DEMO_CLIPS there
    import sys
    from pathlib import Path

    folder = Path(sys.argv[1])
    for name, (make, args) in DEMO_CLIPS.items():
        write_clip(str(folder / name), make(*args))  # type: ignore[operator]
