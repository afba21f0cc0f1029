"""The creative-agent metadata of an exported core: the keys ``export/onnx_export.py``
writes into the ONNX file's ``metadata_props`` and their only reader,
:meth:`ModelMetadata.from_props` (no onnxruntime here: :mod:`plugin_host.runtime` opens the
session and must import onnxruntime itself, after disabling its telemetry)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# 2: ``balance`` is float32 [B, N] (one value per frame: automation); 1: ``balance`` [B]
# (one value per clip). Both load; a version-1 file takes only a constant knob.
FORMAT_VERSION = 2
PER_FRAME_BALANCE_VERSION = 2
META_PREFIX = "creative_agent."
# Required metadata keys (without the prefix); values are strings, JSON where structured.
REQUIRED_KEYS = ("format_version", "sample_rate", "n_fft", "hop", "window", "band_edges", "config")
# the checkpoint's validation figures ``inspect`` shows (from the ``metrics`` entry)
VALIDATION_KEYS = ("output_input_corr", "output_target_corr", "verdict", "meets_seed_criteria")
# extra metadata entries that are integers ('' = unknown, shown as null by ``describe``)
INTEGER_KEYS = ("epoch", "step", "n_params", "opset", "receptive_frames")


class ModelLoadError(RuntimeError):
    """A model file that cannot be used: not ONNX, no agent metadata, or too new."""


@dataclass(frozen=True)
class ModelMetadata:
    """What the host knows about a model from its file.

    sample_rate in Hz; n_fft and hop in samples; band_edges: K+1 STFT bin indices;
    config: the model's ``AgentConfig`` as a dict; extra: every other metadata entry
    (strings, without the prefix), e.g. ``channels``, ``metrics`` (JSON), ``created_utc``.
    """

    format_version: int
    sample_rate: int
    n_fft: int
    hop: int
    window: str
    band_edges: tuple[int, ...]
    config: dict[str, Any]
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def n_bands(self) -> int:
        return len(self.band_edges) - 1

    @property
    def channels(self) -> tuple[int, ...]:
        """Channel counts the model supports (``(1, 2)`` when the file does not say)."""
        raw = self.extra.get("channels", "1,2")
        return tuple(int(c) for c in raw.split(",") if c.strip())

    @property
    def receptive_frames(self) -> int | None:
        """STFT frames of context on each side of an output frame (for chunked processing)."""
        raw = self.extra.get("receptive_frames")
        return int(raw) if raw is not None else None

    @property
    def precision(self) -> str:
        """Precision of the core's weights: ``fp32`` or ``fp16`` (inputs/outputs are fp32)."""
        return self.extra.get("precision", "fp32")

    @property
    def metrics(self) -> dict[str, Any]:
        """The checkpoint's validation metrics (empty for a model exported untrained)."""
        return self._json_extra("metrics")

    def _json_extra(self, key: str) -> dict[str, Any]:
        raw = self.extra.get(key)
        if not raw:
            return {}
        value = json.loads(raw)
        return dict(value) if isinstance(value, dict) else {}

    def describe(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values (structured entries decoded)."""
        out: dict[str, Any] = {
            "format_version": self.format_version,
            "sample_rate": self.sample_rate,
            "n_fft": self.n_fft,
            "hop": self.hop,
            "window": self.window,
            "n_bands": self.n_bands,
            "band_edges": list(self.band_edges),
            "config": self.config,
        }
        for key, value in sorted(self.extra.items()):
            out[key] = _decode_extra(key, value)
        return out

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> ModelMetadata:
        own = {k[len(META_PREFIX) :]: v for k, v in props.items() if k.startswith(META_PREFIX)}
        missing = [k for k in REQUIRED_KEYS if k not in own]
        if missing:
            raise ModelLoadError(
                f"{source}: not a creative-agent model (metadata missing: {', '.join(missing)})"
            )
        try:
            version = int(own["format_version"])
        except ValueError as exc:
            raise ModelLoadError(
                f"{source}: malformed creative-agent metadata (format_version "
                f"{own['format_version']!r})"
            ) from exc
        if version > FORMAT_VERSION:
            raise ModelLoadError(
                f"{source}: model format version {version} is newer than this host supports "
                f"({FORMAT_VERSION}); upgrade creative-agent"
            )
        try:
            meta = cls(
                format_version=version,
                sample_rate=int(own["sample_rate"]),
                n_fft=int(own["n_fft"]),
                hop=int(own["hop"]),
                window=own["window"],
                band_edges=tuple(int(e) for e in json.loads(own["band_edges"])),
                config=dict(json.loads(own["config"])),
                extra={k: v for k, v in own.items() if k not in REQUIRED_KEYS},
            )
            meta.channels  # noqa: B018 - parse now so a bad value fails at load
            meta.receptive_frames  # noqa: B018
            meta.metrics  # noqa: B018
        except (ValueError, TypeError) as exc:
            raise ModelLoadError(f"{source}: malformed creative-agent metadata ({exc})") from exc
        if meta.window != "hann_periodic":
            raise ModelLoadError(f"{source}: unsupported STFT window {meta.window!r}")
        if meta.sample_rate <= 0 or meta.hop <= 0 or meta.n_fft <= 0:
            raise ModelLoadError(
                f"{source}: malformed creative-agent metadata (sample_rate {meta.sample_rate}, "
                f"n_fft {meta.n_fft}, hop {meta.hop})"
            )
        return meta


def _decode_extra(key: str, value: str) -> Any:
    """One extra metadata string as JSON: INTEGER_KEYS as int (None when empty), JSON
    objects/lists decoded; anything else (or text that does not parse) as the string."""
    if key in INTEGER_KEYS:
        if value == "":
            return None
        if re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        return value
    if value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
