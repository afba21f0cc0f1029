"""``creative-agent inspect MODEL.onnx [--json]``: print an exported model's metadata
(the same listing as ``creative-agent export --inspect``)."""

from __future__ import annotations

import argparse
import json
import sys

from plugin_host.model_metadata import VALIDATION_KEYS
from plugin_host.runtime import LoadedModel, ModelLoadError, load_model


def format_metadata(model: LoadedModel) -> str:
    """A human-readable listing of a loaded model's metadata (for ``inspect``)."""
    info = model.metadata.describe()
    metrics = model.metadata.metrics
    info["metrics"] = f"{len(metrics)} entries (--json shows them all)" if metrics else ""
    valid = {k: metrics[f"valid/{k}"] for k in VALIDATION_KEYS if f"valid/{k}" in metrics}
    info["validation"] = ", ".join(
        f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in valid.items()
    )
    info = {"model": str(model.path), "provider": model.provider, **info}
    width = max(len(k) for k in info)
    lines = []
    for key, value in info.items():
        if value is None or value == "":
            text = "-"
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        lines.append(f"{key:<{width}}  {text}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``creative-agent inspect MODEL.onnx [--json]``: print a model's metadata."""
    parser = argparse.ArgumentParser(
        prog="creative-agent inspect",
        description="Print an exported model's metadata: rates, STFT, bands, config and "
        "training measures. Errors are one line on stderr with exit status 1.",
    )
    parser.add_argument("model", help="an ONNX file written by 'creative-agent export'")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a listing")
    args = parser.parse_args(argv)
    try:
        m = load_model(args.model, provider="cpu")
    except ModelLoadError as exc:
        print(f"creative-agent inspect: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**m.metadata.describe(), "provider": m.provider}, indent=2))
    else:
        print(format_metadata(m))
    return 0
