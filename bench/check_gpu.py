"""``creative-agent check-gpu [--json]`` (``make gpu-check``): does this machine's GPU path
work, in one command and at most ~5 minutes?

On a machine without CUDA it says ``skipped: no CUDA device`` and exits 0. With CUDA:

1. ONNX Runtime's CUDA provider really loads (``session.get_providers()`` of a ``tiny``
   core opened with ``provider="cuda"``);
2. the export parity check runs on CUDA (``export.onnx_export.export_model(provider=
   "cuda")``); the run is judged against the fp32 bound (``FP32_TOLERANCE``: max abs
   1e-4, SNR >= 60 dB) and the TF32 bound (:data:`TF32_TOLERANCE`: 2e-3 / 50 dB; TF32
   keeps a 10-bit mantissa like fp16, and ONNX Runtime's CUDA kernels may use it); the
   check passes on the TF32 bound, the fp32 verdict is reported;
3. a few NCCL training steps with 2 processes (one per GPU: NCCL cannot put two ranks on
   one device, so with one GPU the run has 1 process and the summary says so), with and
   without ``--amp``;
4. the bench's GPU section (``bench.gpu.section_gpu``, quick sizes).

One JSON summary goes to stdout (``--json``: only it; otherwise a line per check first).
Exit status: 0 when every check passed or CUDA is absent, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from export.parity import FP16_TOLERANCE, FP32_TOLERANCE, Tolerance

log = logging.getLogger(__name__)

# TF32: 10 explicit mantissa bits, the unit round-off of fp16 -> fp16's export bound
TF32_TOLERANCE = Tolerance(FP16_TOLERANCE.max_abs, FP16_TOLERANCE.min_snr_db)
TRAIN_TIMEOUT_S = 90  # per training job (4 jobs at most: well inside the 5 minutes)
TRAIN_FLAGS = [
    "--preset", "default", "--model_size", "tiny", "--epochs", "1", "--steps_per_epoch", "3",
    "--batch_size", "2", "--crop_seconds", "0.5", "--train_pairs", "8", "--valid_pairs", "1",
    "--valid_seconds", "1.0", "--device", "cuda", "--no_progress",
]  # fmt: skip


def _timed(name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    t = time.perf_counter()
    try:
        out = {"ok": True, **fn()}
    except Exception as exc:  # reported in the summary: one failing check must not hide the others
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    out["seconds"] = round(time.perf_counter() - t, 2)
    log.info("%s: %s", name, "ok" if out["ok"] else out["error"])
    return out


def check_provider(tmp: Path) -> dict[str, Any]:
    from export.onnx_export import export_core, fresh_agent
    from plugin_host.runtime import load_model

    model = load_model(export_core(fresh_agent("tiny"), tmp / "tiny.onnx"), provider="cuda")
    providers = list(model.session.get_providers())
    if providers[0] != "CUDAExecutionProvider":
        raise RuntimeError(f"session runs on {providers}, not CUDAExecutionProvider")
    return {"providers": providers}


def _within(err: float, snr: float, tol: Tolerance) -> bool:
    return err <= tol.max_abs and snr >= tol.min_snr_db


def check_parity(tmp: Path) -> dict[str, Any]:
    from export.onnx_export import export_model, fresh_agent

    res = export_model(
        fresh_agent("tiny"), tmp / "parity.onnx", provider="cuda", tolerance=TF32_TOLERANCE,
        progress=False,
    )  # fmt: skip
    assert res.parity is not None
    err = max(c.max_abs_err for c in res.parity.results)
    snr = min(c.snr_db for c in res.parity.results)
    return {
        "provider": res.parity.provider,
        "max_abs_err": err,
        "min_snr_db": snr,
        "fp32_bound": [FP32_TOLERANCE.max_abs, FP32_TOLERANCE.min_snr_db],
        "tf32_bound": [TF32_TOLERANCE.max_abs, TF32_TOLERANCE.min_snr_db],
        "within_fp32": _within(err, snr, FP32_TOLERANCE),
        "within_tf32": _within(err, snr, TF32_TOLERANCE),
    }


def check_training(tmp: Path, nproc: int, amp: bool) -> dict[str, Any]:
    from training.distrib import launch_env
    from training.launch import torchrun_command

    out = tmp / f"train_{nproc}{'_amp' if amp else ''}"
    argv = [*TRAIN_FLAGS, "--out", str(out), "--amp" if amp else "--no_amp"]
    cmd = torchrun_command(nproc, argv)
    proc = subprocess.run(
        cmd, env=launch_env(), capture_output=True, text=True, timeout=TRAIN_TIMEOUT_S
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"training exited {proc.returncode}: {tail[0]}")
    last = json.loads((out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    return {"processes": nproc, "amp": amp, "world_size": last["world_size"],
            "loss": last["loss/total"], "step": last["step"]}  # fmt: skip


def check_bench(tmp: Path) -> dict[str, Any]:
    from bench.config import BenchConfig
    from bench.context import prepare
    from bench.gpu import section_gpu

    cfg = BenchConfig.quick_config(tmp / "bench")
    return section_gpu(prepare(cfg, tmp))


def run_checks(tmp: Path) -> dict[str, Any]:
    """Every check (see the module docstring) on the CUDA device(s) of this machine."""
    import torch

    if not torch.cuda.is_available():
        return {"cuda": False, "skipped": "no CUDA device", "ok": True}
    gpus = torch.cuda.device_count()
    nproc = min(2, gpus)
    checks = {
        "ort_cuda_provider": _timed("ort_cuda_provider", lambda: check_provider(tmp)),
        "export_parity_cuda": _timed("export_parity_cuda", lambda: check_parity(tmp)),
        "nccl_train": _timed("nccl_train", lambda: check_training(tmp, nproc, False)),
        "nccl_train_amp": _timed("nccl_train_amp", lambda: check_training(tmp, nproc, True)),
        "bench_gpu": _timed("bench_gpu", lambda: check_bench(tmp)),
    }
    notes = [] if gpus >= 2 else ["1 GPU: NCCL trained with 1 process (2 ranks need 2 GPUs)"]
    return {
        "cuda": True,
        "device": torch.cuda.get_device_name(0),
        "gpus": gpus,
        "checks": checks,
        "notes": notes,
        "ok": all(c["ok"] for c in checks.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="creative-agent check-gpu",
        description="Check the GPU paths (ORT CUDA provider, CUDA export parity, NCCL "
        "training with and without --amp, the bench's GPU section); one JSON summary.",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON summary")
    args = parser.parse_args(argv)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="check-gpu-") as tmp:
        summary = run_checks(Path(tmp))
    summary["seconds"] = round(time.perf_counter() - t, 2)
    if not args.json:
        if "skipped" in summary:
            print(f"skipped: {summary['skipped']}")
        for name, c in summary.get("checks", {}).items():
            print(f"{name}: {'ok' if c['ok'] else 'FAILED ' + c['error']} ({c['seconds']} s)")
    print(json.dumps(summary, sort_keys=True))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
