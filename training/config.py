"""Training configuration: one dataclass, flags with the seed's names, saved in every
checkpoint (``train_config``). Presets live in ``training/presets.py``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from model.config import SIZES

BALANCE_MODES = ("fixed", "uniform")

T = TypeVar("T")


def option(default: T, help: str) -> T:
    """A config field with its flag help: ``dataclasses.field(default=..., metadata={"help":
    ...})``, typed as its default so that the class reads as plain defaults."""
    return cast(T, dataclasses.field(default=default, metadata={"help": help}))


@dataclass
class TrainConfig:
    """Every option of a training run. Each field's ``metadata["help"]`` is the help text
    of its flag (``creative-agent train --help``)."""

    # --- loss weights (the seed's flag names first) ---
    loss_weight_input: float = option(
        0.0, "weight of the input reconstruction loss (MSE on waveforms)"
    )
    loss_weight_target: float = option(1.0, "weight of the target reconstruction loss")
    balance_loss_weight: float = option(
        5.0, "weight of the seed's balance loss (mean M_in - b)² + (mean M_tg - (1-b))²"
    )
    novelty_weight: float = option(
        0.0, "weight of the novelty loss: hinged latent similarity to either source"
    )
    corr_weight: float = option(0.0, "weight of the envelope-copying penalty")
    gan_weight: float = option(
        0.0, "weight of the adversarial loss (multi-scale STFT discriminator)"
    )
    mask_reg_weight: float = option(
        0.0, "weight of the mask regulariser (overlap, M_in + M_tg != 1)"
    )
    temporal_weight: float = option(
        0.0, "weight of the temporal loss: masks that never change in time are penalised"
    )
    energy_balance_weight: float = option(
        0.0, "weight of the energy balance loss: the input's output energy share vs the knob"
    )
    rhythm_weight: float = option(
        0.0, "weight of the rhythm loss: onset-envelope agreement with the input"
    )
    harmony_weight: float = option(
        0.0, "weight of the harmony loss: chroma agreement with the target"
    )
    coherent_balance_weight: float = option(
        0.0, "weight of the coherent balance loss: the input's least-squares share vs the knob"
    )
    feature_matching_weight: float = option(
        0.0, "weight of discriminator feature matching (with gan_weight)"
    )
    recon_loss: str = option("mse", "'mse' (the seed) or 'mrstft' (multi-resolution STFT)")
    gan_warmup_epochs: int = option(1, "adversarial terms switch on after this many epochs")
    novelty_margin: float = option(0.9, "novelty penalizes latent cosine similarity above this")
    temporal_floor: float = option(0.1, "temporal loss = max(0, floor - temporal_diversity)")
    energy_balance_window: int = option(16, "frames per window of energy_balance's local term")
    energy_balance_local: float = option(
        1.0, "weight of energy_balance's windowed term (0 = whole clip only)"
    )
    # --- balance control during training ---
    balance_mode: str = option("fixed", "'fixed' (always balance) or 'uniform' (U[min, max])")
    balance: float = option(0.5, "the balance knob (input share) in fixed mode")
    balance_min: float = option(0.2, "lower end of the knob in uniform mode")
    balance_max: float = option(0.8, "upper end of the knob in uniform mode")
    auto_balance: bool = option(False, "raise loss_weight_input when a red flag fires")
    auto_balance_step: float = option(
        0.1, "added to loss_weight_input per epoch while a red flag fires"
    )
    auto_balance_max: float = option(1.0, "auto_balance never raises loss_weight_input above this")
    # --- the seed's red flags (checked on the epoch's training correlations) ---
    red_flag_target_corr: float = option(
        0.8, "red flag: output_target_corr above this after red_flag_target_epoch"
    )
    red_flag_target_epoch: int = option(
        20, "epoch (1-based) after which red_flag_target_corr applies"
    )
    red_flag_input_corr: float = option(
        0.3, "red flag: output_input_corr below this after red_flag_input_epoch"
    )
    red_flag_input_epoch: int = option(
        30, "epoch (1-based) after which red_flag_input_corr applies"
    )
    # --- optimisation ---
    epochs: int = option(10, "epochs to train (in total, counting resumed ones)")
    steps_per_epoch: int = option(50, "optimizer steps per epoch (each rank)")
    batch_size: int = option(8, "clip pairs per step per rank")
    lr: float = option(2e-3, "AdamW learning rate (agent and discriminator)")
    grad_clip: float = option(1.0, "max gradient norm (0 = no clipping)")
    seed: int = option(0, "seeds the model, the sampler and each rank (seed + rank)")
    # --- model and data ---
    model_size: str = option("small", "tiny, small or base (AgentConfig.preset)")
    data: str = option(
        "synthetic",
        "'synthetic', 'soundfont' (sampled instruments), 'mix' (both) or a folder with "
        "input/ and target/",
    )
    data_cache: str = option(
        "runs/cache/soundfont", "cache folder of rendered soundfont pairs ('' = none)"
    )
    crop_seconds: float = option(2.0, "length of a training clip in seconds")
    gain_db: float = option(12.0, "each clip's gain drawn from U[-gain_db, +gain_db]")
    train_pairs: int = option(512, "size of the synthetic training pool")
    valid_pairs: int = option(16, "fixed validation pairs (held-out generator settings)")
    valid_seconds: float = option(4.0, "length of a validation clip in seconds")
    valid_gain_db: float = option(12.0, "validation also runs with the input at +/- this many dB")
    # --- run ---
    device: str = option("auto", "'auto' (cuda if available), 'cpu', 'cuda' or 'cuda:N'")
    amp: bool = option(False, "float16 autocast + GradScaler (CUDA only; ignored on CPU)")
    num_workers: int = option(0, "DataLoader worker processes per rank")
    progress: bool = option(True, "tqdm bar per epoch on rank 0 (only when stderr is a TTY)")
    out: str = option("runs/train", "run folder: checkpoints, metrics.jsonl, curves.png, train.log")
    checkpoint_every: int = option(
        200,
        "global steps between step checkpoints in OUT/checkpoints (0 = epoch ends only); "
        "200 steps of the default model are ~3 min on a 2-core CPU",
    )
    keep_checkpoints: int = option(3, "step checkpoints kept (the newest; 0 = all)")
    preset: str = option("", "the preset these values started from ('' = none)")

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"training option {name}: {why}, got {getattr(self, name)!r}")

        for f in dataclasses.fields(self):
            is_weight = f.name.endswith("_weight") or f.name.startswith("loss_weight_")
            if is_weight and not float(getattr(self, f.name)) >= 0.0:
                raise bad(f.name, "must be >= 0")
        for name in ("epochs", "steps_per_epoch", "batch_size", "train_pairs", "valid_pairs"):
            if int(getattr(self, name)) < 1:
                raise bad(name, "must be >= 1")
        for name in ("lr", "crop_seconds", "valid_seconds"):
            if not float(getattr(self, name)) > 0.0:
                raise bad(name, "must be > 0")
        for name in ("balance", "balance_min", "balance_max"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise bad(name, "must be in [0, 1]")
        if self.balance_min > self.balance_max:
            raise bad("balance_min", f"must be <= balance_max ({self.balance_max})")
        if self.balance_mode not in BALANCE_MODES:
            raise bad("balance_mode", f"must be one of {', '.join(BALANCE_MODES)}")
        for name in ("checkpoint_every", "keep_checkpoints"):
            if int(getattr(self, name)) < 0:
                raise bad(name, "must be >= 0")
        if self.num_workers < 0 or self.gan_warmup_epochs < 0:
            raise bad(
                "num_workers" if self.num_workers < 0 else "gan_warmup_epochs", "must be >= 0"
            )
        if self.model_size not in SIZES:
            raise bad("model_size", f"must be one of {', '.join(SIZES)}")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise bad("device", "must be auto, cpu, cuda or cuda:N")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**d)
