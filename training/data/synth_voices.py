"""The tonal timbres: one :class:`Voice` per layer of a clip (pads, strings, organ, plucks,
basses, FM bells, electric piano, marimba)."""

from __future__ import annotations

import numpy as np

from training.data.synth_dsp import (
    adsr_env,
    decay_env,
    fm_osc,
    harmonic_series,
    osc_phase,
    wavetable,
    wavetable_osc,
)
from training.data.synth_tables import PERCUSSIVE


class Voice:
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
            self._tables[key] = wavetable(harmonic_series(slope, self.top, f, odd))
        return self._tables[key]

    def note(self, f: float, n: int, gate: int) -> np.ndarray:
        sr, name = self.sr, self.name
        env = adsr_env(n, sr, self.attack, self.release, gate)
        if self.decay:
            env *= decay_env(n, sr, self.decay)
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
            return (
                np.stack(
                    [wavetable_osc(tab, f_l, n, sr, ph), wavetable_osc(tab, f_r, n, sr, 1 - ph)]
                )
                * env
            )
        if name == "organ":
            key = (-1.0, f, False)
            if key not in self._tables:
                self._tables[key] = wavetable(
                    {h: a for h, a in self.drawbars.items() if h * f < self.top} or {1: 1.0}
                )
            return wavetable_osc(self._tables[key], f, n, sr, ph) * env
        if name in ("pluck", "bass", "square_bass"):  # bright -> dull crossfade (a filter sweep)
            odd = name == "square_bass"
            bright = wavetable_osc(self._tab(1.0, f, odd), f, n, sr, ph)
            dull = wavetable_osc(self._tab(3.0, f, odd), f, n, sr, ph)
            out = dull + decay_env(n, sr, self.bright_s) * (bright - dull)
            if name != "pluck":  # a sub sine under the bass
                out += 0.5 * np.sin(osc_phase(f, n, sr, ph))
            return out * env
        if name in ("fm_bell", "epiano"):
            ratio = self.ratio if name == "fm_bell" else 1.0
            index = self.index * decay_env(n, sr, 0.3 if name == "fm_bell" else 0.5)
            out = fm_osc(f, ratio, index, n, sr)
            if name == "epiano" and 14 * f < self.top:  # the tine's short metallic partial
                out += 0.15 * np.sin(osc_phase(14 * f, n, sr)) * decay_env(n, sr, 0.02)
            return out * env
        if name == "marimba":  # fundamental + a fast-decaying double octave
            w = osc_phase(f, n, sr, ph)
            out = np.sin(w)
            if 4 * f < self.top:
                out += 0.6 * np.sin(4 * w) * decay_env(n, sr, 0.05)
            return out * env
        raise ValueError(f"unknown timbre {name!r}")
