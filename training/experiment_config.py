"""What the seed-fix experiment runs (``ExperimentConfig``) and its fixed settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.presets import PRESETS

EXPERIMENTS = ("seed-fix",)
CONFIGS = ("seed_baseline", "default", "seed_fixed")
SHARE_TOLERANCE = 0.1  # the knob is honest if |energy share - knob| <= this
BASELINE_FAIL = dict(mask_tolerance=0.05, target_corr_above=0.8, input_corr_below=0.3)
DOC_NAME = "experiment-seed-fix"


@dataclass(frozen=True)
class ExperimentConfig:
    """What ``seed-fix`` runs. Every config gets the same budget.

    out: folder of the runs; docs: folder of the doc, plot and JSON.
    minutes: wall-clock limit per config (training; evaluation comes on top, ~1 min).
    nproc: torchrun processes (each gets ``batch_size`` clips per step; gloo on CPU).
    epochs, steps_per_epoch, batch_size, crop_seconds, train_pairs: the training budget.
    valid_pairs, valid_seconds, valid_gain_db: the validation set (per epoch and final).
    model_size: the agent's size preset. configs: the training presets to run.
    """

    out: Path = field(
        default=Path("runs/experiment"),
        metadata={"help": "folder of the runs (one subfolder per config)"},
    )
    docs: Path = field(default=Path("docs"), metadata={"help": "folder of the doc, plot and JSON"})
    minutes: float = field(
        default=15.0,
        metadata={
            "help": "wall-clock training limit per config, minutes (evaluation comes on top)"
        },
    )
    nproc: int = field(
        default=2,
        metadata={"help": "training processes per config (torchrun when > 1; gloo on CPU)"},
    )
    epochs: int = field(default=15, metadata={"help": "epochs per config"})
    steps_per_epoch: int = field(
        default=100, metadata={"help": "optimizer steps per epoch (each process)"}
    )
    batch_size: int = field(default=4, metadata={"help": "clip pairs per step per process"})
    crop_seconds: float = field(
        default=2.0, metadata={"help": "length of a training clip, seconds"}
    )
    train_pairs: int = field(default=512, metadata={"help": "size of the synthetic training pool"})
    valid_pairs: int = field(
        default=16, metadata={"help": "validation pairs (held-out generator settings)"}
    )
    valid_seconds: float = field(
        default=4.0, metadata={"help": "length of a validation clip, seconds"}
    )
    valid_gain_db: float = field(
        default=12.0,
        metadata={"help": "validation also runs with the input this many dB louder and quieter"},
    )
    model_size: str = field(
        default="small", metadata={"help": "the agent's size preset (tiny, small or base)"}
    )
    configs: tuple[str, ...] = field(
        default=CONFIGS, metadata={"help": "comma-separated training presets to run"}
    )

    def __post_init__(self) -> None:
        unknown = [c for c in self.configs if c not in PRESETS]
        if unknown or not self.configs:
            raise ValueError(f"--configs: unknown preset(s) {unknown}; choose from {list(PRESETS)}")
        if self.nproc < 1:
            raise ValueError(f"--nproc must be >= 1, got {self.nproc}")
        if not self.minutes > 0:
            raise ValueError(f"--minutes must be > 0, got {self.minutes}")

    def train_overrides(self) -> dict[str, Any]:
        """The TrainConfig fields the experiment sets on top of each preset."""
        return dict(
            epochs=self.epochs,
            steps_per_epoch=self.steps_per_epoch,
            batch_size=self.batch_size,
            crop_seconds=self.crop_seconds,
            train_pairs=self.train_pairs,
            valid_pairs=self.valid_pairs,
            valid_seconds=self.valid_seconds,
            valid_gain_db=self.valid_gain_db,
            model_size=self.model_size,
            device="cpu",
            progress=False,
        )
