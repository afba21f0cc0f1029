"""Mixing a rendered clip: a small stereo room, stereo width, channel count and the clip's
loudness (RMS in dBFS, peak at most ``PEAK_CEILING``)."""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from training.data.synth_config import PEAK_CEILING, SynthConfig
from training.data.synth_dsp import butter_sos, draw_uniform, sosfilt32


def add_room(rng: np.random.Generator, x: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """x [2, T] plus a small room: the mid signal convolved with two decorrelated,
    exponentially decaying, low-passed noise responses (RT60 drawn from
    ``reverb_seconds_range``), mixed at ``reverb_mix_range`` (wet RMS / dry RMS)."""
    sr, t = cfg.sample_rate, x.shape[-1]
    rt60 = draw_uniform(rng, cfg.reverb_seconds_range)
    n = max(int(min(rt60, 1.5) * sr), 16)
    predelay = int(rng.uniform(0.002, 0.015) * sr)
    ir = rng.standard_normal((2, n), dtype=np.float32) * np.exp(-6.9 * np.arange(n) / (rt60 * sr))
    ir = sosfilt32(butter_sos("lowpass", float(rng.uniform(3000, 8000)), sr), ir)
    ir[:, :predelay] = 0.0
    size = scipy.fft.next_fast_len(t + n, real=True)
    mid = scipy.fft.rfft(x.mean(axis=0), size)
    wet = scipy.fft.irfft(mid[None] * scipy.fft.rfft(ir, size, axis=-1), size, axis=-1)[:, :t]
    dry_rms, wet_rms = float(np.sqrt(np.mean(x**2))), float(np.sqrt(np.mean(wet**2)))
    if wet_rms <= 0.0 or dry_rms <= 0.0:
        return x
    gain = draw_uniform(rng, cfg.reverb_mix_range) * dry_rms / wet_rms
    return (x + gain * wet).astype(np.float32)


def master_clip(rng: np.random.Generator, x: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """Stereo width (side gain), channel count, then the clip's RMS level in dBFS, turned
    down if its peak would pass :data:`PEAK_CEILING`: float32 [C, T]."""
    mid, side = (
        0.5 * (x[0] + x[1]),
        0.5 * (x[0] - x[1]) * np.float32(draw_uniform(rng, cfg.width_range)),
    )
    y = np.stack([mid + side, mid - side]) if cfg.channels == 2 else mid[None]
    rms = float(np.sqrt(np.mean(y**2)))
    level = 10.0 ** (draw_uniform(rng, cfg.gain_db_range) / 20.0)
    if rms > 0.0:
        y = y * np.float32(level / rms)
    peak = float(np.abs(y).max())
    if peak > PEAK_CEILING:
        y = y * np.float32(PEAK_CEILING / peak)
    return np.ascontiguousarray(y, dtype=np.float32)


def rms_db(x: np.ndarray) -> float:
    """RMS over all samples, dBFS (-inf for silence), to 0.01 dB."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return round(20.0 * math.log10(rms), 2) if rms > 0 else -math.inf
