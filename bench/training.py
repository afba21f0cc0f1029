"""Section 6: training samples/s of ``torchrun`` with 1 and 2 CPU processes (gloo), and the
job runner the GPU section reuses for NCCL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import BenchConfig, BenchError
from bench.context import Setup


def _train_argv(cfg: BenchConfig, out: Path, nproc: int, device: str, size: str) -> list[str]:
    """``training.train`` arguments of one benchmark job (``--preset default``)."""
    batch = cfg.train_batch
    return [
        *("--preset", "default", "--model_size", size, "--device", device),
        *("--epochs", str(cfg.train_epochs), "--steps_per_epoch", str(cfg.train_steps)),
        *("--batch_size", str(batch), "--crop_seconds", str(cfg.train_crop_s)),
        *("--train_pairs", str(max(32, 2 * batch * nproc)), "--valid_pairs", "1"),
        *("--valid_seconds", "1.0", "--seed", "0", "--no_progress", "--out", str(out)),
    ]


def _run_job(cmd: list[str], env: dict[str, str], nproc: int, timeout_s: float) -> float:
    """Run one torchrun job; its wall seconds, or :class:`BenchError` with stderr's last line."""
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"torchrun --nproc_per_node={nproc}: over {exc.timeout:g} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"torchrun --nproc_per_node={nproc} failed ({proc.returncode}): {tail}")
    return time.perf_counter() - t


def train_throughput(
    cfg: BenchConfig,
    folder: Path,
    nproc: int,
    device: str = "cpu",
    size: str | None = None,
    pin_core: int | None = None,
) -> dict[str, Any]:
    """Samples/s of ``torchrun --nproc_per_node=nproc`` training, from the ``epoch_seconds``
    of metrics.jsonl: every epoch after the first (warm-up) one, or the only one. An epoch's
    time holds its steps and a one-pair validation; start-up, plots and checkpoints are
    outside it. pin_core: run the job on that one core (so each process has one thread)."""
    from training.distrib import launch_env
    from training.train import torchrun_command

    size = size or cfg.train_size
    out = folder / f"train_{device}_{nproc}{'_pinned' if pin_core is not None else ''}"
    cores = 1 if pin_core is not None else cfg.threads
    threads = max(1, cores // nproc)  # what training.distrib gives each process
    env = {**launch_env(), "OMP_NUM_THREADS": str(threads)}
    cmd = torchrun_command(nproc, _train_argv(cfg, out, nproc, device, size))
    if pin_core is not None:
        cmd = [sys.executable, "-m", "bench.pinned", str(pin_core), *cmd]
    wall = _run_job(cmd, env, nproc, cfg.train_timeout_s)
    lines = (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    epochs = [json.loads(ln) for ln in lines if ln.strip()]
    timed = epochs[1:] or epochs
    world = int(timed[-1]["world_size"])
    samples = cfg.train_steps * cfg.train_batch * world
    seconds = sum(float(e["epoch_seconds"]) for e in timed)
    return {
        "processes": nproc,
        "world_size": world,
        "device": device,
        "backend": "nccl" if device == "cuda" else "gloo",
        "threads_per_process": threads if device == "cpu" else None,
        "pinned_core": pin_core,
        "model_size": size,
        "samples_per_epoch": samples,
        "timed_epochs": len(timed),
        "epoch_seconds": seconds / len(timed),
        "samples_per_s": samples * len(timed) / seconds,
        "wall_s": wall,
    }


def section_train(s: Setup) -> dict[str, Any]:
    """torchrun with 1 and 2 CPU processes (gloo); for reference (not in quick runs), also
    1 process pinned to one core, i.e. on one thread."""
    one = train_throughput(s.cfg, s.tmp, 1)
    two = train_throughput(s.cfg, s.tmp, 2)
    out: dict[str, Any] = {
        "ddp_samples_per_s_1": one["samples_per_s"],
        "ddp_samples_per_s_2": two["samples_per_s"],
        "ddp_scaling_2_over_1": two["samples_per_s"] / one["samples_per_s"],
        "train": {"1": one, "2": two},
    }
    if s.cfg.threads > 1 and not s.cfg.quick and hasattr(os, "sched_getaffinity"):
        pinned = train_throughput(s.cfg, s.tmp, 1, pin_core=max(os.sched_getaffinity(0)))
        out["train"]["1_pinned"] = pinned
        out["ddp_samples_per_s_1_pinned"] = pinned["samples_per_s"]
    return out
