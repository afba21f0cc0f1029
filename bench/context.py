"""What every benchmark section shares: the machine it ran on, the model (torch and ONNX,
same weights), the generated pair (arrays and files), and one host render."""

from __future__ import annotations

import datetime
import logging
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.audio import write_pair
from bench.config import PAIR_SEED, SAMPLE_RATE, BenchConfig, BenchError
from bench.timing import TimedModel, copy_model
from plugin_host.chain import Chain
from plugin_host.runtime import available_cores, load_model

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


def _cpu_and_ram() -> tuple[str, float | None]:
    """The CPU model name and the RAM in GiB, from /proc (``unknown``/None elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError):
        log.info("no /proc/cpuinfo or /proc/meminfo: CPU model and RAM not recorded")
        return platform.processor() or "unknown", None
    return (names[0] if names else platform.processor() or "unknown"), round(kib / 2**20, 1)


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, text=True, capture_output=True, check=True)
    return done.stdout.strip()


def _commit() -> tuple[str | None, bool | None]:
    """The checkout's short commit and whether it has uncommitted changes (None, None when
    it is not a git checkout)."""
    try:
        return _git("rev-parse", "--short", "HEAD"), bool(_git("status", "--porcelain"))
    except (OSError, subprocess.CalledProcessError):
        log.info("not a git checkout: commit not recorded")
        return None, None


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, versions, date and load average (other processes may be running)."""
    import onnxruntime
    import pedalboard
    import scipy
    import torch

    cpu, ram_gib = _cpu_and_ram()
    commit, dirty = _commit()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_available": available_cores(),
        "ram_gib": ram_gib,
        "platform": platform.platform(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "git_commit": commit,
        "git_dirty": dirty,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__,
            "pedalboard": pedalboard.__version__,
        },
    }


@dataclass
class Setup:
    """What every section shares: the model (torch and ONNX, same weights), the pair (arrays
    float32 [2, T] at :data:`SAMPLE_RATE`, and WAV files) and a scratch folder."""

    cfg: BenchConfig
    tmp: Path
    agent: Any  # model.CreativeAgent (torch is imported lazily)
    onnx_path: Path
    model: TimedModel
    model_info: dict[str, Any]
    pair: tuple[np.ndarray, np.ndarray]
    paths: tuple[Path, Path]

    def out(self, name: str) -> Path:
        return self.tmp / f"{name}.wav"


def _agent(cfg: BenchConfig) -> tuple[Any, str]:
    """The checkpoint's agent, or a fresh one of ``cfg.size``; with a line saying which."""
    from export.onnx_export import agent_from_checkpoint, fresh_agent
    from training.checkpoint import CheckpointError

    if cfg.checkpoint is None:
        source = f"fresh {cfg.size} (untrained, randomised output layer, seed 0)"
        return fresh_agent(cfg.size), source
    try:
        agent, _ = agent_from_checkpoint(cfg.checkpoint)
    except CheckpointError as exc:
        raise BenchError(str(exc)) from exc
    return agent, f"checkpoint {cfg.checkpoint}"


def prepare(cfg: BenchConfig, tmp: Path) -> Setup:
    """Build or load the model, export its core once (no parity check: that is the export
    command's job), generate the pair and write it as WAV."""
    import torch

    from export.onnx_export import export_core
    from training.data.synth import generate_pair, validation_config

    t = time.perf_counter()
    agent, source = _agent(cfg)
    onnx_path = export_core(agent, tmp / "model.onnx")
    export_s = time.perf_counter() - t
    t = time.perf_counter()
    model: TimedModel = copy_model(
        load_model(onnx_path, provider="cpu", threads=cfg.threads), TimedModel
    )
    load_s = time.perf_counter() - t
    model.dsp.workers = cfg.threads
    torch.set_num_threads(cfg.threads)
    syn = validation_config(seconds=cfg.seconds, sample_rate=SAMPLE_RATE, channels=2)
    pair = generate_pair(syn, PAIR_SEED)
    paths = write_pair(pair, cfg.seconds, tmp, "pair")
    info = {
        "source": source,
        "size": agent.config.size,
        "n_params": sum(p.numel() for p in agent.parameters()),
        "export_s": round(export_s, 3),
        "load_model_s": round(load_s, 3),
        "provider": model.provider,
    }
    return Setup(cfg, tmp, agent, onnx_path, model, info, pair, paths)


def host_render(
    s: Setup,
    out: Path,
    chain: Chain | None = None,
    report: Path | None = None,
    model: TimedModel | None = None,
) -> tuple[dict[str, Any], float, float]:
    """One render of the pair through the host (``plugin_host.render``) to ``out`` with
    ``model`` (default: the setup's); returns (report, wall seconds, ONNX core seconds)."""
    from plugin_host.renderer import render

    m = model or s.model
    m.core_seconds = 0.0
    t = time.perf_counter()
    rep = render(*s.paths, m, out, chain=chain, report_path=report, overwrite=True)
    return rep, time.perf_counter() - t, m.core_seconds
