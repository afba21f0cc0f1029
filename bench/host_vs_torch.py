"""Sections 1-2: the host vs PyTorch eager vs the floor vs the FFT floor, interleaved round
by round; PyTorch again on one thread, its best thread count taken for the ratio."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.audio import read_audio, write_audio
from bench.context import Setup, host_render
from bench.fft_floor import fft_floor
from bench.floor import floor_render, identity_core
from bench.parallel import parallel_throughput
from bench.timing import TimedModel, copy_model, median, median_split, rounds, rtf, stage_split
from bench.usage import median_usage
from plugin_host.measures import MEASURES
from plugin_host.pipeline import context_frames, default_chunk_frames
from plugin_host.runtime import load_model


def torch_render(s: Setup, out: Path) -> None:
    """The PyTorch path doing the host's job: read both files, the checkpoint's forward pass
    (torch.stft / istft inside ``CreativeAgent``) under ``inference_mode``, write."""
    import torch

    rate = s.agent.config.sample_rate
    x, y = (read_audio(p, rate) for p in s.paths)
    with torch.inference_mode():
        audio = s.agent(torch.from_numpy(x)[None], torch.from_numpy(y)[None], 0.5).audio[0]
    write_audio(out, audio.numpy(), rate)


def _torch_one_thread(s: Setup) -> dict[str, list[float]]:
    """PyTorch again on one thread, in its own rounds (switching the thread count between
    timed runs would time the thread pool's rebuild)."""
    import torch

    torch.set_num_threads(1)
    try:
        one = {"torch_1thread": lambda: torch_render(s, s.out("torch"))}
        return rounds(one, s.cfg.runs, s.cfg.warmup, "torch on one thread")
    finally:
        torch.set_num_threads(s.cfg.threads)


def _host_one_thread(s: Setup) -> dict[str, Any]:
    """The host render on one thread (its stages in turn, as in a render-batch worker), so
    that its stages' seconds do not overlap: where the time goes, without contention. Its
    CPU seconds and :mod:`bench.usage` counters are the render's work without threads."""
    one: TimedModel = copy_model(load_model(s.onnx_path, provider="cpu", threads=1), TimedModel)
    runs: list[tuple[dict[str, Any], float, float]] = []
    cpu: dict[str, list[float]] = {}
    usage: dict[str, list[dict[str, float]]] = {}
    call = {"host1": lambda: runs.append(host_render(s, s.out("host1"), model=one))}
    rounds(call, s.cfg.runs, s.cfg.warmup, "host on one thread", cpu=cpu, usage=usage)
    timed = runs[s.cfg.warmup :]
    wall = median([w for _, w, _ in timed])
    return {
        "host_1thread_seconds": wall,
        "host_1thread_cpu_seconds": median(cpu["host1"]),
        "host_1thread_usage": median_usage(usage["host1"]),
        "host_1thread_stages_s": median_split([stage_split(r, w, c) for r, w, c in timed]),
    }


def _parallel(s: Setup) -> dict[str, Any]:
    """This machine's parallel throughput (:mod:`bench.parallel`) on the FFT floor's work
    on one FFT thread: the most ``threads`` threads of a render could get."""
    return parallel_throughput(_fft_floor_call(s, 1), s.cfg.threads, s.cfg.runs, s.cfg.warmup)


def _fft_floor_call(s: Setup, workers: int) -> Callable[[], None]:
    """The FFT floor (bench.fft_floor) on the pair, at the model's STFT, the host's chunk
    and ``workers`` FFT threads."""
    dsp = s.model.dsp
    chunk = default_chunk_frames(context_frames(s.model.metadata))
    x, y = s.pair

    def call() -> None:
        fft_floor(x, y, dsp.n_fft, dsp.hop, workers, chunk)

    return call


def _ratios(med: dict[str, float], times: dict[str, list[float]], threads: int) -> dict[str, Any]:
    """The host's ratios to PyTorch (at its best thread count: ``threads`` or 1) and to
    both floors, from the median (and least disturbed) seconds of each contender."""
    torch_keys = [k for k in ("torch", "torch_1thread") if k in med]
    best_torch = min(torch_keys, key=lambda k: med[k])
    out: dict[str, Any] = {
        "torch_best_threads": 1 if best_torch == "torch_1thread" else threads,
        "host_vs_torch_ratio": med[best_torch] / med["host"],
        "host_vs_torch_threads_ratio": med["torch"] / med["host"],
        "host_vs_floor_ratio": med["host"] / med["floor"],
        "host_vs_fft_floor_ratio": med["host"] / med["fft_floor"],
    }
    if "torch_1thread" in med:
        out["host_vs_torch_1thread_ratio"] = med["torch_1thread"] / med["host"]
    best = {k: min(v) for k, v in times.items()}  # the least disturbed run of each
    out["host_vs_torch_ratio_best"] = min(best[k] for k in torch_keys) / best["host"]
    out["host_vs_floor_ratio_best"] = best["host"] / best["floor"]
    out["host_vs_fft_floor_ratio_best"] = best["host"] / best["fft_floor"]
    return out


def section_host(s: Setup) -> dict[str, Any]:
    """Host, torch, floor and FFT floor interleaved; with more than one thread, torch then
    on one (``host_vs_torch_ratio`` uses whichever thread count ran faster)."""
    reports: list[tuple[dict[str, Any], float, float]] = []
    identity = identity_core(s.model)

    def host() -> None:
        reports.append(host_render(s, s.out("host")))

    contenders = {
        "host": host,
        "torch": lambda: torch_render(s, s.out("torch")),
        "floor": lambda: floor_render(identity, s.paths, s.out("floor")),
        "fft_floor": _fft_floor_call(s, s.cfg.threads),
    }
    cpu: dict[str, list[float]] = {}
    usage: dict[str, list[dict[str, float]]] = {}
    times = rounds(contenders, s.cfg.runs, s.cfg.warmup, "host vs torch vs floors", cpu=cpu,
                   usage=usage)  # fmt: skip
    timed = reports[s.cfg.warmup :]
    if s.cfg.threads > 1:
        times.update(_torch_one_thread(s))
    med = {k: median(v) for k, v in times.items()}
    out: dict[str, Any] = {}
    for key, value in med.items():
        out[f"{key}_seconds"] = value
        out[f"{key}_rtf"] = rtf(s.cfg.seconds, value)
    out.update(_ratios(med, times, s.cfg.threads))
    for key in ("host", "fft_floor"):  # CPU seconds, every thread (bench.cpu_budget)
        out[f"{key}_cpu_seconds"] = median(cpu[key])
    out["host_usage"] = median_usage(usage["host"])
    out["host_stages_s"] = median_split([stage_split(r, w, c) for r, w, c in timed])
    out.update(_host_one_thread(s))
    if s.cfg.threads > 1:
        out["parallel"] = _parallel(s)
    out["host_report"] = {k: timed[-1][0].get(k) for k in MEASURES}
    out["runs_s"] = times
    return out
