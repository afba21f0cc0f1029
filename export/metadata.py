"""The metadata an exported model carries (``metadata_props`` under
``plugin_host.model_metadata.META_PREFIX``): what the host needs to rebuild the DSP around the core
(:func:`base_metadata`) and where the model came from (:func:`provenance_metadata`,
:func:`checkpoint_metadata`). All values are strings; JSON ones are canonical."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import onnx
import torch

from model import CreativeAgent
from plugin_host.model_metadata import FORMAT_VERSION, META_PREFIX
from training.checkpoint import CheckpointError

DEFAULT_OPSET = 18


def project_version() -> str:
    try:
        return version("creative-agent")
    except PackageNotFoundError:
        return "unknown"


def _json_safe(obj: Any) -> Any:
    """Metrics as plain JSON: tensors/numpy scalars to numbers, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0:
        obj = obj.item()
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return str(obj)


def canonical_json(obj: Any) -> str:
    return json.dumps(_json_safe(obj), sort_keys=True, separators=(",", ":"))


def base_metadata(agent: CreativeAgent) -> dict[str, str]:
    """What the host needs to run the core: DSP parameters, band layout, model config."""
    cfg = agent.config
    return {
        "format_version": str(FORMAT_VERSION),
        "sample_rate": str(cfg.sample_rate),
        "n_fft": str(cfg.n_fft),
        "hop": str(cfg.hop),
        "window": "hann_periodic",
        "band_edges": json.dumps(agent.dsp.edges),
        "config": json.dumps(cfg.to_dict(), sort_keys=True),
        "channels": "1,2",
        "model_size": cfg.size,
        "receptive_frames": str(cfg.receptive_frames),
        "n_params": str(sum(p.numel() for p in agent.core.parameters())),
    }


# Training options that say where or how a run was launched, not what shapes the model:
# left out of the training-config hash.
LAUNCH_ONLY_FIELDS = ("out", "progress", "device", "num_workers")


def provenance_metadata(
    *,
    source: str,
    train_config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    epoch: int | None = None,
    step: int | None = None,
    checkpoint_sha256: str = "",
    precision: str = "fp32",
    opset: int = DEFAULT_OPSET,
) -> dict[str, str]:
    """Where the model came from: source, training config and its SHA-256 (of the canonical
    JSON without the launch-only fields out/progress/device/num_workers; empty without
    one), validation metrics, creation time (UTC), versions."""
    train_json = canonical_json(train_config) if train_config else ""
    hashed = {k: v for k, v in (train_config or {}).items() if k not in LAUNCH_ONLY_FIELDS}
    hashed_json = canonical_json(hashed) if train_config else ""
    return {
        "source": source,
        "checkpoint_sha256": checkpoint_sha256,
        "epoch": "" if epoch is None else str(epoch),
        "step": "" if step is None else str(step),
        "train_config": train_json or "{}",
        "train_config_sha256": hashlib.sha256(hashed_json.encode()).hexdigest()
        if hashed_json
        else "",
        "train_preset": str((train_config or {}).get("preset", "")),
        "metrics": canonical_json(metrics or {}),
        "precision": precision,
        "opset": str(opset),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "project_version": project_version(),
        "torch_version": torch.__version__,
    }


def set_metadata(proto: onnx.ModelProto, meta: dict[str, str]) -> None:
    """Replace ``proto``'s metadata_props with ``meta`` (keys get ``META_PREFIX``)."""
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = META_PREFIX + key, value


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checkpoint_metadata(path: Path, payload: dict[str, Any], **kw: Any) -> dict[str, str]:
    train = payload.get("train_config") or {}
    metrics = payload.get("metrics") or {}
    if not isinstance(train, dict) or not isinstance(metrics, dict):
        raise CheckpointError(f"{path}: train_config and metrics must be dicts")
    return provenance_metadata(
        source=f"checkpoint {path.name}",
        train_config=train,
        metrics=metrics,
        epoch=payload.get("epoch"),
        step=payload.get("step"),
        checkpoint_sha256=_sha256_file(path),
        **kw,
    )
