"""One benchmark run: every section of the config in order, the targets judged, and the
results as plain JSON values (the source of both bench.json and benchmarks.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.config import PAIR_SEED, RSS_RATIO_KEY, SAMPLE_RATE, SCHEMA, TARGETS, BenchConfig
from bench.context import Setup, machine_info, prepare
from bench.cpu_budget import cpu_budget
from bench.end_to_end import section_chains
from bench.faults import RECORD
from bench.gpu import section_gpu
from bench.host_vs_torch import section_host
from bench.memory import section_memory
from bench.mixes import section_baselines
from bench.osc_roundtrip import section_osc
from bench.processes import section_processes
from bench.steal import cpu_ticks, steal_percent
from bench.training import section_train

log = logging.getLogger(__name__)

# the figures of each section, None in the results when the section did not run
NULL_KEYS = {
    "host": (
        "host_rtf",
        "torch_rtf",
        "floor_rtf",
        "fft_floor_rtf",
        "host_vs_torch_ratio",
        "host_vs_floor_ratio",
        "host_vs_fft_floor_ratio",
        "host_cpu_seconds",
        "fft_floor_cpu_seconds",
        "host_1thread_cpu_seconds",
        "host_usage",
        "host_1thread_usage",
        "parallel",
    ),
    "chains": (
        "end_to_end_rtf",
        "end_to_end_seconds",
        "end_to_end_cpu_seconds",
        "end_to_end_usage",
        "chain_plugins_cpu_seconds",
    ),
    "processes": ("render_batch_rtf", "cold_start_s"),
    "osc": ("osc_roundtrip_p50_ms", "osc_roundtrip_p95_ms"),
    "memory": (RSS_RATIO_KEY, "memory_seconds"),
    "baselines": ("baselines",),
    "train": ("ddp_samples_per_s_1", "ddp_samples_per_s_2", "ddp_scaling_2_over_1"),
    "gpu": ("gpu", "gpu_ort_cuda_rtf", "gpu_train_samples_per_s"),
}


def judge(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target: value, bound, met (None when not measured), informational."""
    out = {}
    for t in TARGETS:
        value = results.get(t.key)
        met = None if value is None else (value >= t.bound if t.op == ">=" else value <= t.bound)
        out[t.key] = {
            "value": value,
            "target": f"{t.op} {t.bound:g}",
            "met": met,
            "informational": t.informational,
        }
    return out


@contextlib.contextmanager
def _restore_threads() -> Iterator[None]:
    """Give torch back its thread count when the benchmark ends (it is process-wide)."""
    import torch

    before = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _sections(s: Setup, results: dict[str, Any]) -> list[tuple[str, Callable[[], Any]]]:
    """(name, section) in the order they run; the baselines reuse section 1's host time."""
    return [
        ("host", lambda: section_host(s)),
        ("chains", lambda: section_chains(s)),
        ("processes", lambda: section_processes(s)),
        ("osc", lambda: section_osc(s)),
        ("baselines", lambda: section_baselines(s, results.get("host_seconds"))),
        ("memory", lambda: section_memory(s)),
        ("train", lambda: section_train(s)),
        ("gpu", lambda: section_gpu(s)),
    ]


def _header(cfg: BenchConfig) -> dict[str, Any]:
    """The results before any section: schema, machine, config, every figure None."""
    results: dict[str, Any] = {"schema": SCHEMA, "quick": cfg.quick, "machine": machine_info()}
    config = dataclasses.asdict(cfg)
    results["config"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in config.items()}
    results["config"]["pair"] = (
        f"training.data.synth.generate_pair(validation_config(seconds={cfg.seconds:g}), "
        f"{PAIR_SEED}): stereo, {SAMPLE_RATE} Hz"
    )
    for keys in NULL_KEYS.values():
        results.update(dict.fromkeys(keys))
    return results


def run(cfg: BenchConfig) -> dict[str, Any]:
    """Every section of ``cfg.sections``; the JSON-ready results (also the markdown's source)."""
    started, run_ticks = time.perf_counter(), cpu_ticks()
    results = _header(cfg)
    steal: dict[str, float | None] = {}  # CPU steal % per section (bench.steal)
    runs: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="creative-agent-bench-") as tmp_name,
        _restore_threads(),
    ):
        s = prepare(cfg, Path(tmp_name))
        results["model"] = s.model_info
        for name, section in _sections(s, results):
            if name not in cfg.sections:
                continue
            t, ticks = time.perf_counter(), cpu_ticks()
            log.info("bench: %s ...", name)
            got = section()
            runs[name] = got.pop("runs_s", None)
            results.update(got)
            seconds[name] = round(time.perf_counter() - t, 2)
            steal[name] = steal_percent(ticks, cpu_ticks())
    results["section_seconds"] = seconds
    results["steal_percent"] = {"run": steal_percent(run_ticks, cpu_ticks()), **steal}
    results["targets"] = judge(results)
    results["cpu_budget"] = cpu_budget(results, cfg.threads)
    results["runs_s"] = runs
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    recorded = cfg.out / RECORD  # python -m bench.faults --record (not re-measured here)
    if recorded.is_file():
        results["faults"] = json.loads(recorded.read_text(encoding="utf-8"))
    finite: dict[str, Any] = plain_json(results)
    return finite


def plain_json(obj: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, tuples to lists, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): plain_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
