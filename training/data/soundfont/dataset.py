"""Torch datasets of SoundFont pairs, with a disk cache of rendered pairs.

Item ``i`` of ``SoundFontPairs(cfg, n, seed)`` is ``render_pair_info(cfg, item_seed(seed,
i))`` (the synthetic source's seeding: ``DistributedSampler`` gives each rank distinct
indices, hence distinct pairs). With ``cache_dir``, a rendered item is stored as
``cache_dir/<config hash>/<seed>-<index>.npy`` (float32 ``[2, C, T]``: input, target),
written through :mod:`plugin_host.atomic`, and read back instead of rendered next time. The
config hash covers the config, :data:`GENERATOR_VERSION`, the tinysoundfont version, the
name and size of every SoundFont file of the split and the split's instruments, so a changed generator or font never serves stale audio.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from plugin_host.atomic import write_bytes
from training.data.soundfont.fonts import font_path, instruments
from training.data.soundfont.pairs import SoundFontConfig, render_pair_info
from training.data.soundfont.sequencer import FontBank, renderer_version
from training.data.synth import item_seed

log = logging.getLogger(__name__)

GENERATOR_VERSION = 5  # bump when a change alters the rendered audio


def config_hash(cfg: SoundFontConfig) -> str:
    """16 hex digits identifying what ``cfg`` renders (config, generator version,
    tinysoundfont version, font files, the split's instruments). Raises :class:`fonts.MissingSoundFontError` if a
    font of the split is missing."""
    played = instruments(cfg.split)
    fonts = sorted({i.font for i in played})
    files = {f: [font_path(f).name, font_path(f).stat().st_size] for f in fonts}
    table = [dataclasses.astuple(i) for i in played]
    blob = json.dumps(
        [cfg.to_dict(), GENERATOR_VERSION, renderer_version(), files, table], sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class SoundFontPairs(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """``n_pairs`` SoundFont pairs, item i from ``item_seed(seed, i)``, rendered on demand
    (or read from ``cache_dir``): ``{"input": Tensor[C, T], "target": Tensor[C, T]}``."""

    def __init__(
        self, cfg: SoundFontConfig, n_pairs: int, seed: int = 0, cache_dir: str | Path | None = None
    ) -> None:
        if n_pairs < 1:
            raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.cfg, self.n_pairs, self.seed = cfg, n_pairs, seed
        self.key = config_hash(cfg)  # fails early, naming a missing SoundFont
        self.cache = Path(cache_dir) / self.key if cache_dir else None
        self.bank = FontBank(cfg.sample_rate)

    def __len__(self) -> int:
        return self.n_pairs

    def cache_path(self, index: int) -> Path | None:
        """Where item ``index`` is cached (None without a cache)."""
        return None if self.cache is None else self.cache / f"{self.seed}-{index}.npy"

    def pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Item ``index`` as numpy: (input, target), float32 [C, T] each."""
        if not -self.n_pairs <= index < self.n_pairs:
            raise IndexError(f"SoundFontPairs index {index} out of range for {self.n_pairs} pairs")
        index %= self.n_pairs
        path = self.cache_path(index)
        if path is not None and path.is_file():
            both = np.load(path)
            if both.shape == (2, self.cfg.channels, self.cfg.n_samples):
                return both[0], both[1]
            log.warning(
                "%s: shape %s, expected %s; rendering again",
                path,
                both.shape,
                (2, self.cfg.channels, self.cfg.n_samples),
            )
        x, y, _ = render_pair_info(self.cfg, item_seed(self.seed, index), self.bank)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            np.save(buf, np.stack([x, y]))
            write_bytes(path, buf.getvalue())
        return x, y

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        x, y = self.pair(index)
        return {"input": torch.from_numpy(np.array(x)), "target": torch.from_numpy(np.array(y))}


class MixedPairs(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Items of several datasets interleaved: item i is ``sources[i % k][i // k]``
    (k sources; length k × the shortest)."""

    def __init__(self, *sources: Any) -> None:
        if not sources:
            raise ValueError("MixedPairs needs at least one source")
        self.sources = sources
        self.per_source = min(len(s) for s in sources)

    def __len__(self) -> int:
        return len(self.sources) * self.per_source

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"MixedPairs index {index} out of range for {len(self)} pairs")
        index %= len(self)
        k = len(self.sources)
        item: dict[str, torch.Tensor] = self.sources[index % k][index // k]
        return item
