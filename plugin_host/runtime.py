"""Open an exported agent core with ONNX Runtime and read its metadata (no torch).

The ONNX file is self-describing: ``metadata_props`` carry everything the host needs to
rebuild the DSP around the core (sample rate, STFT, band layout) under the keys below.
``export/onnx_export.py`` writes them; this module is their only reader.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from plugin_host.dsp import HostDSP

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_PREFIX = "creative_agent."
# Required metadata keys (without the prefix); values are strings, JSON where structured.
REQUIRED_KEYS = ("format_version", "sample_rate", "n_fft", "hop", "window", "band_edges", "config")
INPUT_NAMES = ("feat_in", "feat_tg", "balance")
OUTPUT_NAMES = ("input_mask", "target_mask")


class ModelLoadError(RuntimeError):
    """A model file that cannot be used: not ONNX, no agent metadata, or too new."""


@dataclass(frozen=True)
class ModelMetadata:
    """What the host knows about a model from its file."""

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
        except (ValueError, TypeError) as exc:
            raise ModelLoadError(f"{source}: malformed creative-agent metadata ({exc})") from exc
        if version > FORMAT_VERSION:
            raise ModelLoadError(
                f"{source}: model format version {version} is newer than this host supports "
                f"({FORMAT_VERSION}); upgrade creative-agent"
            )
        if meta.window != "hann_periodic":
            raise ModelLoadError(f"{source}: unsupported STFT window {meta.window!r}")
        return meta


@dataclass
class LoadedModel:
    """An ONNX Runtime session on the core, its metadata and the matching numpy DSP."""

    path: Path
    session: ort.InferenceSession
    metadata: ModelMetadata
    provider: str
    dsp: HostDSP

    def core(
        self, feat_in: np.ndarray, feat_tg: np.ndarray, balance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """feat_in, feat_tg: float32 [B, K, N]; balance: float32 [B] -> two masks [B, K, N]."""
        k = self.metadata.n_bands
        assert feat_in.ndim == 3 and feat_in.shape[1] == k, (
            f"expected [B, {k}, N], got {feat_in.shape}"
        )
        assert feat_tg.shape == feat_in.shape and balance.shape == (feat_in.shape[0],)
        m_in, m_tg = self.session.run(
            list(OUTPUT_NAMES),
            {
                "feat_in": np.ascontiguousarray(feat_in, dtype=np.float32),
                "feat_tg": np.ascontiguousarray(feat_tg, dtype=np.float32),
                "balance": np.ascontiguousarray(balance, dtype=np.float32),
            },
        )
        return m_in, m_tg


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Options for an offline host: all cores for one op, no busy-waiting threads."""
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return opts


def load_model(path: str | Path, provider: str = "auto", threads: int | None = None) -> LoadedModel:
    """Open ``path`` with the best provider that really loads.

    provider: ``auto`` tries CUDA when ONNX Runtime lists it and keeps it only if
    ``session.get_providers()`` confirms it (onnxruntime-gpu lists CUDA even without a
    GPU and silently falls back); ``cpu`` forces the CPU provider; ``cuda`` requires CUDA.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(f"{p}: model file not found")
    wanted: list[str] = ["CPUExecutionProvider"]
    if provider in ("auto", "cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    try:
        session = ort.InferenceSession(
            str(p), sess_options=session_options(threads), providers=wanted
        )
    except Exception as exc:  # ORT raises its own exception types for bad files
        raise ModelLoadError(
            f"{p}: not a loadable ONNX model ({str(exc).splitlines()[0]})"
        ) from exc
    used = session.get_providers()[0]
    if provider == "cuda" and used != "CUDAExecutionProvider":
        raise ModelLoadError(f"{p}: CUDA was requested but ONNX Runtime fell back to {used}")
    if "CUDAExecutionProvider" in wanted and used != "CUDAExecutionProvider":
        log.info("CUDA provider did not load (no usable GPU); running on %s", used)
    meta = ModelMetadata.from_props(dict(session.get_modelmeta().custom_metadata_map), str(p))
    names = tuple(i.name for i in session.get_inputs())
    if names != INPUT_NAMES:
        raise ModelLoadError(f"{p}: unexpected model inputs {names}, expected {INPUT_NAMES}")
    dsp = HostDSP(meta.n_fft, meta.hop, meta.band_edges)
    return LoadedModel(p, session, meta, used, dsp)


def main(argv: list[str]) -> int:
    """``creative-agent inspect MODEL.onnx``: print the metadata as JSON."""
    import argparse

    parser = argparse.ArgumentParser(prog="creative-agent inspect", description=main.__doc__)
    parser.add_argument("model")
    args = parser.parse_args(argv)
    try:
        m = load_model(args.model, provider="cpu")
    except ModelLoadError as exc:
        print(f"error: {exc}")
        return 1
    meta = m.metadata
    print(json.dumps({**meta.__dict__, "provider": m.provider}, indent=2, default=list))
    return 0
