"""Randomness of a training process: the per-step draws (each clip's gain, the balance
knob), seeding, and the state a checkpoint keeps so that a resumed run draws what the
uninterrupted one would have drawn."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from training.config import TrainConfig


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def random_gain(x: torch.Tensor, gain_db: float) -> torch.Tensor:
    """Each clip of x [B, C, T] times 10^(g/20), g ~ U[-gain_db, +gain_db] dB (CPU RNG)."""
    if gain_db <= 0:
        return x
    g = (torch.rand(x.shape[0]) * 2.0 - 1.0) * gain_db
    return x * (10.0 ** (g / 20.0)).to(x.device, x.dtype)[:, None, None]


def draw_balance(cfg: TrainConfig, batch: int, device: torch.device) -> torch.Tensor:
    """Balance knob per item, Tensor[B]: ``balance`` or U[balance_min, balance_max]."""
    if cfg.balance_mode == "uniform":
        b = cfg.balance_min + torch.rand(batch) * (cfg.balance_max - cfg.balance_min)
    else:
        b = torch.full((batch,), cfg.balance)
    return b.to(device)
