"""The training pool of a run: which ``Dataset`` ``--data`` names (every source is
map-style and deterministic per index, so ``training.order`` decides who sees what)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from model import AgentConfig
from training.config import TrainConfig


def make_dataset(cfg: TrainConfig, model_cfg: AgentConfig, channels: int = 2) -> Dataset[Any]:
    """Training pairs: synthetic (``training.data.synth.SynthPairs`` over the training
    distribution, ``crop_seconds`` long), sampled instruments (``soundfont``:
    ``training.data.soundfont.SoundFontPairs``, training split, cached in ``data_cache``),
    both interleaved (``mix``), or ``DIR/input`` + ``DIR/target`` files
    (``training.data.folder.FolderPairs``). Items: {"input", "target"} Tensor[C, T]."""
    if cfg.data in ("synthetic", "soundfont", "mix"):
        from training.data.synth import SynthPairs, train_config

        kw: dict[str, Any] = dict(
            seconds=cfg.crop_seconds, sample_rate=model_cfg.sample_rate, channels=channels
        )
        if cfg.data == "synthetic":
            return SynthPairs(train_config(**kw), cfg.train_pairs, cfg.seed)
        from training.data.soundfont import MixedPairs, SoundFontConfig, SoundFontPairs

        n = cfg.train_pairs if cfg.data == "soundfont" else max(cfg.train_pairs // 2, 1)
        sf = SoundFontPairs(
            SoundFontConfig(split="train", **kw), n, cfg.seed, cfg.data_cache or None
        )
        if cfg.data == "soundfont":
            return sf
        return MixedPairs(SynthPairs(train_config(**kw), n, cfg.seed), sf)
    root = Path(cfg.data)
    if not (root / "input").is_dir() or not (root / "target").is_dir():
        raise ValueError(
            f"--data {root}: expected synthetic, soundfont, mix or a folder with input/ and target/"
        )
    from training.data.folder import FolderPairs

    return FolderPairs(
        root / "input",
        root / "target",
        sample_rate=model_cfg.sample_rate,
        channels=channels,
        crop_seconds=cfg.crop_seconds,
        n_items=cfg.train_pairs,
        seed=cfg.seed,
    )
