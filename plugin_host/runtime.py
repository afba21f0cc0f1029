"""Open an exported agent core with ONNX Runtime and read its metadata (no torch).

The ONNX file is self-describing: ``metadata_props`` carry everything the host needs to
rebuild the DSP around the core (sample rate, STFT, band layout) under the keys below.
``export/onnx_export.py`` writes them; :mod:`plugin_host.model_metadata` is their only
reader.

Provider choice (``load_model(provider="auto")``): CUDA is tried only when the NVIDIA driver
library (``libcuda.so.1``) can be opened, and kept only if ``session.get_providers()``
confirms it (onnxruntime-gpu lists CUDA in ``get_available_providers()`` even on machines
without a GPU, then silently runs on CPU). A fallback is logged in one line.

No network: official ONNX Runtime builds (1.31 on Linux) start a telemetry uploader when
the module is imported (a DNS lookup of ``mobile.events.data.microsoft.com`` from a thread
of its own). ``ORT_DISABLE_TELEMETRY=1``, read once as ONNX Runtime initialises, stops the
uploader for the life of the process; ``onnxruntime.disable_telemetry_events()`` is too
late for it. So this module sets the variable before it imports onnxruntime, and is the
host's only importer of onnxruntime (``tests/test_host_network.py`` checks with strace).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"
# Must precede the import below: ONNX Runtime reads it once, while it initialises.
_ORT_IMPORTED_FIRST = "onnxruntime" in sys.modules
os.environ[TELEMETRY_ENV] = "1"

import onnxruntime as ort  # noqa: E402 - after TELEMETRY_ENV is set, on purpose

from plugin_host.dsp import HostDSP  # noqa: E402
from plugin_host.model_metadata import (  # noqa: E402
    FORMAT_VERSION,
    PER_FRAME_BALANCE_VERSION,
    ModelLoadError,
    ModelMetadata,
)

log = logging.getLogger(__name__)
if _ORT_IMPORTED_FIRST:
    log.warning(
        "onnxruntime was imported before plugin_host.runtime; its telemetry may be on "
        "(set %s=1 before starting Python)",
        TELEMETRY_ENV,
    )

INPUT_NAMES = ("feat_in", "feat_tg", "balance")
OUTPUT_NAMES = ("input_mask", "target_mask")
PROVIDERS = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# ONNX Runtime log severities: 0 verbose, 1 info, 2 warning (its default), 3 error, 4 fatal.
_ORT_DEFAULT_SEVERITY = 2
_ORT_QUIET = 4


class BalanceNotSupported(ModelLoadError):
    """A moving balance given to a model file that takes one balance per clip."""


@dataclass
class LoadedModel:
    """An ONNX Runtime session on the core, its metadata and the matching numpy DSP.

    provider: the execution provider the session really runs on
    (``CUDAExecutionProvider`` or ``CPUExecutionProvider``); per_frame_balance: the file
    takes ``balance`` [B, N] (format version 2); False for a version-1 file (``[B]``).
    """

    path: Path
    session: ort.InferenceSession
    metadata: ModelMetadata
    provider: str
    dsp: HostDSP
    per_frame_balance: bool = True

    def check_balance(self, balance: np.ndarray) -> None:
        """Raise ``BalanceNotSupported`` (one line naming the file) when ``balance`` (float32
        [..., N] per frame) moves and this file takes one balance per clip."""
        if not self.per_frame_balance and balance.size and np.ptp(balance) > 0.0:
            raise BalanceNotSupported(
                f"{self.path}: this model file (format version "
                f"{self.metadata.format_version}) takes one balance per clip, not a moving "
                "balance; re-export it with 'creative-agent export' (format version "
                f"{FORMAT_VERSION})"
            )

    def core(
        self, feat_in: np.ndarray, feat_tg: np.ndarray, balance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """feat_in, feat_tg: float32 [B, K, N]; balance: float32 [B, N] (per frame) or [B]
        (per clip) -> two masks [B, K, N]. A version-1 file takes a [B, N] balance only when
        each row is constant (``check_balance``)."""
        k = self.metadata.n_bands
        assert feat_in.ndim == 3 and feat_in.shape[1] == k, (
            f"expected [B, {k}, N], got {feat_in.shape}"
        )
        b, n = feat_in.shape[0], feat_in.shape[2]
        assert feat_tg.shape == feat_in.shape and balance.shape in ((b,), (b, n)), (
            f"balance {balance.shape} for features {feat_in.shape}"
        )
        if self.per_frame_balance and balance.ndim == 1:
            balance = np.repeat(balance[:, None], n, axis=1)
        elif not self.per_frame_balance and balance.ndim == 2:
            self.check_balance(balance)
            balance = balance[:, 0]
        m_in, m_tg = self.session.run(
            list(OUTPUT_NAMES),
            {
                "feat_in": np.ascontiguousarray(feat_in, dtype=np.float32),
                "feat_tg": np.ascontiguousarray(feat_tg, dtype=np.float32),
                "balance": np.ascontiguousarray(balance, dtype=np.float32),
            },
        )
        return m_in, m_tg


def available_cores() -> int:
    """CPU cores this process may run on (respects affinity masks and cgroup pinning)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Options for an offline host: ``threads`` (default: all available cores) for one op,
    ops run one after another, no busy-waiting threads, ONNX Runtime's own log limited to
    errors. Graph optimisation happens here at load (files are shipped unoptimised)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or available_cores()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


def cuda_driver_present() -> bool:
    """True when the NVIDIA driver library (``libcuda.so.1``) can be opened, so a GPU is
    likely usable; without it ONNX Runtime's CUDA provider cannot load."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def _cuda_candidates(provider: str, source: Path) -> bool:
    """Whether to try CUDA for ``provider`` (``auto`` or ``cuda``) on this machine."""
    if provider == "cpu":
        return False
    if CUDA not in ort.get_available_providers():
        if provider == "cuda":
            raise ModelLoadError(
                f"{source}: CUDA was requested but this ONNX Runtime build has no CUDA provider"
            )
        return False
    if not cuda_driver_present():
        if provider == "cuda":
            raise ModelLoadError(
                f"{source}: CUDA was requested but no NVIDIA driver (libcuda.so.1) is present"
            )
        log.info("no NVIDIA driver found (libcuda.so.1); ONNX Runtime runs on CPU")
        return False
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:  # CUDA/cuDNN from the nvidia-* wheels (ORT >= 1.21)
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            try:
                preload(directory="")
            except (OSError, RuntimeError) as exc:
                log.debug("onnxruntime.preload_dlls failed: %s", exc)
        if sink.getvalue().strip():
            log.debug("onnxruntime.preload_dlls: %s", sink.getvalue().strip())
    return True


def _create_session(path: Path, providers: list[str], threads: int | None, quiet: bool) -> Any:
    """An ``InferenceSession``; with ``quiet`` ONNX Runtime's default logger (where a CUDA
    provider that fails to load reports) is silenced while the session is created."""
    ort.disable_telemetry_events()  # non-essential events; the uploader is off already
    if quiet:
        ort.set_default_logger_severity(_ORT_QUIET)
    try:
        return ort.InferenceSession(
            str(path), sess_options=session_options(threads), providers=providers
        )
    finally:
        if quiet:
            ort.set_default_logger_severity(_ORT_DEFAULT_SEVERITY)


def _check_io(session: Any, meta: ModelMetadata, p: Path) -> bool:
    """Check the graph's inputs and outputs; returns whether ``balance`` is per frame."""
    names = tuple(i.name for i in session.get_inputs())
    if names != INPUT_NAMES:
        raise ModelLoadError(f"{p}: unexpected model inputs {names}, expected {INPUT_NAMES}")
    outs = tuple(o.name for o in session.get_outputs())
    if outs != OUTPUT_NAMES:
        raise ModelLoadError(f"{p}: unexpected model outputs {outs}, expected {OUTPUT_NAMES}")
    for node in session.get_inputs()[:2]:
        shape = node.shape
        if len(shape) != 3 or (isinstance(shape[1], int) and shape[1] != meta.n_bands):
            raise ModelLoadError(
                f"{p}: input {node.name} has shape {shape}, metadata says {meta.n_bands} bands"
            )
    rank = len(session.get_inputs()[2].shape)
    want = 2 if meta.format_version >= PER_FRAME_BALANCE_VERSION else 1
    if rank != want:
        raise ModelLoadError(
            f"{p}: input balance has {rank} dimension(s), format version "
            f"{meta.format_version} says {want} ([B, N] from version {PER_FRAME_BALANCE_VERSION})"
        )
    return rank == 2


def load_model(
    path: str | os.PathLike[str], provider: str = "auto", threads: int | None = None
) -> LoadedModel:
    """Open ``path`` with the best provider that really loads.

    provider: ``auto`` tries CUDA when a driver is present and keeps it only if
    ``session.get_providers()`` confirms it, else runs on CPU (one log line says so);
    ``cpu`` forces the CPU provider; ``cuda`` requires CUDA (``ModelLoadError`` otherwise).
    threads: ONNX Runtime intra-op threads and ``scipy.fft`` workers of the host DSP
    (default: all available cores).
    Raises ``ModelLoadError`` with a one-line reason for a missing, non-ONNX, truncated,
    foreign (no agent metadata) or too-new model.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(f"{p}: model file not found")
    if p.stat().st_size == 0:
        raise ModelLoadError(f"{p}: not a loadable ONNX model (empty file)")
    try_cuda = _cuda_candidates(provider, p)
    wanted = [CUDA, CPU] if try_cuda else [CPU]
    try:
        session = _create_session(p, wanted, threads, quiet=try_cuda and provider == "auto")
    except Exception as exc:  # ORT raises its own exception types (Fail, InvalidProtobuf, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"{p}: not a loadable ONNX model ({first})") from exc
    used = session.get_providers()[0]
    if provider == "cuda" and used != CUDA:
        raise ModelLoadError(
            f"{p}: CUDA was requested but ONNX Runtime could not use it (running on {used}); "
            "check the NVIDIA driver and the CUDA/cuDNN libraries"
        )
    if try_cuda and used != CUDA:
        log.info("CUDA provider did not load (libraries or GPU unusable); running on %s", used)
    meta = ModelMetadata.from_props(dict(session.get_modelmeta().custom_metadata_map), str(p))
    per_frame = _check_io(session, meta, p)
    try:
        dsp = HostDSP(meta.n_fft, meta.hop, meta.band_edges, workers=threads or available_cores())
    except ValueError as exc:
        raise ModelLoadError(f"{p}: malformed creative-agent metadata ({exc})") from exc
    log.debug("loaded %s on %s", p, used)
    return LoadedModel(p, session, meta, used, dsp, per_frame)


def add_provider_argument(parser: Any, default: str = "auto") -> None:
    """The ``--provider`` flag every command that runs a model shares (argparse parser)."""
    parser.add_argument(
        "--provider",
        choices=PROVIDERS,
        default=default,
        help=f"ONNX Runtime device: auto (CUDA if it really loads, else CPU), cpu or cuda "
        f"(default {default})",
    )
