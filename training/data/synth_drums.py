"""The INPUT clips: one drum kit's one-shots, a 16-step groove with fills, swing and
humanised timing, rendered to float32 [2, T] before room and level."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from training.data.synth_config import SynthConfig
from training.data.synth_dsp import (
    butter_sos,
    decay_env,
    draw_uniform,
    pan_gains,
    pick_one,
    place_shot,
    sosfilt32,
    sweep_tone,
    white_noise,
)
from training.data.synth_tables import DRUM_LEVELS, KITS, STYLES, TOM_GROOVES, Kit


def _jitter(rng: np.random.Generator) -> float:
    """A per-clip detuning factor of a voice."""
    return float(rng.uniform(0.87, 1.15))


def _kick(rng: np.random.Generator, kit: Kit, sr: int) -> np.ndarray:
    """Pitch sweep plus an attack click."""
    body = sweep_tone(
        sr,
        kit.kick_hz[0] * _jitter(rng),
        kit.kick_hz[1] * _jitter(rng),
        float(rng.uniform(0.02, 0.05)),
        draw_uniform(rng, kit.kick_decay_s),
    )
    nc = min(int(0.01 * sr), body.size)
    click = sosfilt32(butter_sos("highpass", 1500.0, sr), white_noise(rng, nc)) * decay_env(
        nc, sr, 0.002
    )
    body[:nc] += kit.click * click
    return body


def _snare(rng: np.random.Generator, kit: Kit, sr: int) -> np.ndarray:
    """Snare (tone + noise), clap (three bursts + tail) or rim (short tone)."""
    decay = draw_uniform(rng, kit.snare_decay_s)
    n = int(min(5 * decay, 1.0) * sr)
    if kit.snare == "clap":
        centre = draw_uniform(rng, kit.snare_hz)
        noise = sosfilt32(
            butter_sos("bandpass", (0.6 * centre, 1.8 * centre), sr), white_noise(rng, n)
        )
        env = np.zeros(n, np.float32)
        for k in range(3):
            start = int(k * 0.011 * sr)
            env[start:] += decay_env(n - start, sr, 0.004)
        start = int(0.03 * sr)
        env[start:] += 0.7 * decay_env(n - start, sr, decay)
        snare = noise * env
    elif kit.snare == "rim":
        f = draw_uniform(rng, kit.snare_hz)
        t = np.arange(n, dtype=np.float32) / np.float32(sr)
        tone = np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 2.7 * f * t)
        snare = (tone * decay_env(n, sr, decay)).astype(np.float32)
        snare[: int(0.002 * sr)] += white_noise(rng, int(0.002 * sr))
    else:
        f = draw_uniform(rng, kit.snare_hz)
        tone = sweep_tone(sr, 1.4 * f, f, 0.01, 0.05)[:n]
        noise = sosfilt32(butter_sos("highpass", 1200.0, sr), white_noise(rng, n)) * decay_env(
            n, sr, decay
        )
        snare = np.zeros(n, np.float32)
        snare[: tone.size] += 0.8 * tone
        snare += 1.2 * noise
    return snare


def _hats(rng: np.random.Generator, kit: Kit, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed and open hat from one source (noise, or six detuned squares for "metal")."""
    n_open = int(min(6 * 4 * kit.hat_decay_s[1], 1.0) * sr)
    if kit.hat == "metal":
        base = float(rng.uniform(0.9, 1.2))
        t = np.arange(n_open, dtype=np.float32) / np.float32(sr)
        src = sum(
            np.sign(np.sin(2 * np.pi * base * f * t))
            for f in (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)
        )
        src = np.asarray(src, np.float32) / 6.0 + 0.3 * white_noise(rng, n_open)
    else:
        src = white_noise(rng, n_open)
    src = sosfilt32(butter_sos("highpass", kit.hat_hp_hz * _jitter(rng), sr), src)
    closed = draw_uniform(rng, kit.hat_decay_s)
    return src * decay_env(n_open, sr, closed), src * decay_env(n_open, sr, 4 * closed)


def _toms(rng: np.random.Generator, kit: Kit, sr: int) -> list[np.ndarray]:
    """Three toms, pitches spaced geometrically from low to high."""
    toms: list[np.ndarray] = []
    decay = draw_uniform(rng, kit.tom_decay_s)
    for f in np.geomspace(kit.tom_hz[0], kit.tom_hz[1], 3) * _jitter(rng):
        tom = sweep_tone(sr, 1.5 * f, f, 0.03, decay)
        nn = min(int(0.02 * sr), tom.size)
        tom[:nn] += 0.2 * white_noise(rng, nn) * decay_env(nn, sr, 0.004)
        toms.append(tom)
    return toms


def _shaker(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Band-passed noise with a short swell."""
    n = int(0.12 * sr)
    env = decay_env(n, sr, float(rng.uniform(0.02, 0.04)))
    env[: int(0.008 * sr)] *= np.linspace(0, 1, int(0.008 * sr), dtype=np.float32)
    return sosfilt32(butter_sos("bandpass", (4000.0, 9000.0), sr), white_noise(rng, n)) * env


def drum_shots(rng: np.random.Generator, kit: Kit, sr: int) -> dict[str, np.ndarray]:
    """One-shot samples of one clip's kit: mono float32 arrays, peak about 1 (the random
    draws in a fixed order: kick, snare, hats, toms, shaker, drive)."""
    shots: dict[str, np.ndarray] = {"kick": _kick(rng, kit, sr), "snare": _snare(rng, kit, sr)}
    shots["hat"], shots["open_hat"] = _hats(rng, kit, sr)
    for i, tom in enumerate(_toms(rng, kit, sr)):
        shots[f"tom{i}"] = tom
    shots["shaker"] = _shaker(rng, sr)
    drive = draw_uniform(rng, kit.drive)
    for name, shot in shots.items():
        shot = shot / max(float(np.abs(shot).max()), 1e-9)
        if drive > 1.0:
            shot = np.tanh(drive * shot) / math.tanh(drive)
        shots[name] = shot.astype(np.float32)
    return shots


def drum_hits(
    rng: np.random.Generator, cfg: SynthConfig, kit: Kit, n_steps: int
) -> tuple[str, list[tuple[str, int, float]]]:
    """The groove: its style name and (voice, step, velocity) for 16th steps
    0..n_steps-1, velocity in (0, 1]."""
    style_name = pick_one(rng, cfg.styles)
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


def render_drums(rng: np.random.Generator, cfg: SynthConfig) -> tuple[np.ndarray, dict[str, Any]]:
    """The INPUT clip before room and level, float32 [2, T], and what was drawn."""
    sr, t = cfg.sample_rate, cfg.n_samples
    kit_name = pick_one(rng, cfg.kits)
    kit = KITS[kit_name]
    shots = drum_shots(rng, kit, sr)
    bpm = draw_uniform(rng, cfg.bpm_range)
    step = 60.0 / bpm / 4.0 * sr  # samples per 16th
    swing = float(rng.uniform(0.0, cfg.swing_max)) if rng.random() < cfg.swing_prob else 0.0
    sigma = float(rng.uniform(0.0, cfg.humanize_ms)) * 1e-3 * sr  # timing jitter std, samples
    first = int(rng.integers(16)) if rng.random() < 0.5 else 0  # clips may start mid-bar
    n_steps = first + int(math.ceil(t / step)) + 1
    style, hits = drum_hits(rng, cfg, kit, n_steps)
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
    gains = {
        v: pan_gains(float(pans[v])) * DRUM_LEVELS[v] * float(rng.uniform(0.8, 1.2)) for v in pans
    }
    out = np.zeros((2, t), np.float32)
    steps = np.array([h[1] for h in hits], np.float64)
    pos = (steps - first + swing * (steps % 2)) * step + rng.normal(0.0, 1.0, steps.size) * sigma
    vel = np.clip(rng.normal(1.0, cfg.velocity_jitter, steps.size), 0.5, 1.3)
    for (voice, _, v), p, jv in zip(hits, np.round(pos).astype(np.int64), vel, strict=True):
        place_shot(out, shots[voice], int(p), gains[voice] * np.float32(v * jv))
    if kit.lowpass_hz is not None:
        out = sosfilt32(butter_sos("lowpass", kit.lowpass_hz, sr), out)
    info = dict(kit=kit_name, style=style, bpm=round(bpm, 2), swing=round(swing, 3), hits=len(hits))
    return out, info
