"""Drum grooves as note lists (GM drum map, MIDI channel 10 or an AVL kit).

A groove is 16 steps (16th notes) per bar per lane; lane characters: ``X`` accent, ``x``
hit, ``g`` ghost (quiet), ``o`` open hi-hat (hat lane only), ``.`` rest. Each clip varies
its groove: kick/snare/hat sounds, 8th or 16th hats or ride, extra kicks and ghost notes,
a crash on phrase starts, fills (tom runs or snare rolls) at the end of 2- or 4-bar phrases,
swing, humanised timing (ms) and velocity (velocity layers of the sampled kits).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from training.data.soundfont.sequencer import Note

# GM drum notes
KICK, SIDE_STICK, SNARE, CLAP, SNARE_2 = 36, 37, 38, 39, 40
HAT_CLOSED, HAT_PEDAL, HAT_OPEN, CRASH, RIDE, RIDE_BELL = 42, 44, 46, 49, 51, 53
TOMS = (50, 48, 47, 45, 43, 41)  # high to low
PERCUSSION = (54, 56, 69, 70)  # tambourine, cowbell, cabasa, maracas (GM kits only)

GROOVES: dict[str, dict[str, str]] = {
    "rock": {"kick": "X.....x.X.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "rock16": {"kick": "X.....x.X.x.....", "snare": "....X.......X...", "hat": "xgxgxgxgxgxgxgxg"},
    "four_floor": {"kick": "X...X...X...X...", "snare": "....X.......X...", "hat": "x.o.x.o.x.o.x.o."},
    "disco": {"kick": "X...X...X...X...", "snare": "....X.......X...", "hat": "xxoxxxoxxxoxxxox"},
    "funk": {"kick": "X.x...x...X..x..", "snare": "....X..g.g..X..g", "hat": "xxxxxxxxxxxxxxxx"},
    "breakbeat": {"kick": "X.x.......x.....", "snare": "....X..g.g..X..g", "hat": "x.x.x.x.x.x.x.x."},
    "hiphop": {"kick": "X......x..x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "halftime": {"kick": "X.....x...x.....", "snare": "........X.......", "hat": "x.x.x.x.x.x.x.x."},
    "trap": {"kick": "X......X..X.....", "snare": "........X.......", "hat": "xxxxxxxxxxxxxxxx"},
    "bossa": {"kick": "X..xX..xX..xX..x", "snare": "x..x..x...x..x..", "hat": "xxxxxxxxxxxxxxxx"},
    "one_drop": {"kick": "........X.......", "snare": "........X.......", "hat": "..x...x...x...x."},
    "punk": {"kick": "X.x.X.x.X.x.X.x.", "snare": "..X...X...X...X.", "hat": "x.x.x.x.x.x.x.x."},
    "motown": {"kick": "X.x...x.X.x...x.", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
    "latin": {"kick": "X..x....X..x....", "snare": "..x..x....x..x..", "hat": "x.xxx.xxx.xxx.xx"},
}  # fmt: skip
SIDE_STICK_GROOVES = frozenset({"bossa", "one_drop"})  # snare lane played as a cross-stick
VELOCITY = {"X": (105, 127), "x": (78, 104), "g": (22, 48), "o": (78, 104)}


def _vel(rng: np.random.Generator, ch: str, scale: float, jitter: float) -> int:
    lo, hi = VELOCITY[ch]
    v = rng.uniform(lo, hi) * scale * (1.0 + jitter * rng.standard_normal())
    return int(np.clip(round(v), 1, 127))


def _vary(rng: np.random.Generator, groove: dict[str, str]) -> dict[str, str]:
    """Per-clip variation of a groove's lanes (extra kicks, ghosts, hat density)."""
    kick, snare, hat = (list(groove[k]) for k in ("kick", "snare", "hat"))
    for s in range(16):
        if kick[s] == "." and snare[s] == "." and rng.random() < 0.06:
            kick[s] = "x"
        if snare[s] == "." and s % 2 == 1 and rng.random() < 0.08:
            snare[s] = "g"
    density = rng.random()
    if density < 0.2:  # 8ths only
        hat = [c if s % 2 == 0 else "." for s, c in enumerate(hat)]
    elif density > 0.85:  # 16ths
        hat = [c if c != "." else "g" for c in hat]
    return {"kick": "".join(kick), "snare": "".join(snare), "hat": "".join(hat)}


def _fill(rng: np.random.Generator, bar_start: float, step: float, scale: float) -> list[Note]:
    """A fill over the last 4 or 8 16ths of the bar starting at ``bar_start`` s: a tom
    run (high to low) or a crescendo snare roll."""
    n = int(rng.choice([4, 4, 8]))
    start = bar_start + (16 - n) * step
    notes: list[Note] = []
    if rng.random() < 0.6:
        toms = list(TOMS[int(rng.integers(0, 2)) :: int(rng.integers(1, 3))])
        for i in range(n):
            key = toms[min(i * len(toms) // n, len(toms) - 1)]
            notes.append(Note(start + i * step, 0.5, key, _vel(rng, "x", scale, 0.1)))
    else:
        for i in range(n):
            v = int(np.clip((40 + 80 * i / max(n - 1, 1)) * scale, 1, 127))
            notes.append(Note(start + i * step, 0.2, SNARE, v))
    return notes


def groove_notes(
    rng: np.random.Generator,
    seconds: float,
    bpm: float,
    gm_kit: bool,
    humanize_ms: float,
    swing: float,
    fill_prob: float,
    grooves: tuple[str, ...] = tuple(GROOVES),
) -> tuple[list[Note], dict[str, Any]]:
    """Notes of a drum groove covering [0, seconds) s (it may start mid-bar), and what was
    drawn. ``gm_kit``: the kit has the GM percussion notes (tambourine ...), AVL kits
    do not. ``swing``: delay of the off 16ths, fraction of a 16th."""
    name = str(grooves[int(rng.integers(len(grooves)))])
    lanes = _vary(rng, GROOVES[name])
    step = 60.0 / bpm / 4.0  # s per 16th
    bar = 16 * step
    phrase = int(rng.choice([2, 4]))  # bars per phrase (fills end phrases)
    offset = float(rng.integers(0, 16 * phrase)) * step  # clip starts mid-phrase
    scale = float(rng.uniform(0.75, 1.05))  # the drummer's dynamics
    jitter_s = float(rng.uniform(0.0, humanize_ms)) / 1000.0
    snare_key = (
        SIDE_STICK if name in SIDE_STICK_GROOVES else int(rng.choice([SNARE, SNARE, SNARE_2, CLAP]))
    )
    hat_key = int(rng.choice([HAT_CLOSED, HAT_CLOSED, HAT_CLOSED, HAT_PEDAL, RIDE, RIDE_BELL]))
    keys = {"kick": KICK, "snare": snare_key, "hat": hat_key}
    perc = int(rng.choice(PERCUSSION)) if gm_kit and rng.random() < 0.3 else None
    notes: list[Note] = []
    first_bar = int(offset // bar)
    n_bars = int(np.ceil((offset + seconds) / bar)) - first_bar
    for b in range(first_bar, first_bar + n_bars):
        t0 = b * bar - offset
        fill_here = b % phrase == phrase - 1 and rng.random() < fill_prob
        fill = _fill(rng, t0, step, scale) if fill_here else []
        fill_from = 16 - len(fill)  # the groove's snare and hats stop for the fill
        if b % phrase == 0 and rng.random() < 0.5:
            notes.append(Note(t0, 2.0, CRASH, _vel(rng, "X", scale, 0.05)))
        for s in range(16):
            t = t0 + s * step + (swing * step if s % 2 == 1 else 0.0)
            for lane, pattern in lanes.items():
                ch = pattern[s]
                if ch == "." or (s >= fill_from and lane != "kick"):
                    continue
                key = HAT_OPEN if ch == "o" else keys[lane]
                if lane == "hat" and s % 4 == 0 and ch == "x":
                    ch = "X" if rng.random() < 0.5 else ch  # accents on the beat
                tt = t + jitter_s * float(rng.standard_normal())
                notes.append(Note(tt, 0.3 if ch != "o" else 0.5, key, _vel(rng, ch, scale, 0.08)))
            if perc is not None and s % 2 == 0:
                notes.append(Note(t, 0.2, perc, _vel(rng, "x" if s % 4 else "g", scale, 0.1)))
        notes += [
            Note(n.start + jitter_s * float(rng.standard_normal()), n.length, n.key, n.velocity)
            for n in fill
        ]
    notes = [n for n in notes if n.start < seconds and n.start > -1.0]
    info = dict(
        groove=name,
        bpm=round(bpm, 2),
        swing=round(swing, 3),
        phrase_bars=phrase,
        snare=snare_key,
        hat=hat_key,
        percussion=perc,
        hits=len(notes),
    )
    return notes, info


# what a kit plays instead of a note it must not play (hats -> ride, clap -> snare ...)
SUBSTITUTES = {HAT_CLOSED: RIDE, HAT_PEDAL: RIDE, HAT_OPEN: RIDE_BELL, 48: 47, CLAP: SNARE}


def without(notes: list[Note], keys: tuple[int, ...]) -> list[Note]:
    """``notes`` with every key in ``keys`` replaced by its :data:`SUBSTITUTES` entry
    (or dropped when it has none or the substitute is in ``keys`` too)."""
    out = []
    for n in notes:
        key = SUBSTITUTES.get(n.key, -1) if n.key in keys else n.key
        if key >= 0 and key not in keys:
            out.append(Note(n.start, n.length, key, n.velocity))
    return out
