"""The model that ships with the package: what ``render``, ``render-batch`` and ``serve`` use
when no ``--model`` is given.

``plugin_host/models/default.onnx`` is the ``default`` preset trained on sampled instruments
and synthetic pairs by ``make default-model`` (docs/model-card.md: data, command, seed,
measured numbers, sha256). ``default.pt`` beside it is its training checkpoint, to fine-tune
from (``creative-agent train --resume plugin_host/models/default.pt --epochs N``); the host
never reads it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_ONNX = MODELS_DIR / "default.onnx"
DEFAULT_CHECKPOINT = MODELS_DIR / "default.pt"


class NoBundledModelError(FileNotFoundError):
    """The package was installed without its bundled model."""


def default_model() -> Path:
    """Path of the bundled default ONNX model; a clear error if the file is missing."""
    if not DEFAULT_ONNX.is_file():
        raise NoBundledModelError(
            f"no --model given and the bundled model {DEFAULT_ONNX} is missing "
            "(reinstall the package, or run 'make default-model')"
        )
    return DEFAULT_ONNX


def resolve_model(model: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """``(path, label)`` of the model to use: ``model`` as given, or the bundled default.
    ``label`` says which, for the user ("bundled default" or the path as given)."""
    if model is None or str(model) == "":
        return default_model(), f"bundled default ({DEFAULT_ONNX.name})"
    return Path(model), str(model)


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
