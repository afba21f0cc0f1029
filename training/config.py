"""Training configuration: one dataclass, flags with the seed's names, saved in every
checkpoint (``train_config``). Presets live in ``training/presets.py``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class TrainConfig:
    # --- loss weights (the seed's flag names first) ---
    loss_weight_input: float = 0.0  # reconstruction of the input (MSE on waveforms)
    loss_weight_target: float = 1.0  # reconstruction of the target
    balance_loss_weight: float = 5.0  # (mean M_in - b)² + (mean M_tg - (1-b))²
    novelty_weight: float = 0.0  # hinged similarity to either source in a latent space
    corr_weight: float = 0.0  # envelope-copying penalty
    gan_weight: float = 0.0  # adversarial loss (multi-scale STFT discriminator)
    mask_reg_weight: float = 0.0
    temporal_weight: float = 0.0
    energy_balance_weight: float = 0.0  # output energy share of the input vs the balance knob
    rhythm_weight: float = 0.0  # onset-envelope agreement with the input
    harmony_weight: float = 0.0  # chroma agreement with the target
    feature_matching_weight: float = 0.0  # discriminator feature matching (with gan)
    recon_loss: str = "mse"  # "mse" (the seed) or "mrstft" (multi-resolution STFT)
    gan_warmup_epochs: int = 1  # adversarial terms switch on after this many epochs
    # --- balance control during training ---
    balance_mode: str = "fixed"  # "fixed" (always `balance`) or "uniform" (U[balance_min, balance_max])
    balance: float = 0.5
    balance_min: float = 0.2
    balance_max: float = 0.8
    auto_balance: bool = False  # raise loss_weight_input when a red flag fires
    # --- optimisation ---
    epochs: int = 10
    steps_per_epoch: int = 50
    batch_size: int = 8
    lr: float = 2e-3
    grad_clip: float = 1.0
    seed: int = 0
    # --- model and data ---
    model_size: str = "small"
    data: str = "synthetic"  # "synthetic" or a folder with input/ and target/
    crop_seconds: float = 2.0
    gain_db: float = 12.0  # each clip's gain drawn from U[-gain_db, +gain_db]
    train_pairs: int = 512  # size of the synthetic training pool
    valid_pairs: int = 16  # fixed validation pairs (held-out generator settings)
    valid_seconds: float = 4.0
    out: str = "runs/train"
    preset: str = ""  # the preset these values started from ("" = none)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**d)
