"""Building blocks of the generator, plain numpy/scipy: random draws, panning, Butterworth
filters, envelopes, placing one-shots, and the band-limited wavetable / FM oscillators.
Audio is float32, ``sr`` in Hz, times in s."""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
import scipy.signal

TABLE_BITS = 11
TABLE_SIZE = 1 << TABLE_BITS  # wavetable length (samples per cycle) of the oscillators


def draw_uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def pick_one(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def pan_gains(pan: float) -> np.ndarray:
    """Constant-power gains [2] for pan in [-1 (left), 1 (right)]."""
    theta = (pan + 1.0) * math.pi / 4.0
    return np.array([math.cos(theta), math.sin(theta)], np.float32)


def butter_sos(kind: str, hz: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    """Butterworth sections (cut-offs in Hz), clamped below Nyquist; a band whose low edge
    would pass its clamped high edge keeps a ratio of 0.7."""
    nyq = 0.45 * sr
    if isinstance(hz, tuple):
        high = min(hz[1], nyq)
        wn: float | tuple[float, float] = (min(hz[0], 0.7 * high), high)
    else:
        wn = min(hz, nyq)
    return np.asarray(scipy.signal.butter(order, wn, btype=kind, fs=sr, output="sos"))


def sosfilt32(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(scipy.signal.sosfilt(sos, x), dtype=np.float32)


def place_shot(out: np.ndarray, shot: np.ndarray, pos: int, gains: np.ndarray) -> None:
    """out[2, T] += gains[2] ⊗ shot[n] starting at sample ``pos`` (may be < 0 or run past T)."""
    t = out.shape[-1]
    a, b = max(pos, 0), min(pos + shot.shape[-1], t)
    if a < b:
        out[:, a:b] += gains[:, None] * shot[..., a - pos : b - pos]


def midi_hz(m: float) -> float:
    return 440.0 * 2.0 ** ((m - 69.0) / 12.0)


def decay_env(n: int, sr: int, tau_s: float) -> np.ndarray:
    return np.exp(-np.arange(n, dtype=np.float32) / np.float32(tau_s * sr))


def sweep_tone(sr: int, f0: float, f1: float, tau_pitch_s: float, decay_s: float) -> np.ndarray:
    """Sine whose pitch falls from f0 to f1 Hz (time constant tau_pitch_s), decaying."""
    n = int(min(5.0 * decay_s, 1.5) * sr)
    t = np.arange(n, dtype=np.float32) / np.float32(sr)
    freq = f1 + (f0 - f1) * np.exp(-t / np.float32(tau_pitch_s))
    phase = np.cumsum(freq, dtype=np.float64) * (2 * np.pi / sr)
    return (np.sin(phase).astype(np.float32) * decay_env(n, sr, decay_s)).astype(np.float32)


def white_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n, dtype=np.float32)


MAX_HARMONICS = 200


def wavetable(amps: dict[int, float]) -> np.ndarray:
    """One cycle of Σ_h amps[h]·sin(2π h x), peak-normalised: float32 [TABLE_SIZE + 1]
    (the last sample repeats the first, for interpolation)."""
    spec = np.zeros(TABLE_SIZE // 2 + 1, np.complex128)
    for h, a in amps.items():
        spec[h] = -0.5j * a * TABLE_SIZE
    wave = scipy.fft.irfft(spec, TABLE_SIZE)
    wave = np.concatenate([wave, wave[:1]]) / max(float(np.abs(wave).max()), 1e-12)
    return wave.astype(np.float32)


def harmonic_series(
    slope: float, top_hz: float, f_hz: float, odd: bool = False
) -> dict[int, float]:
    """Harmonics h^-slope up to ``top_hz`` Hz (band limit for a note of f_hz Hz)."""
    n = max(1, min(int(top_hz // f_hz), MAX_HARMONICS))
    return {h: h**-slope for h in range(1, n + 1) if not odd or h % 2 == 1}


FIXED_ONE = 2**32  # one cycle in the oscillators' fixed-point phase (uint32 wraps per cycle)


def phase_fixed(f_hz: float, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Phase of a constant-frequency oscillator as uint32 [n], 2**32 per cycle: exact and
    wrapping for free (the frequency is rounded to sr / 2**32 Hz, ~1e-5 Hz)."""
    inc = np.uint32(round(f_hz / sr * FIXED_ONE) % FIXED_ONE)
    u = np.arange(n, dtype=np.uint32)
    u *= inc
    u += np.uint32(int(phase0 % 1.0 * FIXED_ONE) % FIXED_ONE)
    return u


def osc_phase(f_hz: float, n: int, sr: int, phase0: float = 0.0) -> np.ndarray:
    """Phase of a constant-frequency oscillator, radians in [0, 2π): float32 [n]."""
    return phase_fixed(f_hz, n, sr, phase0).astype(np.float32) * np.float32(2 * np.pi / FIXED_ONE)


def wavetable_osc(
    table: np.ndarray, f_hz: float | np.ndarray, n: int, sr: int, phase0: float = 0.0
) -> np.ndarray:
    """Wavetable oscillator with linear interpolation: float32 [n]. ``f_hz``: Hz, a constant
    or float32 [n] per sample; ``phase0``: start phase in cycles."""
    if isinstance(f_hz, np.ndarray):
        cycles = np.cumsum(f_hz, dtype=np.float64) / sr + phase0
        cycles -= np.floor(cycles)
        u = (cycles * FIXED_ONE).astype(np.uint64).astype(np.uint32)
    else:
        u = phase_fixed(f_hz, n, sr, phase0)
    shift = 32 - TABLE_BITS
    i = (u >> shift).astype(np.intp)
    frac = (u & np.uint32((1 << shift) - 1)).astype(np.float32) * np.float32(2.0**-shift)
    lo = table[i]
    out: np.ndarray = lo + frac * (table[i + 1] - lo)
    return out


def fm_osc(f_hz: float, ratio: float, index: np.ndarray, n: int, sr: int) -> np.ndarray:
    """Two-operator FM, sin(2π f t + I(t)·sin(2π r f t)) with integer ratio r: float32 [n]."""
    w = osc_phase(f_hz, n, sr)
    return np.sin(w + index * np.sin(np.float32(ratio) * w)).astype(np.float32)


def adsr_env(n: int, sr: int, attack_s: float, release_s: float, gate: int) -> np.ndarray:
    """Linear attack, sustain 1 while the key is held (``gate`` samples), then an
    exponential release (-35 dB after ``release_s``): float32 [n]."""
    env = np.ones(n, np.float32)
    na = min(max(int(attack_s * sr), 1), n)
    env[:na] = np.linspace(0.0, 1.0, na, dtype=np.float32)
    if gate < n:
        env[gate:] *= decay_env(n - gate, sr, release_s / 4.0)
    return env
