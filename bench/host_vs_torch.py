"""Sections 1-2: the host vs PyTorch eager vs the floor, interleaved round by round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.audio import read_audio, write_audio
from bench.context import Setup, host_render
from bench.floor import floor_render, identity_core
from bench.timing import median, median_split, rounds, rtf, stage_split
from plugin_host.measures import MEASURES


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


def section_host(s: Setup) -> dict[str, Any]:
    """Host, torch and floor interleaved; with more than one thread, torch then on one."""
    reports: list[tuple[dict[str, Any], float, float]] = []
    identity = identity_core(s.model)

    def host() -> None:
        reports.append(host_render(s, s.out("host")))

    contenders = {
        "host": host,
        "torch": lambda: torch_render(s, s.out("torch")),
        "floor": lambda: floor_render(identity, s.paths, s.out("floor")),
    }
    times = rounds(contenders, s.cfg.runs, s.cfg.warmup, "host vs torch vs floor")
    timed = reports[s.cfg.warmup :]
    if s.cfg.threads > 1:
        times.update(_torch_one_thread(s))
    med = {k: median(v) for k, v in times.items()}
    out: dict[str, Any] = {}
    for key, value in med.items():
        out[f"{key}_seconds"] = value
        out[f"{key}_rtf"] = rtf(s.cfg.seconds, value)
    out["host_vs_torch_ratio"] = med["torch"] / med["host"]
    if "torch_1thread" in med:
        out["host_vs_torch_1thread_ratio"] = med["torch_1thread"] / med["host"]
    out["host_vs_floor_ratio"] = med["host"] / med["floor"]
    best = {k: min(v) for k, v in times.items()}  # the least disturbed run of each
    out["host_vs_torch_ratio_best"] = best["torch"] / best["host"]
    out["host_vs_floor_ratio_best"] = best["host"] / best["floor"]
    out["host_stages_s"] = median_split([stage_split(r, w, c) for r, w, c in timed])
    out["host_report"] = {k: timed[-1][0].get(k) for k in MEASURES}
    out["runs_s"] = times
    return out
