"""How the benchmarks time things: interleaved rounds, medians, RTF, and the seconds per
stage of a host render (ONNX core time counted by :class:`TimedModel`)."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from bench.config import SETTLE_S
from bench.usage import Usage
from plugin_host.runtime import LoadedModel


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def rtf(audio_s: float, wall_s: float) -> float:
    """Audio seconds per wall second (how many times faster than real time)."""
    return audio_s / wall_s


def rounds(
    contenders: dict[str, Callable[[], Any]],
    runs: int,
    warmup: int,
    desc: str,
    settle_s: float = SETTLE_S,
    cpu: dict[str, list[float]] | None = None,
    usage: dict[str, list[dict[str, float]]] | None = None,
) -> dict[str, list[float]]:
    """Wall seconds of each contender, ``warmup`` untimed + ``runs`` timed calls, taken in
    rounds: every contender once per round, the order rotated by one each round (so no
    contender always follows the same one), ``settle_s`` of idle before each call (worker
    threads of the previous call go quiet). ``cpu``: filled with each timed call's CPU
    seconds (``time.process_time``: every thread of this process), when given; ``usage``:
    with each timed call's :meth:`bench.usage.Usage.since` (kernel time, context switches,
    page faults), when given."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for per_call in (cpu, usage):
        if per_call is not None:
            per_call.update({name: [] for name in names})
    for r in tqdm(range(warmup + runs), desc=desc, leave=False, disable=None):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            time.sleep(settle_s)
            u = Usage.now()
            c = time.process_time()
            t = time.perf_counter()
            contenders[name]()
            dt = time.perf_counter() - t
            dc = time.process_time() - c
            if r >= warmup:
                times[name].append(dt)
                if cpu is not None:
                    cpu[name].append(dc)
                if usage is not None:
                    usage[name].append(Usage.now().since(u))
    return times


def copy_model(model: LoadedModel, cls: type[LoadedModel]) -> Any:
    """``model``'s fields (session, metadata, provider, DSP) in an instance of ``cls``, a
    subclass of :class:`LoadedModel` that changes how the core runs."""
    return cls(**{f.name: getattr(model, f.name) for f in dataclasses.fields(LoadedModel)})


@dataclass
class TimedModel(LoadedModel):
    """A :class:`LoadedModel` that adds up the wall seconds spent in its ONNX core."""

    core_seconds: float = 0.0

    def core(
        self, feat_in: np.ndarray, feat_tg: np.ndarray, balance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        t = time.perf_counter()
        try:
            return super().core(feat_in, feat_tg, balance)
        finally:
            self.core_seconds += time.perf_counter() - t


def stage_split(report: dict[str, Any], wall: float, core_s: float) -> dict[str, float]:
    """Seconds per stage of one render, from the render's own timers: ``io`` (read +
    write), ``chains``, ``core`` (ONNX Runtime), ``report``, and ``dsp``: the agent's time
    less the core's (numpy STFT / features / masking / iSTFT and the glue between them; the
    rest of the wall time when the report has no ``agent`` timer). The stages run on
    threads of their own (``plugin_host/stage_thread.py``), so their sum can exceed ``wall``."""
    t = report["timings_s"]
    split = {
        "io": float(t.get("read", 0.0)) + float(t.get("write", 0.0)),
        "chains": float(t.get("chains", 0.0)),
        "core": core_s,
        "report": float(t.get("report", 0.0)),
        "load_model": float(t.get("load_model", 0.0)),
    }
    agent = t.get("agent")
    rest = float(agent) - core_s if agent is not None else wall - sum(split.values())
    split["dsp"] = max(0.0, rest)
    return split


def median_split(splits: list[dict[str, float]]) -> dict[str, float]:
    """Stage by stage median of several :func:`stage_split` results."""
    return {k: median([s[k] for s in splits]) for k in splits[0]}
