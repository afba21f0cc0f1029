"""The generator's tables: drum kits and grooves, keys, modes, progressions, timbres and the
patterns of stabs and bass lines. Data only (frequencies in Hz, times in s, levels linear)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kit:
    """Timbre ranges of one drum-kit family (each clip draws its values inside them).

    kick_hz: (start, end) of the kick's pitch sweep, Hz; kick_decay_s: amplitude decay
    time constant range, s; click: level of the kick's attack click (0..1).
    snare: "snare" (tone + noise), "clap" (three noise bursts + tail) or "rim" (short
    tone); snare_hz: tone (snare, rim) or band centre (clap) range, Hz; snare_decay_s: s.
    hat: "noise" (high-passed noise) or "metal" (six detuned square waves, 808 style);
    hat_decay_s: closed-hat decay range, s; hat_hp_hz: high-pass cut-off, Hz.
    tom_hz: (low tom, high tom) pitch, Hz; tom_decay_s: s; tom_groove: probability that a
    clip plays a tom/conga part beside the fills. shaker: probability of a shaker part.
    drive: tanh saturation range (1 = clean); lowpass_hz: whole-kit low-pass (None = off).
    """

    kick_hz: tuple[float, float]
    kick_decay_s: tuple[float, float]
    click: float
    snare: str
    snare_hz: tuple[float, float]
    snare_decay_s: tuple[float, float]
    hat: str
    hat_decay_s: tuple[float, float]
    hat_hp_hz: float
    tom_hz: tuple[float, float]
    tom_decay_s: tuple[float, float]
    tom_groove: float
    shaker: float
    drive: tuple[float, float]
    lowpass_hz: float | None = None


KITS: dict[str, Kit] = {
    # training kits
    "acoustic": Kit((95, 50), (0.25, 0.4), 0.35, "snare", (185, 230), (0.08, 0.15),
                    "noise", (0.03, 0.07), 6500, (90, 220), (0.25, 0.45), 0.15, 0.3, (1.0, 1.3)),
    "electro_808": Kit((110, 45), (0.5, 0.9), 0.1, "clap", (1100, 1700), (0.1, 0.2),
                       "metal", (0.02, 0.05), 8000, (70, 160), (0.4, 0.7), 0.15, 0.2, (1.0, 1.6)),
    "tight_909": Kit((170, 55), (0.18, 0.3), 0.6, "snare", (200, 260), (0.06, 0.12),
                     "noise", (0.015, 0.04), 9000, (110, 260), (0.15, 0.3), 0.1, 0.15, (1.3, 2.2)),
    "lofi": Kit((90, 50), (0.2, 0.35), 0.2, "snare", (170, 210), (0.1, 0.18),
                "noise", (0.03, 0.06), 5000, (90, 200), (0.2, 0.35), 0.2, 0.4, (2.0, 3.5), 4500.0),
    # held out for validation
    "industrial": Kit((220, 40), (0.3, 0.5), 0.8, "clap", (1500, 2500), (0.2, 0.35),
                      "metal", (0.03, 0.07), 6000, (60, 140), (0.3, 0.6), 0.2, 0.1, (2.0, 3.5)),
    "hand_perc": Kit((75, 60), (0.12, 0.2), 0.1, "rim", (380, 520), (0.03, 0.06),
                     "noise", (0.01, 0.025), 10000, (180, 420), (0.15, 0.3), 0.9, 1.0, (1.0, 1.2)),
}  # fmt: skip

# 16-step grooves: x = hit, g = ghost (quiet), o = open hat, . = rest
STYLES: dict[str, dict[str, str]] = {
    "rock": {"kick": "x.....x.x.......", "snare": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
    "four_floor": {"kick": "x...x...x...x...", "snare": "....x.......x...", "hat": "x.o.x.o.x.o.x.o."},
    "breakbeat": {"kick": "x.x.......x.....", "snare": "....x..g.g..x..g", "hat": "x.x.x.x.x.x.x.x."},
    "hiphop": {"kick": "x......x..x.....", "snare": "....x.......x...", "hat": "x.x.x.x.x.x.x.x."},
    "halftime": {"kick": "x.....x...x.....", "snare": "........x.......", "hat": "x.x.x.x.x.x.x.x."},
    "latin": {"kick": "x..x....x..x....", "snare": "..x..x....x..x..", "hat": "x.xxx.xxx.xxx.xx"},
}  # fmt: skip
TOM_GROOVES = ("......x.....x.x.", "x..x..x...x.x...", "..x...x...x..xx.", "...x..x....x.x..")

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MODES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
# progressions as scale degrees (0 = tonic), per mode
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 4, 3), (5, 3, 0, 4), (0, 2, 3, 4),
              (0, 3, 0, 4), (3, 4, 2, 5)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (0, 2, 3, 4)),
}  # fmt: skip

# timbre family -> roles it may play ("chords", "bass", "arp")
TIMBRES: dict[str, tuple[str, ...]] = {
    # training timbres
    "pad": ("chords",),
    "organ": ("chords", "bass"),
    "pluck": ("chords", "arp", "bass"),
    "fm_bell": ("chords", "arp"),
    "bass": ("bass",),
    # held out for validation
    "epiano": ("chords", "arp"),
    "strings": ("chords",),
    "marimba": ("chords", "arp"),
    "square_bass": ("bass",),
}
PERCUSSIVE = frozenset({"pluck", "fm_bell", "epiano", "marimba"})

DRUM_LEVELS = {
    "kick": 1.0,
    "snare": 0.8,
    "hat": 0.35,
    "open_hat": 0.3,
    "tom0": 0.7,
    "tom1": 0.65,
    "tom2": 0.6,
    "shaker": 0.25,
}


STABS = ("x.x.x.x.", "x..x..x.", "x.xx.x.x", ".x.x.x.x", "x...x.x.")
BASS_LINES = ("whole", "quarters", "root_fifth", "octaves", "syncopated")
