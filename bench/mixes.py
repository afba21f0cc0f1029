"""Section 5: the agent against the DSP baselines (50/50 sum, channel vocoder): the
baselines timed as read -> mix -> write, every output scored with the report's measures."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.audio import read_audio, write_audio
from bench.baselines import channel_vocoder
from bench.context import Setup, host_render
from bench.timing import median, rounds, rtf
from plugin_host.measures import measure_clip
from plugin_host.mixers import plain_sum

Mixer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _job(s: Setup, mix: Mixer, name: str) -> Callable[[], None]:
    """Read the pair, mix it, write ``name``.wav: one timed call of a baseline."""
    rate = s.model.metadata.sample_rate

    def run() -> None:
        x, y = (read_audio(p, rate) for p in s.paths)
        write_audio(s.out(name), mix(x, y), rate)

    return run


def section_baselines(s: Setup, host_seconds: float | None) -> dict[str, Any]:
    """Time the baselines, then score them, the agent's output (``host_seconds``: its time
    from section 1, None when that did not run) and the target copied (for reference)."""
    rate = s.model.metadata.sample_rate
    contenders = {
        "sum": _job(s, plain_sum, "sum"),
        "vocoder": _job(s, lambda x, y: channel_vocoder(x, y, rate), "vocoder"),
    }
    times = rounds(contenders, s.cfg.runs, s.cfg.warmup, "baselines")
    x, y = (read_audio(p, rate) for p in s.paths)
    if not s.out("host").exists():
        host_render(s, s.out("host"))
    outputs = {
        "agent": read_audio(s.out("host"), rate),
        "sum": read_audio(s.out("sum"), rate),
        "vocoder": read_audio(s.out("vocoder"), rate),
        "target_copy": y,
    }
    walls = {"agent": host_seconds, "target_copy": None}
    walls.update({name: median(times[name]) for name in times})
    rows: dict[str, dict[str, Any]] = {}
    for name, out in outputs.items():
        t = time.perf_counter()
        measures = measure_clip(out, x, y, s.model.dsp, rate)
        wall = walls[name]
        rows[name] = {
            "seconds": wall,
            "rtf": rtf(s.cfg.seconds, wall) if wall else None,
            "measure_s": time.perf_counter() - t,
            **measures,
        }
    return {"baselines": rows, "runs_s": times}
