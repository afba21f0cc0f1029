"""``creative-agent export``: the agent's learned core to ONNX, checked, self-describing.

The graph is ``MaskCore`` only: ``feat_in`` [B, K, N], ``feat_tg`` [B, K, N] (log band
powers) and ``balance`` [B] in, ``input_mask`` and ``target_mask`` [B, K, N] out, with batch
B and frame count N dynamic. Everything the host needs to rebuild the DSP around it (sample
rate, STFT size/hop/window, band edges) and to know where the model came from (config,
training-config hash, validation metrics, creation time, project version) is written to
``metadata_props`` under ``plugin_host.runtime.META_PREFIX``.

Every export runs ``onnx.checker`` and, unless ``--no-verify``, the parity check of
``export/parity.py`` on the file as the host opens it; the file appears at its final path
(temp file + rename) only when both pass.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import logging
import math
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from export.parity import (
    FP16_TOLERANCE,
    FP32_TOLERANCE,
    FULL_CLIPS,
    ParityConfig,
    ParityReport,
    Tolerance,
    run_parity,
)
from model import AgentConfig, CreativeAgent
from model.config import SIZES
from model.core import INPUT_NAMES, OUTPUT_NAMES
from plugin_host.atomic import AtomicFile, write_bytes
from plugin_host.runtime import (
    FORMAT_VERSION,
    META_PREFIX,
    ModelLoadError,
    format_metadata,
    load_model,
)
from training.checkpoint import CheckpointError, read_checkpoint

log = logging.getLogger(__name__)

DEFAULT_OPSET = 18
EXAMPLE_FRAMES = 64  # example length for tracing (any value > 1; N stays dynamic)


class ExportError(RuntimeError):
    """An export that did not produce a model file (the reason names the failing check)."""


class ParityError(ExportError):
    """The exported model does not reproduce the PyTorch model; ``report`` has every case."""

    def __init__(self, message: str, report: ParityReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class ExportResult:
    """What ``export_model`` wrote: the path, its metadata, the parity report (None with
    ``verify=False``) and the seconds spent exporting and verifying."""

    path: Path
    metadata: dict[str, str]
    parity: ParityReport | None
    export_s: float
    verify_s: float


# --------------------------------------------------------------------------- metadata


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


# --------------------------------------------------------------------------- graph


class HalfPrecisionCore(nn.Module):
    """The core in float16 with float32 inputs and outputs (casts at the edges), so the
    host feeds and reads float32 whatever the precision of the file."""

    def __init__(self, core: nn.Module) -> None:
        super().__init__()
        self.core = copy.deepcopy(core).half()

    def forward(
        self, feat_in: torch.Tensor, feat_tg: torch.Tensor, balance: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        m_in, m_tg = self.core(feat_in.half(), feat_tg.half(), balance.half())
        return m_in.float(), m_tg.float()


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hide the exporter's known-harmless chatter: its notes on optional torchvision ops
    (logged at WARNING), the optimiser passes of onnxscript / onnx_ir (logged at INFO) and
    its note that axes sharing one dynamic dim keep one name (a UserWarning)."""
    loggers = {name: logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "onnx_ir")}
    levels = {name: lg.level for name, lg in loggers.items()}
    for lg in loggers.values():
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="# The axis name", category=UserWarning)
            yield
    finally:
        for name, lg in loggers.items():
            lg.setLevel(levels[name])


def build_core_proto(
    agent: CreativeAgent, opset: int = DEFAULT_OPSET, fp16: bool = False
) -> onnx.ModelProto:
    """Trace ``agent.core`` with the dynamo exporter: an ONNX graph without metadata."""
    agent = agent.eval()
    module: nn.Module = HalfPrecisionCore(agent.core).eval() if fp16 else agent.core
    k = agent.config.n_bands
    gen = torch.Generator().manual_seed(0)
    example = (
        torch.randn(2, k, EXAMPLE_FRAMES, generator=gen),
        torch.randn(2, k, EXAMPLE_FRAMES, generator=gen),
        torch.tensor([0.5, 0.25]),
    )
    batch, frames = torch.export.Dim("batch"), torch.export.Dim("frames")
    dyn = {
        "feat_in": {0: batch, 2: frames},
        "feat_tg": {0: batch, 2: frames},
        "balance": {0: batch},
    }
    with _quiet_exporter():
        try:
            program = torch.onnx.export(
                module,
                example,
                input_names=list(INPUT_NAMES),
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes=dyn,
                opset_version=opset,
                dynamo=True,
                verbose=False,
            )
        except Exception as exc:  # the exporter raises many types; keep the first line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ExportError(f"torch.onnx.export failed (opset {opset}): {first}") from exc
    if program is None:
        raise ExportError("torch.onnx.export returned no program")
    return program.model_proto


def check_proto(proto: onnx.ModelProto) -> None:
    """``onnx.checker`` with full shape inference; ExportError with its first line."""
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(f"onnx.checker rejected the graph: {str(exc).splitlines()[0]}") from exc


def write_atomic(proto: onnx.ModelProto, path: str | Path) -> Path:
    """Write ``proto`` to ``path`` atomically (``plugin_host.atomic``; mode from the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes(path, proto.SerializeToString())


def _readable_path(af: AtomicFile) -> Path:
    """A path that opens the not-yet-committed file of ``af``: its fallback temp name, or
    (an unnamed ``O_TMPFILE`` file) its ``/proc/self/fd`` entry."""
    return af.temp_path if af.temp_path is not None else Path(f"/proc/self/fd/{af.file.fileno()}")


def export_core(
    agent: CreativeAgent,
    path: str | Path,
    extra_metadata: dict[str, str] | None = None,
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Write the core of ``agent`` to ``path`` (atomically) with the host's metadata.

    No parity check (``export_model`` adds it); ``onnx.checker`` runs.
    """
    proto = build_core_proto(agent, opset=opset)
    set_metadata(proto, {**base_metadata(agent), **(extra_metadata or {})})
    check_proto(proto)
    return write_atomic(proto, path)


def export_model(
    agent: CreativeAgent,
    output: str | Path,
    extra_metadata: dict[str, str] | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    fp16: bool = False,
    verify: bool = True,
    parity: ParityConfig | None = None,
    tolerance: Tolerance | None = None,
    provider: str = "cpu",
    progress: bool = True,
) -> ExportResult:
    """Export, check and (with ``verify``) parity-check ``agent``; the file appears at
    ``output`` (atomically) only when every check passes, otherwise no file is left and
    ``ExportError`` (``ParityError`` for a parity failure) names the reason.

    tolerance: defaults to ``FP32_TOLERANCE`` or ``FP16_TOLERANCE``; provider: the ONNX
    Runtime provider the check runs on (``cpu`` by default: the reference platform).
    """
    output = Path(output)
    precision = "fp16" if fp16 else "fp32"
    tolerance = tolerance or (FP16_TOLERANCE if fp16 else FP32_TOLERANCE)
    t0 = time.perf_counter()
    proto = build_core_proto(agent, opset=opset, fp16=fp16)
    meta = {**base_metadata(agent), "precision": precision, **(extra_metadata or {})}
    set_metadata(proto, meta)
    check_proto(proto)
    export_s = time.perf_counter() - t0
    output.parent.mkdir(parents=True, exist_ok=True)
    report = None
    with AtomicFile(output) as af:  # an exception (a failed check) leaves no file
        af.file.write(proto.SerializeToString())
        af.file.flush()
        t1 = time.perf_counter()
        if verify:
            try:
                model = load_model(_readable_path(af), provider=provider)
            except ModelLoadError as exc:
                raise ExportError(f"the exported file does not load in the host: {exc}") from exc
            report = run_parity(agent, model, parity, tolerance, progress=progress)
            if not report.passed:
                raise ParityError(report.summary(), report)
        verify_s = time.perf_counter() - t1
    return ExportResult(output, meta, report, export_s, verify_s)


# --------------------------------------------------------------------------- sources


def fresh_agent(size: str, seed: int = 0) -> CreativeAgent:
    """A newly built model of preset ``size`` whose output layer is randomised (std 0.5):
    an untrained core's zero-initialised head gives constant masks, which would leave
    the core's time/frequency behaviour out of the parity check."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        agent = CreativeAgent(AgentConfig.preset(size))
    with torch.no_grad():
        w = agent.core.out.weight
        w.copy_(0.5 * torch.randn(w.shape, generator=gen))
    return agent.eval()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def agent_from_checkpoint(path: str | Path) -> tuple[CreativeAgent, dict[str, Any]]:
    """The model of checkpoint ``path`` (eval mode) and its raw dict.
    Raises ``CheckpointError`` for a missing, corrupt, foreign or mismatched file."""
    payload = read_checkpoint(path)
    try:
        agent = CreativeAgent(AgentConfig.from_dict(payload["model_config"]))
        agent.load_state_dict(payload["model"])
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: checkpoint does not match the model ({exc})") from exc
    return agent.eval(), payload


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


# --------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="creative-agent export",
        description="Export a checkpoint's core to ONNX, with onnx.checker and a parity "
        "check of the host pipeline against the PyTorch model.",
    )
    p.add_argument("checkpoint", nargs="?", help="a checkpoint from 'creative-agent train'")
    p.add_argument("-o", "--output", type=Path, help="the ONNX file to write")
    p.add_argument("--fresh", choices=SIZES, help="export a newly built model (no checkpoint)")
    p.add_argument("--seed", type=int, default=0, help="seed of --fresh (default 0)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (default 18)")
    p.add_argument("--fp16", action="store_true", help="float16 weights (float32 inputs/outputs)")
    p.add_argument("--no-verify", action="store_true", help="skip the parity check")
    p.add_argument("--provider", choices=("cpu", "auto", "cuda"), default="cpu",
                   help="ONNX Runtime provider for the parity check (default cpu)")  # fmt: skip
    p.add_argument("--clips", default=",".join(c.label for c in FULL_CLIPS),
                   help="parity clip lengths to run, comma-separated from "
                   f"{', '.join(c.label for c in FULL_CLIPS)} (default: all)")  # fmt: skip
    p.add_argument("--inspect", metavar="MODEL", type=Path, help="print a model's metadata")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _inspect(path: Path, as_json: bool) -> int:
    try:
        m = load_model(path, provider="cpu")
    except ModelLoadError as exc:
        print(f"creative-agent export: error: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps({**m.metadata.describe(), "provider": m.provider}, indent=2))
    else:
        print(format_metadata(m))
    return 0


def _print_result(res: ExportResult, as_json: bool) -> None:
    if as_json:
        meta = dict(res.metadata)
        for key in ("band_edges", "config", "metrics", "train_config"):
            meta[key] = json.loads(meta[key])
        print(
            json.dumps(
                {
                    "output": str(res.path),
                    "verified": res.parity is not None,
                    "export_s": round(res.export_s, 3),
                    "verify_s": round(res.verify_s, 3),
                    "metadata": meta,
                    "parity": res.parity.to_dict() if res.parity else None,
                },
                indent=2,
            )
        )
        return
    if res.parity is not None:
        print(res.parity.table())
        print(res.parity.summary())
    else:
        print("parity check skipped (--no-verify): the file is unverified")
    size_kb = res.path.stat().st_size / 1024
    print(
        f"wrote {res.path} ({size_kb:.0f} KiB, {res.metadata['precision']}, "
        f"opset {res.metadata['opset']}, export {res.export_s:.1f} s, verify {res.verify_s:.1f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    """``creative-agent export CHECKPOINT -o model.onnx [--opset N] [--fp16] [--no-verify]``;
    ``--fresh SIZE`` instead of a checkpoint; ``--inspect MODEL`` prints metadata."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.inspect is not None:
        if args.checkpoint or args.fresh or args.output:
            parser.error("--inspect takes no checkpoint, --fresh or --output")
        return _inspect(args.inspect, args.json)
    if (args.checkpoint is None) == (args.fresh is None):
        parser.error("give exactly one of CHECKPOINT or --fresh SIZE")
    if args.output is None:
        parser.error("-o/--output is required")
    if args.output.is_dir():
        parser.error(f"-o/--output {args.output} is a folder; give a file name")
    by_label = {c.label: c for c in FULL_CLIPS}
    labels = [c.strip() for c in args.clips.split(",") if c.strip()]
    unknown = [c for c in labels if c not in by_label]
    if unknown or not labels:
        parser.error(
            f"--clips: unknown clip {unknown or labels}; choose from {', '.join(by_label)}"
        )
    parity = ParityConfig(clips=tuple(by_label[c] for c in labels))
    precision = "fp16" if args.fp16 else "fp32"
    try:
        if args.fresh:
            agent = fresh_agent(args.fresh, args.seed)
            meta = provenance_metadata(
                source=f"fresh {args.fresh} seed {args.seed} (untrained, randomised head)",
                precision=precision,
                opset=args.opset,
            )
        else:
            ckpt = Path(args.checkpoint)
            agent, payload = agent_from_checkpoint(ckpt)
            meta = checkpoint_metadata(ckpt, payload, precision=precision, opset=args.opset)
        res = export_model(
            agent,
            args.output,
            meta,
            opset=args.opset,
            fp16=args.fp16,
            verify=not args.no_verify,
            parity=parity,
            provider=args.provider,
            progress=not (args.quiet or args.json),
        )
    except ParityError as exc:
        if args.json:
            print(json.dumps({"output": None, "error": str(exc), "parity": exc.report.to_dict()}))
        else:
            print(exc.report.table(), file=sys.stderr)
        print(f"creative-agent export: error: {exc}; no file written", file=sys.stderr)
        return 1
    except (ExportError, CheckpointError) as exc:
        print(f"creative-agent export: error: {exc}; no file written", file=sys.stderr)
        return 1
    _print_result(res, args.json)
    return 0
