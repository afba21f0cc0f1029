"""Checkpoints: one ``torch.save`` dict, written atomically (``plugin_host.atomic``; mode from the umask).

Keys: ``format`` ("creative-agent-checkpoint"), ``version``, ``model_config`` (dict of
``AgentConfig``), ``model`` (state dict), ``train_config`` (dict, may be empty),
``epoch``, ``step``, ``optimizer``, ``scaler``, ``rng``, ``metrics`` (dict, e.g. the
validation correlations and verdict) and any extra keys the trainer adds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from model import AgentConfig, CreativeAgent
from plugin_host.atomic import atomic_write

FORMAT = "creative-agent-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A file that is not a readable creative-agent checkpoint."""


def save_checkpoint(path: str | Path, model: CreativeAgent, **state: Any) -> Path:
    """Write ``model`` (config + weights) and ``state`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": model.config.to_dict(),
        "model": model.state_dict(),
        **state,
    }
    with atomic_write(path) as f:
        torch.save(payload, f)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load the raw checkpoint dict, with a clear error for missing, corrupt or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a creative-agent checkpoint (no '{FORMAT}' header)")
    if int(payload.get("version", 0)) > VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {payload['version']} is newer than supported ({VERSION})"
        )
    return payload


def load_checkpoint(path: str | Path) -> CreativeAgent:
    """A ready model (eval mode, CPU) rebuilt from the config stored in the checkpoint."""
    payload = read_checkpoint(path)
    try:
        model = CreativeAgent(AgentConfig.from_dict(payload["model_config"]))
        model.load_state_dict(payload["model"])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: checkpoint does not match the model ({exc})") from exc
    return model.eval()


TRAIN_STATE_KEYS = ("train_config", "epoch", "step", "optimizer", "rng")


def read_train_state(path: str | Path) -> dict[str, Any]:
    """The raw dict of a checkpoint ``train`` wrote (to resume from), with a clear error
    for a file that lacks the training state (e.g. one saved by another tool)."""
    payload = read_checkpoint(path)
    missing = [k for k in TRAIN_STATE_KEYS if k not in payload]
    if missing:
        raise CheckpointError(
            f"{path}: not a training checkpoint (missing {', '.join(missing)}); cannot resume"
        )
    return payload
