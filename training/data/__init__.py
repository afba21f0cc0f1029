"""Training data: built-in synthetic clip pairs (:mod:`training.data.synth`) and pairs cut
from two folders of audio files (:mod:`training.data.folder`)."""

from training.data.folder import FolderPairs
from training.data.synth import (
    SynthConfig,
    SynthPairs,
    generate_pair,
    item_seed,
    train_config,
    validation_config,
)

__all__ = [
    "FolderPairs",
    "SynthConfig",
    "SynthPairs",
    "generate_pair",
    "item_seed",
    "train_config",
    "validation_config",
]
