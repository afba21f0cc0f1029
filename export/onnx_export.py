"""``creative-agent export``: the agent's learned core to ONNX, checked, self-describing.

The graph is ``MaskCore`` only: ``feat_in`` [B, K, N], ``feat_tg`` [B, K, N] (log band
powers) and ``balance`` [B, N] (the knob per frame; format version 2) in, ``input_mask`` and ``target_mask`` [B, K, N] out, with batch
B and frame count N dynamic. Everything the host needs to rebuild the DSP around it (sample
rate, STFT size/hop/window, band edges) and to know where the model came from (config,
training-config hash, validation metrics, creation time, project version) is written to
``metadata_props`` under ``plugin_host.model_metadata.META_PREFIX``.

Every export runs ``onnx.checker`` and, unless ``--no-verify``, the parity check of
``export/parity.py`` on the file as the host opens it; the file appears at its final path
(atomically, ``plugin_host/atomic.py``) only when both pass. The metadata is built by
``export/metadata.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from export.metadata import (
    DEFAULT_OPSET,
    base_metadata,
    checkpoint_metadata,
    provenance_metadata,
    set_metadata,
)
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
from plugin_host.inspect_cli import format_metadata
from plugin_host.runtime import ModelLoadError, add_provider_argument, load_model
from training.checkpoint import CheckpointError, read_checkpoint

log = logging.getLogger(__name__)

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
    agent: CreativeAgent,
    opset: int = DEFAULT_OPSET,
    fp16: bool = False,
    *,
    per_frame_balance: bool = True,
) -> onnx.ModelProto:
    """Trace ``agent.core`` with the dynamo exporter: an ONNX graph without metadata.

    per_frame_balance: ``balance`` [B, N] (format version 2, the default); False traces
    the version-1 contract ``balance`` [B] (kept to test that old files still load)."""
    agent = agent.eval()
    module: nn.Module = HalfPrecisionCore(agent.core).eval() if fp16 else agent.core
    k = agent.config.n_bands
    gen = torch.Generator().manual_seed(0)
    balance = torch.tensor([0.5, 0.25])
    if per_frame_balance:
        balance = torch.linspace(0.1, 0.9, EXAMPLE_FRAMES)[None].repeat(2, 1)
    example = (
        torch.randn(2, k, EXAMPLE_FRAMES, generator=gen),
        torch.randn(2, k, EXAMPLE_FRAMES, generator=gen),
        balance,
    )
    batch, frames = torch.export.Dim("batch"), torch.export.Dim("frames")
    dyn = {
        "feat_in": {0: batch, 2: frames},
        "feat_tg": {0: batch, 2: frames},
        "balance": {0: batch, 1: frames} if per_frame_balance else {0: batch},
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
    add_provider_argument(p, default="cpu")  # for the parity check
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
