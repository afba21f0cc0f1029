"""Section 5: the host's commands as a user runs them, each in fresh processes, process start
included: ``creative-agent render-batch`` over ``batch_pairs`` pairs of ``batch_seconds``
with ``batch_workers`` workers (throughput in × real time) and ``creative-agent render`` of a
``cold_seconds`` pair (the wall time of the whole process: the cold start)."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.audio import write_pair
from bench.config import BenchError
from bench.context import Setup
from bench.timing import median, rounds, rtf

COMMAND_TIMEOUT_S = 600.0  # one command (50 pairs of 8 s took ~4 s on 2 loaded cores)


def cli(*args: str) -> list[str]:
    """``creative-agent ARGS`` as this interpreter runs it (the venv's entry point's code)."""
    return [sys.executable, "-m", "plugin_host.cli", *args]


def run_command(cmd: list[str], what: str) -> float:
    """Run ``cmd``; its wall seconds. Raises BenchError (its last stderr line) on failure."""
    t = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what}: over {exc.timeout:g} s") from exc
    wall = time.perf_counter() - t
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"{what} failed (exit {done.returncode}): {tail}")
    return wall


def write_manifest(s: Setup, pairs: int, inputs: tuple[Path, Path], folder: Path) -> Path:
    """A render-batch manifest of ``pairs`` rows, each the same pair into its own output."""
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["input", "target", "output"])
        for i in range(pairs):
            w.writerow([str(inputs[0]), str(inputs[1]), str(folder / f"out_{i:03d}.wav")])
    return manifest


def section_processes(s: Setup) -> dict[str, Any]:
    """``render_batch_rtf`` (median of ``runs``) and ``cold_start_s`` (median of ``runs``),
    each after ``warmup`` untimed runs (the files in the page cache)."""
    cfg = s.cfg
    folder = s.tmp / "batch"
    folder.mkdir(exist_ok=True)
    batch_pair = write_pair(s.pair, cfg.batch_seconds, folder, "pair")
    manifest = write_manifest(s, cfg.batch_pairs, batch_pair, folder)
    batch_cmd = cli("render-batch", str(manifest), "--model", str(s.onnx_path), "--workers",
                    str(cfg.batch_workers), "--overwrite", "--quiet", "--provider", "cpu")  # fmt: skip
    cold_pair = write_pair(s.pair, cfg.cold_seconds, s.tmp, "cold")
    cold_cmd = cli("render", "--input", str(cold_pair[0]), "--target", str(cold_pair[1]),
                   "--model", str(s.onnx_path), "-o", str(s.out("cold")), "--overwrite",
                   "--provider", "cpu")  # fmt: skip
    walls: dict[str, list[float]] = {"render_batch": [], "cold_start": []}
    contenders = {
        "render_batch": lambda: walls["render_batch"].append(
            run_command(batch_cmd, "render-batch")
        ),
        "cold_start": lambda: walls["cold_start"].append(run_command(cold_cmd, "render")),
    }
    rounds(contenders, cfg.runs, cfg.warmup, "render-batch and cold start")
    timed = {k: v[cfg.warmup :] for k, v in walls.items()}
    batch_s = median(timed["render_batch"])
    audio_s = cfg.batch_pairs * cfg.batch_seconds
    return {
        "render_batch_seconds": batch_s,
        "render_batch_rtf": rtf(audio_s, batch_s),
        "cold_start_s": median(timed["cold_start"]),
        "processes": {
            "render_batch": {
                "pairs": cfg.batch_pairs,
                "seconds_each": cfg.batch_seconds,
                "workers": cfg.batch_workers,
                "command": " ".join(["creative-agent", *batch_cmd[3:]]),
            },
            "cold_start": {
                "seconds": cfg.cold_seconds,
                "command": " ".join(["creative-agent", *cold_cmd[3:]]),
            },
        },
        "runs_s": timed,
    }
