"""The experiment's training runs: one ``creative-agent train`` job per preset, started the
way the trainer starts itself (``training.launch.train_launch``), stopped at the time limit."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from training.experiment_config import ExperimentConfig
from training.launch import Launch
from training.launch import train_launch as launch_training

log = logging.getLogger(__name__)


def train_flags(name: str, exp: ExperimentConfig) -> list[str]:
    """The ``creative-agent train`` flags that train preset ``name`` into ``exp.out / name``."""
    flags = ["--preset", name, "--out", str(exp.out / name)]
    for key, value in exp.train_overrides().items():
        if isinstance(value, bool):
            flags.append(f"--{key}" if value else f"--no_{key}")
        else:
            flags += [f"--{key}", str(value)]
    return flags


def train_launch(name: str, exp: ExperimentConfig) -> Launch:
    """The job that trains preset ``name``: ``training.launch.train_launch`` (torchrun with
    ``exp.nproc`` processes, or plain python for one; the trainer's launch environment)."""
    return launch_training(exp.nproc, train_flags(name, exp))


def run_training(name: str, exp: ExperimentConfig) -> dict[str, Any]:
    """Train one preset with the wall-clock limit. Returns status ("ok", "time_limit" or
    "failed"), return code, seconds, load averages before/after and the command."""
    run_dir = exp.out / name
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("metrics.jsonl", "last.pt", "best_model.pt", "train.log"):
        (run_dir / stale).unlink(missing_ok=True)  # a fresh run, not a resume
    job = train_launch(name, exp)
    cmd = job.command
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    log.info("training %s: %s", name, " ".join(cmd))
    with open(run_dir / "stdout.log", "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=job.env
        )
        status = "ok"
        try:
            rc = proc.wait(timeout=exp.minutes * 60.0)
        except subprocess.TimeoutExpired:
            status = "time_limit"
            log.warning("%s: stopped at the %.1f-minute limit", name, exp.minutes)
            _stop(proc)
            rc = proc.returncode
    seconds = time.perf_counter() - t0
    if status == "ok" and rc != 0:
        status = "failed"
        log.error("%s: training exited with code %s (see %s)", name, rc, run_dir / "stdout.log")
    return dict(
        status=status,
        returncode=rc,
        train_seconds=seconds,
        load_before=list(load_before),
        load_after=list(os.getloadavg()),
        command=" ".join(cmd),
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this module started (torchrun and its workers), then
    SIGKILL after 30 s."""
    for sig, wait in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The epoch records of a run's ``metrics.jsonl`` (missing file: none)."""
    if not path.exists():
        return []
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not a JSON line ({exc})") from exc
    return records
