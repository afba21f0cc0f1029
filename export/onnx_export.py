"""Export the agent's learned core to ONNX (minimal version; the CLI and parity check
are added on top of ``export_core``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import onnx
import torch

from model import CreativeAgent
from model.core import INPUT_NAMES, OUTPUT_NAMES
from plugin_host.runtime import FORMAT_VERSION, META_PREFIX


def base_metadata(agent: CreativeAgent) -> dict[str, str]:
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
    }


def export_core(
    agent: CreativeAgent,
    path: str | Path,
    extra_metadata: dict[str, str] | None = None,
    opset: int = 18,
) -> Path:
    """Write the core of ``agent`` to ``path`` (atomically) with the host's metadata."""
    path = Path(path)
    agent = agent.eval()
    k, n = agent.config.n_bands, 64
    example = (torch.randn(2, k, n), torch.randn(2, k, n), torch.tensor([0.5, 0.25]))
    dyn = {
        "feat_in": {0: "batch", 2: "frames"},
        "feat_tg": {0: "batch", 2: "frames"},
        "balance": {0: "batch"},
    }
    program = torch.onnx.export(
        agent.core,
        example,
        input_names=list(INPUT_NAMES),
        output_names=list(OUTPUT_NAMES),
        dynamic_shapes=dyn,
        opset_version=opset,
        dynamo=True,
        verbose=False,
    )
    assert program is not None
    proto = program.model_proto
    meta = {**base_metadata(agent), **(extra_metadata or {})}
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = META_PREFIX + key, value
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
