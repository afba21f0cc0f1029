"""Test helpers, imported one way (``from tests.helpers import ...``): small signals made in
code (a click track, a chord) and a tiny agent with non-trivial masks."""

from __future__ import annotations

from typing import Any

import numpy as np


def click_track(
    seconds: float, sr: int = 44100, channels: int = 2, bpm: float = 120.0, seed: int = 0
) -> np.ndarray:
    """Decaying noise bursts on every beat (a stand-in for drums): float32 [C, T], peak ~0.5."""
    rng = np.random.default_rng(seed)
    t = int(round(seconds * sr))
    out = np.zeros((channels, t), np.float32)
    step = int(sr * 60.0 / bpm)
    n = min(int(0.08 * sr), t)
    burst = (rng.standard_normal(n) * np.exp(-np.arange(n) / (0.015 * sr))).astype(np.float32)
    for start in range(0, t, step):
        seg = burst[: t - start]
        out[:, start : start + seg.size] += 0.5 * seg
    return out


def chord(seconds: float, sr: int = 44100, channels: int = 2, root_hz: float = 220.0) -> np.ndarray:
    """A sustained major triad with a few harmonics (a stand-in for harmony): float32 [C, T]."""
    t = np.arange(int(round(seconds * sr))) / sr
    sig = np.zeros_like(t)
    for ratio in (1.0, 1.25, 1.5):
        for h in range(1, 5):
            sig += np.sin(2 * np.pi * root_hz * ratio * h * t) / (h * 4.0)
    sig = 0.3 * sig / np.abs(sig).max()
    return np.repeat(sig[None].astype(np.float32), channels, axis=0)


def make_tiny_agent(seed: int = 0) -> Any:
    """A ``tiny`` ``CreativeAgent`` whose output layer is randomised, so masks vary in time
    and frequency (a freshly initialised core outputs constant masks). Every weight is a
    function of ``seed`` alone (not of the global random state other tests leave behind).
    torch is imported here, so host tests that only need signals stay torch-free."""
    import torch

    from model import AgentConfig, CreativeAgent

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        agent = CreativeAgent(AgentConfig.preset("tiny"))
    with torch.no_grad():
        agent.core.out.weight.copy_(0.5 * torch.randn(agent.core.out.weight.shape, generator=gen))
    return agent.eval()
