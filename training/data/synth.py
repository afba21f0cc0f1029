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

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal
import torch

PEAK_CEILING = 0.99  # largest |sample| a generated clip may have
TABLE_BITS = 11
TABLE_SIZE = 1 << TABLE_BITS  # wavetable length (samples per cycle) of the oscillators


# ----------------------------------------------------------------------------- drum kits


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

# ----------------------------------------------------------------------------- harmony

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


@dataclass(frozen=True)
class SynthConfig:
    """Settings of the generator. The defaults span everything it can make (all kits and
    timbres, 70–180 BPM); :func:`train_config` / :func:`validation_config` split them.

    sample_rate: Hz. channels: 1 (a mono downmix) or 2. seconds: clip length, s.
    bpm_range: tempo range, BPM (drums and harmony draw their tempi independently).
    kits: drum-kit families (keys of :data:`KITS`). timbres: harmonic timbre families
    (keys of :data:`TIMBRES`). gain_db_range: per-clip RMS level, dBFS (a clip whose peak
    would exceed :data:`PEAK_CEILING` at that level is turned down, so loud draws of
    peaky clips land below their level).
    styles: drum grooves (keys of :data:`STYLES`). swing_max: largest delay of the off 16ths,
    as a fraction of a 16th; swing_prob: probability that a clip swings. humanize_ms: upper
    bound of the per-clip timing jitter std, ms; velocity_jitter: relative velocity std.
    fill_prob: probability of a fill at the end of each 2-bar phrase. modes: "major",
    "minor". bass_prob, arp_prob: probability of a bass line / an arpeggio layer.
    reverb_mix_range: room level, RMS of the wet signal relative to the dry one;
    reverb_seconds_range: room RT60, s. width_range: side-signal gain (1 = as rendered).
    """

    sample_rate: int = 44100
    channels: int = 2
    seconds: float = 4.0
    bpm_range: tuple[float, float] = (70.0, 180.0)
    kits: tuple[str, ...] = tuple(KITS)
    timbres: tuple[str, ...] = tuple(TIMBRES)
    gain_db_range: tuple[float, float] = (-20.0, -6.0)
    styles: tuple[str, ...] = tuple(STYLES)
    swing_max: float = 0.3
    swing_prob: float = 0.5
    humanize_ms: float = 8.0
    velocity_jitter: float = 0.12
    fill_prob: float = 0.35
    modes: tuple[str, ...] = tuple(MODES)
    bass_prob: float = 0.8
    arp_prob: float = 0.5
    reverb_mix_range: tuple[float, float] = (0.05, 0.3)
    reverb_seconds_range: tuple[float, float] = (0.2, 0.8)
    width_range: tuple[float, float] = (0.6, 1.3)

    def __post_init__(self) -> None:
        if self.sample_rate < 8000:
            raise ValueError(f"SynthConfig.sample_rate must be >= 8000 Hz, got {self.sample_rate}")
        if self.channels not in (1, 2):
            raise ValueError(f"SynthConfig.channels must be 1 or 2, got {self.channels}")
        if not self.seconds > 0 or round(self.seconds * self.sample_rate) < 1:
            raise ValueError(
                f"SynthConfig.seconds must give at least one sample, got {self.seconds}"
            )
        for name in (
            "bpm_range",
            "gain_db_range",
            "reverb_mix_range",
            "reverb_seconds_range",
            "width_range",
        ):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ValueError(f"SynthConfig.{name} must be (low, high), got {(lo, hi)}")
        if self.bpm_range[0] <= 0 or self.reverb_seconds_range[0] <= 0:
            raise ValueError("SynthConfig.bpm_range and reverb_seconds_range must be > 0")
        if self.gain_db_range[1] > 0:
            raise ValueError(
                f"SynthConfig.gain_db_range must be <= 0 dBFS, got {self.gain_db_range}"
            )
        for name, known in (
            ("kits", KITS),
            ("timbres", TIMBRES),
            ("styles", STYLES),
            ("modes", MODES),
        ):
            values = getattr(self, name)
            bad = [v for v in values if v not in known]
            if not values or bad:
                raise ValueError(
                    f"SynthConfig.{name} must be a non-empty subset of {sorted(known)}, got {values}"
                )
        if not any("chords" in TIMBRES[t] for t in self.timbres):
            raise ValueError(f"SynthConfig.timbres needs a chord timbre, got {self.timbres}")

    @property
    def n_samples(self) -> int:
        """Samples per channel, ``round(seconds * sample_rate)``."""
        return int(round(self.seconds * self.sample_rate))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


TRAIN_KITS = ("acoustic", "electro_808", "tight_909", "lofi")
TRAIN_TIMBRES = ("pad", "organ", "pluck", "fm_bell", "bass")
TRAIN_BPM = (70.0, 150.0)
VALID_KITS = ("industrial", "hand_perc")
VALID_TIMBRES = ("epiano", "strings", "marimba", "square_bass")
VALID_BPM = (155.0, 180.0)


def train_config(**overrides: Any) -> SynthConfig:
    """The training distribution: kits acoustic/electro_808/tight_909/lofi, timbres
    pad/organ/pluck/fm_bell/bass, 70–150 BPM (``overrides`` replace any field)."""
    base: dict[str, Any] = dict(kits=TRAIN_KITS, timbres=TRAIN_TIMBRES, bpm_range=TRAIN_BPM)
    return SynthConfig(**{**base, **overrides})


def validation_config(**overrides: Any) -> SynthConfig:
    """Held-out settings: kits industrial/hand_perc, timbres epiano/strings/marimba/
    square_bass and 155–180 BPM, none of which :func:`train_config` uses."""
    base: dict[str, Any] = dict(kits=VALID_KITS, timbres=VALID_TIMBRES, bpm_range=VALID_BPM)
    return SynthConfig(**{**base, **overrides})


# ----------------------------------------------------------------------------- helpers


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def _pan(pan: float) -> np.ndarray:
    """Constant-power gains [2] for pan in [-1 (left), 1 (right)]."""
    theta = (pan + 1.0) * math.pi / 4.0
    return np.array([math.cos(theta), math.sin(theta)], np.float32)


def _sos(kind: str, hz: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    """Butterworth sections (cut-offs in Hz), clamped below Nyquist; a band whose low edge
    would pass its clamped high edge keeps a ratio of 0.7."""
    nyq = 0.45 * sr
    if isinstance(hz, tuple):
        high = min(hz[1], nyq)
        wn: float | tuple[float, float] = (min(hz[0], 0.7 * high), high)
    else:
        wn = min(hz, nyq)
    return np.asarray(scipy.signal.butter(order, wn, btype=kind, fs=sr, output="sos"))


def _filt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(scipy.signal.sosfilt(sos, x), dtype=np.float32)


def _place(out: np.ndarray, shot: np.ndarray, pos: int, gains: np.ndarray) -> None:
    """out[2, T] += gains[2] ⊗ shot[n] starting at sample ``pos`` (may be < 0 or run past T)."""
    t = out.shape[-1]
    a, b = max(pos, 0), min(pos + shot.shape[-1], t)
    if a < b:
        out[:, a:b] += gains[:, None] * shot[..., a - pos : b - pos]


def _midi_hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69.0) / 12.0)


# ----------------------------------------------------------------------------- drum voices


def _decay(n: int, sr: int, tau_s: float) -> np.ndarray:
    return np.exp(-np.arange(n, dtype=np.float32) / np.float32(tau_s * sr))


def _sweep_tone(sr: int, f0: float, f1: float, tau_pitch_s: float, decay_s: float) -> np.ndarray:
    """Sine whose pitch falls from f0 to f1 Hz (time constant tau_pitch_s), decaying."""
    n = int(min(5.0 * decay_s, 1.5) * sr)
    t = np.arange(n, dtype=np.float32) / np.float32(sr)
    freq = f1 + (f0 - f1) * np.exp(-t / np.float32(tau_pitch_s))
    phase = np.cumsum(freq, dtype=np.float64) * (2 * np.pi / sr)
    return (np.sin(phase).astype(np.float32) * _decay(n, sr, decay_s)).astype(np.float32)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n, dtype=np.float32)


def _drum_shots(rng: np.random.Generator, kit: Kit, sr: int) -> dict[str, np.ndarray]:
    """One-shot samples of one clip's kit: mono float32 arrays, peak about 1."""

    def jitter() -> float:  # per-clip detuning of a voice
        return float(rng.uniform(0.87, 1.15))

    shots: dict[str, np.ndarray] = {}
    # kick: pitch sweep + click
    body = _sweep_tone(
        sr,
        kit.kick_hz[0] * jitter(),
        kit.kick_hz[1] * jitter(),
        float(rng.uniform(0.02, 0.05)),
        _u(rng, kit.kick_decay_s),
    )
    nc = min(int(0.01 * sr), body.size)
    click = _filt(_sos("highpass", 1500.0, sr), _noise(rng, nc)) * _decay(nc, sr, 0.002)
    body[:nc] += kit.click * click
    shots["kick"] = body
    # snare / clap / rim
    decay = _u(rng, kit.snare_decay_s)
    n = int(min(5 * decay, 1.0) * sr)
    if kit.snare == "clap":
        centre = _u(rng, kit.snare_hz)
        noise = _filt(_sos("bandpass", (0.6 * centre, 1.8 * centre), sr), _noise(rng, n))
        env = np.zeros(n, np.float32)
        for k in range(3):
            start = int(k * 0.011 * sr)
            env[start:] += _decay(n - start, sr, 0.004)
        start = int(0.03 * sr)
        env[start:] += 0.7 * _decay(n - start, sr, decay)
        snare = noise * env
    elif kit.snare == "rim":
        f = _u(rng, kit.snare_hz)
        t = np.arange(n, dtype=np.float32) / np.float32(sr)
        tone = np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 2.7 * f * t)
        snare = (tone * _decay(n, sr, decay)).astype(np.float32)
        snare[: int(0.002 * sr)] += _noise(rng, int(0.002 * sr))
    else:
        f = _u(rng, kit.snare_hz)
        tone = _sweep_tone(sr, 1.4 * f, f, 0.01, 0.05)[:n]
        noise = _filt(_sos("highpass", 1200.0, sr), _noise(rng, n)) * _decay(n, sr, decay)
        snare = np.zeros(n, np.float32)
        snare[: tone.size] += 0.8 * tone
        snare += 1.2 * noise
    shots["snare"] = snare
    # hats: closed and open share one source
    n_open = int(min(6 * 4 * kit.hat_decay_s[1], 1.0) * sr)
    if kit.hat == "metal":
        base = float(rng.uniform(0.9, 1.2))
        t = np.arange(n_open, dtype=np.float32) / np.float32(sr)
        src = sum(
            np.sign(np.sin(2 * np.pi * base * f * t))
            for f in (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)
        )
        src = np.asarray(src, np.float32) / 6.0 + 0.3 * _noise(rng, n_open)
    else:
        src = _noise(rng, n_open)
    src = _filt(_sos("highpass", kit.hat_hp_hz * jitter(), sr), src)
    closed = _u(rng, kit.hat_decay_s)
    shots["hat"] = src * _decay(n_open, sr, closed)
    shots["open_hat"] = src * _decay(n_open, sr, 4 * closed)
    # toms: three pitches between low and high
    decay = _u(rng, kit.tom_decay_s)
    for i, f in enumerate(np.geomspace(kit.tom_hz[0], kit.tom_hz[1], 3) * jitter()):
        tom = _sweep_tone(sr, 1.5 * f, f, 0.03, decay)
        nn = min(int(0.02 * sr), tom.size)
        tom[:nn] += 0.2 * _noise(rng, nn) * _decay(nn, sr, 0.004)
        shots[f"tom{i}"] = tom
    # shaker: band-passed noise, short swell
    n = int(0.12 * sr)
    env = _decay(n, sr, float(rng.uniform(0.02, 0.04)))
    env[: int(0.008 * sr)] *= np.linspace(0, 1, int(0.008 * sr), dtype=np.float32)
    shots["shaker"] = _filt(_sos("bandpass", (4000.0, 9000.0), sr), _noise(rng, n)) * env
    drive = _u(rng, kit.drive)
    for name, shot in shots.items():
        shot = shot / max(float(np.abs(shot).max()), 1e-9)
        if drive > 1.0:
            shot = np.tanh(drive * shot) / math.tanh(drive)
        shots[name] = shot.astype(np.float32)
    return shots


def _drum_hits(
    rng: np.random.Generator, cfg: SynthConfig, kit: Kit, n_steps: int
) -> tuple[str, list[tuple[str, int, float]]]:
    """The groove: its style name and (voice, step, velocity) for 16th steps
    0..n_steps-1, velocity in (0, 1]."""
    style_name = _pick(rng, cfg.styles)
    style = STYLES[style_name]
    hat16 = rng.random() < 0.35
    ghost_p = float(rng.uniform(0.0, 0.15))
    kick_extra = float(rng.uniform(0.0, 0.12))
    toms = TOM_GROOVES[int(rng.integers(len(TOM_GROOVES)))] if rng.random() < kit.tom_groove else ""
    shaker = rng.random() < kit.shaker
    phrase = 32  # 2 bars; a fill may take the last beat of each
    n_phrases = n_steps // phrase + 1
    fill_on = rng.random(n_phrases) < cfg.fill_prob
    fill_toms = rng.random(n_phrases) < 0.5
    hits: list[tuple[str, int, float]] = []
    for s in range(n_steps):
        j, p, k = s % 16, s // phrase, s % phrase - (phrase - 4)
        accent = 1.0 if j % 4 == 0 else 0.85
        if k >= 0 and fill_on[p]:  # fill: toms high to low, or a rising snare roll
            if fill_toms[p]:
                hits.append((f"tom{2 - min(k * 3 // 4, 2)}", s, 0.8 + 0.05 * k))
            else:
                hits.append(("snare", s, 0.5 + 0.15 * k))
            if k == 0:
                hits.append(("kick", s, 0.9))
            continue
        c = style["kick"][j]
        if c == "x" or (j % 2 == 0 and rng.random() < kick_extra):
            hits.append(("kick", s, accent if c == "x" else 0.7))
        c = style["snare"][j]
        if c == "x":
            hits.append(("snare", s, 1.0))
        elif c == "g" or (j % 2 == 1 and rng.random() < ghost_p):
            hits.append(("snare", s, 0.3))
        c = style["hat"][j]
        if c == "o":
            hits.append(("open_hat", s, 0.7))
        elif c == "x" or (hat16 and j % 2 == 1):
            hits.append(("hat", s, 0.75 * accent if j % 2 == 0 else 0.5))
        if toms and toms[j] == "x":
            hits.append((f"tom{int(rng.integers(3))}", s, 0.75))
        if shaker:
            hits.append(("shaker", s, 0.55 if j % 2 == 0 else 0.35))
    return style_name, hits


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


def _render_drums(rng: np.random.Generator, cfg: SynthConfig) -> tuple[np.ndarray, dict[str, Any]]:
    """The INPUT clip before room and level, float32 [2, T], and what was drawn."""
    sr, t = cfg.sample_rate, cfg.n_samples
    kit_name = _pick(rng, cfg.kits)
    kit = KITS[kit_name]
    shots = _drum_shots(rng, kit, sr)
    bpm = _u(rng, cfg.bpm_range)
    step = 60.0 / bpm / 4.0 * sr  # samples per 16th
    swing = float(rng.uniform(0.0, cfg.swing_max)) if rng.random() < cfg.swing_prob else 0.0
    sigma = float(rng.uniform(0.0, cfg.humanize_ms)) * 1e-3 * sr  # timing jitter std, samples
    first = int(rng.integers(16)) if rng.random() < 0.5 else 0  # clips may start mid-bar
    n_steps = first + int(math.ceil(t / step)) + 1
    style, hits = _drum_hits(rng, cfg, kit, n_steps)
    spread = float(rng.uniform(0.3, 0.8))
    hat_pan = float(rng.uniform(-0.5, 0.5))
    pans = {
        "kick": rng.uniform(-0.1, 0.1),
        "snare": rng.uniform(-0.15, 0.15),
        "hat": hat_pan,
        "open_hat": hat_pan,
        "tom0": spread,
        "tom1": 0.0,
        "tom2": -spread,
        "shaker": rng.uniform(-0.6, 0.6),
    }
    gains = {v: _pan(float(pans[v])) * DRUM_LEVELS[v] * float(rng.uniform(0.8, 1.2)) for v in pans}
    out = np.zeros((2, t), np.float32)
    steps = np.array([h[1] for h in hits], np.float64)
    pos = (steps - first + swing * (steps % 2)) * step + rng.normal(0.0, 1.0, steps.size) * sigma
    vel = np.clip(rng.normal(1.0, cfg.velocity_jitter, steps.size), 0.5, 1.3)
    for (voice, _, v), p, jv in zip(hits, np.round(pos).astype(np.int64), vel, strict=True):
        _place(out, shots[voice], int(p), gains[voice] * np.float32(v * jv))
    if kit.lowpass_hz is not None:
        out = _filt(_sos("lowpass", kit.lowpass_hz, sr), out)
    info = dict(kit=kit_name, style=style, bpm=round(bpm, 2), swing=round(swing, 3), hits=len(hits))
    return out, info


# ----------------------------------------------------------------------------- tonal voices

MAX_HARMONICS = 200


def _table(amps: dict[int, float]) -> np.ndarray:
    """One cycle of Σ_h amps[h]·sin(2π h x), peak-normalised: float32 [TABLE_SIZE + 1]
    (the last sample repeats the first, for interpolation)."""
    spec = np.zeros(TABLE_SIZE // 2 + 1, np.complex128)
    for h, a in amps.items():
        spec[h] = -0.5j * a * TABLE_SIZE
    wave = scipy.fft.irfft(spec, TABLE_SIZE)
    wave = np.concatenate([wave, wave[:1]]) / max(float(np.abs(wave).max()), 1e-12)
    return wave.astype(np.float32)


def _series(slope: float, top_hz: float, f_hz: float, odd: bool = False) -> dict[int, float]:
    """Harmonics h^-slope up to ``top_hz`` Hz (band limit for a note of f_hz Hz)."""
    n = max(1, min(int(top_hz // f_hz), MAX_HARMONICS))
    return {h: h**-slope for h in range(1, n + 1) if not odd or h % 2 == 1}


FIXED_ONE = 2**32  # one cycle in the oscillators' fixed-point phase (uint32 wraps per cycle)


def _phase_fixed(f_hz: float, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Phase of a constant-frequency oscillator as uint32 [n], 2**32 per cycle: exact and
    wrapping for free (the frequency is rounded to sr / 2**32 Hz, ~1e-5 Hz)."""
    inc = np.uint32(round(f_hz / sr * FIXED_ONE) % FIXED_ONE)
    u = np.arange(n, dtype=np.uint32)
    u *= inc
    u += np.uint32(int(phase0 % 1.0 * FIXED_ONE) % FIXED_ONE)
    return u


def _phase(f_hz: float, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Phase of a constant-frequency oscillator, radians in [0, 2π): float32 [n]."""
    return _phase_fixed(f_hz, n, sr, phase0).astype(np.float32) * np.float32(2 * np.pi / FIXED_ONE)


def _osc(
    table: np.ndarray, f_hz: float | np.ndarray, n: int, sr: int, phase0: float = 0.0
) -> np.ndarray:
    """Wavetable oscillator with linear interpolation: float32 [n]. ``f_hz``: Hz, a constant
    or float32 [n] per sample; ``phase0``: start phase in cycles."""
    if isinstance(f_hz, np.ndarray):
        cycles = np.cumsum(f_hz, dtype=np.float64) / sr + phase0
        cycles -= np.floor(cycles)
        u = (cycles * FIXED_ONE).astype(np.uint64).astype(np.uint32)
    else:
        u = _phase_fixed(f_hz, n, sr, phase0)
    shift = 32 - TABLE_BITS
    i = (u >> shift).astype(np.intp)
    frac = (u & np.uint32((1 << shift) - 1)).astype(np.float32) * np.float32(2.0**-shift)
    lo = table[i]
    out: np.ndarray = lo + frac * (table[i + 1] - lo)
    return out


def _fm(f_hz: float, ratio: float, index: np.ndarray, n: int, sr: int) -> np.ndarray:
    """Two-operator FM, sin(2π f t + I(t)·sin(2π r f t)) with integer ratio r: float32 [n]."""
    w = _phase(f_hz, n, sr)
    return np.sin(w + index * np.sin(np.float32(ratio) * w)).astype(np.float32)


def _adsr(n: int, sr: int, attack_s: float, release_s: float, gate: int) -> np.ndarray:
    """Linear attack, sustain 1 while the key is held (``gate`` samples), then an
    exponential release (-35 dB after ``release_s``): float32 [n]."""
    env = np.ones(n, np.float32)
    na = min(max(int(attack_s * sr), 1), n)
    env[:na] = np.linspace(0.0, 1.0, na, dtype=np.float32)
    if gate < n:
        env[gate:] *= _decay(n - gate, sr, release_s / 4.0)
    return env


class _Voice:
    """One timbre family as one layer of one clip plays it (its parameters drawn once).

    ``note(f_hz, n, gate)`` -> float32 [n], or [2, n] for the stereo voices (pad, strings):
    a note of pitch f_hz Hz, key held ``gate`` samples, rendered for ``n`` samples.
    ``tail_s`` is how long a note sounds after its key is released, s.
    """

    def __init__(self, name: str, rng: np.random.Generator, sr: int) -> None:
        self.name, self.rng, self.sr = name, rng, sr
        self.top = 0.45 * sr  # band limit of the wavetables, Hz
        self._tables: dict[tuple[float, float, bool], np.ndarray] = {}

        def u(lo: float, hi: float) -> float:
            return float(rng.uniform(lo, hi))

        self.attack = {"pad": u(0.08, 0.4), "strings": u(0.15, 0.5), "organ": 0.01}.get(name, 0.003)
        self.release = {"pad": u(0.2, 0.5), "strings": u(0.2, 0.4)}.get(name, 0.08)
        decays = {
            "pluck": (0.15, 0.7),
            "fm_bell": (0.6, 2.0),
            "epiano": (0.8, 2.0),
            "marimba": (0.2, 0.5),
            "bass": (1.0, 3.0),
            "square_bass": (1.0, 3.0),
        }
        self.decay = u(*decays[name]) if name in decays else 0.0  # amplitude decay, s
        self.tail_s = max(self.release, 0.5 * self.decay if name in PERCUSSIVE else 0.0)
        self.bright_s = u(0.03, 0.25)  # filter-envelope time constant, s
        self.detune = u(0.003, 0.008)  # frequency ratio offset, about 5–14 cents
        self.ratio = float(rng.choice([2.0, 3.0, 4.0]))  # FM bell modulator ratio
        self.index = u(0.8, 2.5)  # FM index at the attack
        self.drawbars = {
            1: 1.0,
            2: u(0.2, 1.0),
            3: u(0.0, 0.6),
            4: u(0.0, 0.6),
            6: u(0.0, 0.3),
            8: u(0.0, 0.3),
        }
        self.vibrato = (u(4.5, 6.0), u(0.002, 0.005))  # Hz, depth (frequency ratio)

    def _tab(self, slope: float, f: float, odd: bool = False) -> np.ndarray:
        key = (slope, f, odd)
        if key not in self._tables:
            self._tables[key] = _table(_series(slope, self.top, f, odd))
        return self._tables[key]

    def note(self, f: float, n: int, gate: int) -> np.ndarray:
        sr, name = self.sr, self.name
        env = _adsr(n, sr, self.attack, self.release, gate)
        if self.decay:
            env *= _decay(n, sr, self.decay)
        ph = float(self.rng.random())
        if name in ("pad", "strings"):  # two detuned oscillators, one per side
            tab = self._tab(1.3 if name == "pad" else 1.0, f * (1 + self.detune))
            f_l: float | np.ndarray = f * (1 - self.detune)
            f_r: float | np.ndarray = f * (1 + self.detune)
            if name == "strings":
                rate, depth = self.vibrato
                t = np.arange(n, dtype=np.float32) / np.float32(sr)
                wobble = 1.0 + depth * np.sin(2 * np.pi * rate * t + 2 * np.pi * ph)
                f_l, f_r = f_l * wobble, f_r * wobble[::-1]
            return np.stack([_osc(tab, f_l, n, sr, ph), _osc(tab, f_r, n, sr, 1 - ph)]) * env
        if name == "organ":
            key = (-1.0, f, False)
            if key not in self._tables:
                self._tables[key] = _table(
                    {h: a for h, a in self.drawbars.items() if h * f < self.top} or {1: 1.0}
                )
            return _osc(self._tables[key], f, n, sr, ph) * env
        if name in ("pluck", "bass", "square_bass"):  # bright -> dull crossfade (a filter sweep)
            odd = name == "square_bass"
            bright = _osc(self._tab(1.0, f, odd), f, n, sr, ph)
            dull = _osc(self._tab(3.0, f, odd), f, n, sr, ph)
            out = dull + _decay(n, sr, self.bright_s) * (bright - dull)
            if name != "pluck":  # a sub sine under the bass
                out += 0.5 * np.sin(_phase(f, n, sr, ph))
            return out * env
        if name in ("fm_bell", "epiano"):
            ratio = self.ratio if name == "fm_bell" else 1.0
            index = self.index * _decay(n, sr, 0.3 if name == "fm_bell" else 0.5)
            out = _fm(f, ratio, index, n, sr)
            if name == "epiano" and 14 * f < self.top:  # the tine's short metallic partial
                out += 0.15 * np.sin(_phase(14 * f, n, sr)) * _decay(n, sr, 0.02)
            return out * env
        if name == "marimba":  # fundamental + a fast-decaying double octave
            w = _phase(f, n, sr, ph)
            out = np.sin(w)
            if 4 * f < self.top:
                out += 0.6 * np.sin(4 * w) * _decay(n, sr, 0.05)
            return out * env
        raise ValueError(f"unknown timbre {name!r}")


# ----------------------------------------------------------------------------- harmony


def _chord_pcs(key: int, mode: str, degree: int, seventh: bool, raise_7th: bool) -> list[int]:
    """Pitch classes (0 = C) of the diatonic triad or seventh chord on ``degree``, root first;
    ``raise_7th``: the V chord of a minor key takes the harmonic-minor leading tone (major V)."""
    scale = list(MODES[mode])
    if raise_7th and mode == "minor" and degree == 4:
        scale[6] = 11
    tones = [scale[(degree + 2 * i) % 7] for i in range(4 if seventh else 3)]
    return [(key + pc) % 12 for pc in tones]


def _voicing(
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


STABS = ("x.x.x.x.", "x..x..x.", "x.xx.x.x", ".x.x.x.x", "x...x.x.")
BASS_LINES = ("whole", "quarters", "root_fifth", "octaves", "syncopated")


def _render_harmony(
    rng: np.random.Generator, cfg: SynthConfig
) -> tuple[np.ndarray, dict[str, Any]]:
    """The TARGET clip before room and level, float32 [2, T], and what was drawn."""
    sr, t = cfg.sample_rate, cfg.n_samples
    bpm = _u(rng, cfg.bpm_range)
    beat = 60.0 / bpm * sr  # samples per quarter note
    mode = _pick(rng, cfg.modes)
    key = int(rng.integers(12))
    prog = PROGRESSIONS[mode][int(rng.integers(len(PROGRESSIONS[mode])))]
    fits = [b for b in (2, 4, 8) if t / (b * beat) >= 2.0]  # at least two chords per clip
    span = int(rng.choice(fits)) if fits else 2  # beats per chord
    first = int(rng.integers(len(prog)))
    seventh, raise_7th, spread = rng.random(3) < (0.35, 0.5, 0.3)
    chords: list[tuple[list[int], list[int]]] = []  # (pitch classes, voicing)
    prev: list[int] | None = None
    for c in range(int(math.ceil(t / (span * beat)))):
        pcs = _chord_pcs(key, mode, prog[(first + c) % len(prog)], bool(seventh), bool(raise_7th))
        prev = _voicing(pcs, prev, rng, bool(spread))
        chords.append((pcs, prev))

    def options(role: str) -> list[str]:
        return [name for name in cfg.timbres if role in TIMBRES[name]]

    out = np.zeros((2, t), np.float32)

    def layer(
        voice: _Voice, notes: list[tuple[float, float, float]], level: float, pan: float
    ) -> None:
        """notes: (start, held, midi) with start/held in samples."""
        buf = np.zeros((2, t), np.float32)
        tail = int(1.5 * voice.tail_s * sr)  # release reaches about -50 dB
        for start, held, midi in notes:
            s = int(round(start))
            n = min(int(held) + tail, t - s)
            if n > 0:
                _place(buf, voice.note(_midi_hz(midi), n, int(held)), s, _pan(pan))
        rms = float(np.sqrt(np.mean(buf**2)))
        if rms > 0:
            out[...] += buf * np.float32(level / rms)

    # chords: sustained, or stabbed on an 8th-note pattern
    name = _pick(rng, options("chords"))
    voice = _Voice(name, rng, sr)
    stabs = name not in ("pad", "strings") and rng.random() < 0.5
    pattern = _pick(rng, STABS)
    notes: list[tuple[float, float, float]] = []
    for c, (_, voicing) in enumerate(chords):
        t0 = c * span * beat
        if stabs:
            for e in range(2 * span):
                if pattern[e % 8] == "x":
                    notes += [(t0 + e * beat / 2, 0.4 * beat, m) for m in voicing]
        else:
            notes += [(t0, span * beat, m) for m in voicing]
    layer(voice, notes, 1.0, float(rng.uniform(-0.2, 0.2)))
    info: dict[str, Any] = dict(
        bpm=round(bpm, 2),
        key=NOTE_NAMES[key],
        mode=mode,
        beats_per_chord=span,
        chords=[" ".join(NOTE_NAMES[pc] for pc in pcs) for pcs, _ in chords],
        chord_timbre=name,
        stabs=bool(stabs),
        bass=None,
        arp=None,
    )
    # bass line on the chord roots
    if options("bass") and rng.random() < cfg.bass_prob:
        voice = _Voice(_pick(rng, options("bass")), rng, sr)
        line = _pick(rng, BASS_LINES)
        info["bass"] = f"{voice.name}/{line}"
        notes = []
        for c, (pcs, _) in enumerate(chords):
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
        layer(voice, notes, 0.8 * float(rng.uniform(0.7, 1.2)), 0.0)
    # arpeggio over the voicing, one or two octaves up
    if options("arp") and rng.random() < cfg.arp_prob:
        voice = _Voice(_pick(rng, options("arp")), rng, sr)
        per_beat = int(rng.choice([2, 4]))
        octaves = int(rng.integers(1, 3))
        direction = _pick(rng, ("up", "down", "updown"))
        info["arp"] = f"{voice.name}/{direction}/{per_beat}"
        notes = []
        for c, (_, voicing) in enumerate(chords):
            seq = [m + 12 * o for o in range(1, octaves + 1) for m in voicing]
            seq = [m for m in seq if m <= 96] or voicing
            if direction == "down":
                seq = seq[::-1]
            elif direction == "updown" and len(seq) > 2:
                seq = seq + seq[-2:0:-1]
            step = beat / per_beat
            for e in range(span * per_beat):
                notes.append((c * span * beat + e * step, 0.9 * step, seq[e % len(seq)]))
        layer(voice, notes, 0.5 * float(rng.uniform(0.7, 1.2)), float(rng.uniform(-0.6, 0.6)))
    return out, info


# ----------------------------------------------------------------------------- room, level


def _room(rng: np.random.Generator, x: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """x [2, T] plus a small room: the mid signal convolved with two decorrelated,
    exponentially decaying, low-passed noise responses (RT60 drawn from
    ``reverb_seconds_range``), mixed at ``reverb_mix_range`` (wet RMS / dry RMS)."""
    sr, t = cfg.sample_rate, x.shape[-1]
    rt60 = _u(rng, cfg.reverb_seconds_range)
    n = max(int(min(rt60, 1.5) * sr), 16)
    predelay = int(rng.uniform(0.002, 0.015) * sr)
    ir = rng.standard_normal((2, n), dtype=np.float32) * np.exp(-6.9 * np.arange(n) / (rt60 * sr))
    ir = _filt(_sos("lowpass", float(rng.uniform(3000, 8000)), sr), ir)
    ir[:, :predelay] = 0.0
    size = scipy.fft.next_fast_len(t + n, real=True)
    mid = scipy.fft.rfft(x.mean(axis=0), size)
    wet = scipy.fft.irfft(mid[None] * scipy.fft.rfft(ir, size, axis=-1), size, axis=-1)[:, :t]
    dry_rms, wet_rms = float(np.sqrt(np.mean(x**2))), float(np.sqrt(np.mean(wet**2)))
    if wet_rms <= 0.0 or dry_rms <= 0.0:
        return x
    gain = _u(rng, cfg.reverb_mix_range) * dry_rms / wet_rms
    return (x + gain * wet).astype(np.float32)


def _master(rng: np.random.Generator, x: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Stereo width (side gain), channel count, then the clip's RMS level in dBFS, turned
    down if its peak would pass :data:`PEAK_CEILING`: float32 [C, T]."""
    mid, side = 0.5 * (x[0] + x[1]), 0.5 * (x[0] - x[1]) * np.float32(_u(rng, cfg.width_range))
    y = np.stack([mid + side, mid - side]) if cfg.channels == 2 else mid[None]
    rms = float(np.sqrt(np.mean(y**2)))
    level = 10.0 ** (_u(rng, cfg.gain_db_range) / 20.0)
    if rms > 0.0:
        y = y * np.float32(level / rms)
    peak = float(np.abs(y).max())
    if peak > PEAK_CEILING:
        y = y * np.float32(PEAK_CEILING / peak)
    return np.ascontiguousarray(y, dtype=np.float32)


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
    drums, info_in = _render_drums(rng_in, cfg)
    x = _master(rng_in, _room(rng_in, drums, cfg), cfg)
    harmony, info_tg = _render_harmony(rng_tg, cfg)
    y = _master(rng_tg, _room(rng_tg, harmony, cfg), cfg)
    assert x.shape == y.shape == (cfg.channels, cfg.n_samples)
    info_in["rms_dbfs"], info_tg["rms_dbfs"] = _rms_db(x), _rms_db(y)
    return x, y, {"input": info_in, "target": info_tg}


def _rms_db(x: np.ndarray) -> float:
    """RMS over all samples, dBFS (-inf for silence), to 0.01 dB."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return round(20.0 * math.log10(rms), 2) if rms > 0 else -math.inf


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
