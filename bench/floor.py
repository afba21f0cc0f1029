"""The floor of any STFT-masking render: the host's own streaming path
(``plugin_host.pipeline``) with the ONNX core replaced by unit masks, between a whole-file
read and write. The host's time over this one is what its model, report and glue cost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.audio import read_audio, write_audio
from bench.timing import copy_model
from plugin_host.pipeline import process_chunked
from plugin_host.runtime import LoadedModel


@dataclass
class IdentityCoreModel(LoadedModel):
    """A :class:`LoadedModel` whose core returns unit masks (``M_in = M_tg = 1``), so the
    streamed render is ``iSTFT(STFT(input) + STFT(target))`` = input + target, through the
    same framing, features, masking and overlap-add as a real render."""

    def core(
        self, feat_in: np.ndarray, feat_tg: np.ndarray, balance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """feat_in, feat_tg: float32 [B, K, N] -> two float32 [B, K, N] masks of ones."""
        ones = np.ones(feat_in.shape, np.float32)
        return ones, ones


def identity_core(model: LoadedModel) -> IdentityCoreModel:
    """``model`` (its metadata, DSP and context) with the core replaced by unit masks."""
    identity: IdentityCoreModel = copy_model(model, IdentityCoreModel)
    return identity


def floor_render(model: IdentityCoreModel, paths: tuple[Path, Path], out: Path) -> None:
    """Read both files whole, stream them through ``plugin_host.pipeline.process_chunked``
    with the identity core (no model, no report), write the result as WAV to ``out``."""
    rate = model.metadata.sample_rate
    x, y = (read_audio(p, rate) for p in paths)
    write_audio(out, process_chunked(model, x, y), rate)
