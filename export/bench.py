"""``creative-agent bench [--out docs] [--quick]``: the project's benchmarks, measured within one
run on one machine, written to ``OUT/benchmarks.md`` (machine, versions, tables, closing
note) and ``OUT/bench.json`` (one key per figure).

1. host vs PyTorch eager: the same pair rendered by ``plugin_host.render`` (numpy DSP + ONNX
   Runtime core) and by the checkpoint's ``CreativeAgent`` under ``torch.inference_mode``
   (same weights, same thread count) -> ``host_vs_torch_ratio``;
2. host vs the floor: read -> STFT -> unit masks -> iSTFT -> write, no model, no report
   (``export.baselines.stft_roundtrip``) -> ``host_vs_floor_ratio``;
3. end to end with chains: read -> chains -> agent -> chain -> write -> report, with the
   seconds per stage (I/O, chains, DSP, core, report) -> ``end_to_end_rtf``;
4. peak RSS of 10 s, 60 s and 600 s renders, each in a fresh subprocess that never imports
   torch -> ``rss_600s_over_10s``;
5. the plain 50/50 sum and a channel vocoder, timed and scored with the report's measures;
6. training samples/s of ``torchrun`` with 1 and 2 CPU processes (gloo) ->
   ``ddp_scaling_2_over_1``;
7. GPU (ONNX Runtime CUDA RTF of the ``base`` model, NCCL training), or one line saying why
   it was skipped.

RTF here is audio seconds / wall seconds (how many times faster than real time); note that a
render report's ``rtf`` field is the inverse (wall / audio). Times are medians of ``runs``
runs after ``warmup`` warm-up runs, the contenders of a comparison interleaved round by
round (order rotated each round, a short idle before each call) so that load from other
processes and leftover worker threads hit them alike.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pedalboard.io import AudioFile
from tqdm import tqdm

from export.baselines import MEASURES, channel_vocoder, clip_measures, plain_sum, stft_roundtrip
from plugin_host.runtime import LoadedModel, available_cores, load_model

log = logging.getLogger(__name__)

SCHEMA = "creative-agent/bench/1"
SECTIONS = ("host", "chains", "memory", "baselines", "train", "gpu")
SAMPLE_RATE = 44100
PAIR_SEED = 7  # the validation-distribution pair every section renders
SETTLE_S = 0.1  # idle seconds before each timed call
# the end-to-end chain: a typical clean-up on each side and a bus compressor + limiter
CHAIN: dict[str, Any] = {
    "input_chain": [{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 40.0}}],
    "target_chain": [{"plugin": "Reverb", "params": {"room_size": 0.5, "wet_level": 0.2}}],
    "output_chain": [
        {"plugin": "Compressor", "params": {"threshold_db": -18.0, "ratio": 3.0}},
        {"plugin": "Limiter", "params": {"threshold_db": -1.0}},
    ],
}
# targets of the issue: (key, comparison, bound, informational)
TARGETS = (
    ("host_vs_torch_ratio", ">=", 1.5, False),
    ("host_vs_floor_ratio", "<=", 2.0, False),
    ("end_to_end_rtf", ">=", 50.0, True),
    ("rss_600s_over_10s", "<=", 2.0, False),
)


class BenchError(RuntimeError):
    """A benchmark that could not run (one line naming the step)."""


@dataclass(frozen=True)
class BenchConfig:
    """What to measure. seconds: the pair's length (s); runs/warmup: timed runs per
    contender (median reported) and untimed ones before them; threads: torch threads, ONNX
    Runtime intra-op threads and scipy.fft workers; memory_seconds: clip lengths (s) of the
    RSS renders (first and last give the ratio); train_*: the torchrun jobs (model size,
    steps per epoch, epochs (all but the first are timed), batch size per process, crop
    length in s, timeout in s); size: the model preset when no checkpoint is given."""

    out: Path
    quick: bool = False
    checkpoint: Path | None = None
    size: str = "small"
    seconds: float = 60.0
    runs: int = 7
    warmup: int = 1
    threads: int = field(default_factory=available_cores)
    memory_seconds: tuple[float, ...] = (10.0, 60.0, 600.0)
    train_size: str = "small"
    train_steps: int = 5
    train_epochs: int = 3
    train_batch: int = 8
    train_crop_s: float = 2.0
    train_timeout_s: float = 240.0
    sections: tuple[str, ...] = SECTIONS

    @classmethod
    def quick_config(cls, out: Path, **kw: Any) -> BenchConfig:
        """Tiny sizes for the smoke test: 2 s clips, one run, the ``tiny`` model
        (``kw`` overrides any field)."""
        small: dict[str, Any] = dict(quick=True, size="tiny", seconds=2.0, runs=1, warmup=1,
                                     memory_seconds=(0.5, 2.0, 6.0), train_size="tiny",
                                     train_steps=1, train_epochs=1, train_batch=2,
                                     train_crop_s=0.5)  # fmt: skip
        return cls(out=out, **{**small, **kw})


# ------------------------------------------------------------------------------ helpers


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def rounds(
    contenders: dict[str, Callable[[], Any]],
    runs: int,
    warmup: int,
    desc: str,
    settle_s: float = SETTLE_S,
) -> dict[str, list[float]]:
    """Wall seconds of each contender, ``warmup`` untimed + ``runs`` timed calls, taken in
    rounds: every contender once per round, the order rotated by one each round (so no
    contender always follows the same one), ``settle_s`` of idle before each call (worker
    threads of the previous call go quiet)."""
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in tqdm(range(warmup + runs), desc=desc, leave=False, disable=None):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            time.sleep(settle_s)
            t = time.perf_counter()
            contenders[name]()
            dt = time.perf_counter() - t
            if r >= warmup:
                times[name].append(dt)
    return times


def read_audio(path: Path, sample_rate: int) -> np.ndarray:
    """A whole file as float32 [C, T] at ``sample_rate`` (resampled when it differs)."""
    with AudioFile(str(path)) as f:
        if float(f.samplerate) == float(sample_rate):
            return np.asarray(f.read(f.frames), np.float32)
        with f.resampled_to(sample_rate) as r:
            return np.asarray(r.read(r.frames), np.float32)


def write_audio(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """float32 [C, T] to a 32-bit float WAV (what the host writes for .wav)."""
    with AudioFile(str(path), "w", samplerate=sample_rate, num_channels=audio.shape[0],
                   bit_depth=32) as f:  # fmt: skip
        f.write(np.ascontiguousarray(audio, np.float32))


def write_pair(
    base: tuple[np.ndarray, np.ndarray], seconds: float, folder: Path, name: str
) -> tuple[Path, Path]:
    """The pair ``base`` (float32 [C, T] each) cut or tiled to ``seconds``, streamed to two
    WAV files ``NAME_input.wav``, ``NAME_target.wav`` in ``folder``."""
    n = round(seconds * SAMPLE_RATE)
    paths = (folder / f"{name}_input.wav", folder / f"{name}_target.wav")
    for path, x in zip(paths, base, strict=True):
        with AudioFile(str(path), "w", samplerate=SAMPLE_RATE, num_channels=x.shape[0],
                       bit_depth=32) as f:  # fmt: skip
            done = 0
            while done < n:
                take = min(n - done, x.shape[1])
                f.write(np.ascontiguousarray(x[:, :take]))
                done += take
    return paths


@dataclass
class TimedModel(LoadedModel):
    """A :class:`LoadedModel` that adds up the wall seconds spent in its ONNX core."""

    core_seconds: float = 0.0

    @classmethod
    def wrap(cls, model: LoadedModel) -> TimedModel:
        return cls(**{f.name: getattr(model, f.name) for f in dataclasses.fields(LoadedModel)})

    def core(
        self, feat_in: np.ndarray, feat_tg: np.ndarray, balance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        t = time.perf_counter()
        try:
            return super().core(feat_in, feat_tg, balance)
        finally:
            self.core_seconds += time.perf_counter() - t


def stage_split(report: dict[str, Any], wall: float, core_s: float) -> dict[str, float]:
    """Seconds per stage of one render: ``io`` (read + write), ``chains``, ``core`` (ONNX
    Runtime), ``report`` (the render's own timers) and ``dsp`` = the rest of the wall time
    (numpy STFT / features / masking / iSTFT and the glue between stages)."""
    t = report.get("timings_s", {})
    io = float(t.get("read", 0.0)) + float(t.get("write", 0.0))
    split = {
        "io": io,
        "chains": float(t.get("chains", 0.0)),
        "core": core_s,
        "report": float(t.get("report", 0.0)),
        "load_model": float(t.get("load_model", 0.0)),
    }
    split["dsp"] = max(0.0, wall - sum(split.values()))
    return split


def _median_split(splits: list[dict[str, float]]) -> dict[str, float]:
    return {k: _median([s[k] for s in splits]) for k in splits[0]}


# ------------------------------------------------------------------------------ context


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, versions, date and load average (other processes may be running)."""
    import onnxruntime
    import pedalboard
    import scipy
    import torch

    cpu = "unknown"
    ram_gib = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       platform.processor() or "unknown")  # fmt: skip
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal:"))
        ram_gib = round(kib / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        log.info("no /proc/cpuinfo or /proc/meminfo: CPU model and RAM not recorded")
    repo = Path(__file__).resolve().parents[1]
    commit, dirty = None, None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, text=True,
                                capture_output=True, check=True).stdout.strip()  # fmt: skip
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=repo, text=True,
                                    capture_output=True, check=True).stdout.strip())  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        log.info("not a git checkout: commit not recorded")
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
    and files) and a scratch folder."""

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


def prepare(cfg: BenchConfig, tmp: Path) -> Setup:
    """Build or load the model, export its core once (no parity check: that is the export
    command's job), generate the pair and write it as WAV."""
    import torch

    from export.onnx_export import agent_from_checkpoint, export_core, fresh_agent
    from training.checkpoint import CheckpointError
    from training.data.synth import generate_pair, validation_config

    t = time.perf_counter()
    if cfg.checkpoint is not None:
        try:
            agent, _ = agent_from_checkpoint(cfg.checkpoint)
        except CheckpointError as exc:
            raise BenchError(str(exc)) from exc
        source = f"checkpoint {cfg.checkpoint}"
    else:
        agent = fresh_agent(cfg.size)
        source = f"fresh {cfg.size} (untrained, randomised output layer, seed 0)"
    onnx_path = export_core(agent, tmp / "model.onnx")
    export_s = time.perf_counter() - t
    t = time.perf_counter()
    model = TimedModel.wrap(load_model(onnx_path, provider="cpu", threads=cfg.threads))
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


# ------------------------------------------------------------------------------ renders


def host_render(
    s: Setup, out: Path, chain: Any = None, report: Path | None = None
) -> tuple[dict[str, Any], float, float]:
    """One render through the host; returns (report, wall seconds, core seconds)."""
    from plugin_host.render import render

    s.model.core_seconds = 0.0
    t = time.perf_counter()
    rep = render(*s.paths, s.model, out, chain=chain, report_path=report, overwrite=True)
    return rep, time.perf_counter() - t, s.model.core_seconds


def torch_render(s: Setup, out: Path) -> None:
    """The PyTorch path doing the host's job: read both files, the checkpoint's forward pass
    (torch.stft / istft inside ``CreativeAgent``) under ``inference_mode``, write."""
    import torch

    rate = s.agent.config.sample_rate
    x, y = (read_audio(p, rate) for p in s.paths)
    with torch.inference_mode():
        audio = s.agent(torch.from_numpy(x)[None], torch.from_numpy(y)[None], 0.5).audio[0]
    write_audio(out, audio.numpy(), rate)


def floor_render(s: Setup, out: Path) -> None:
    """Read -> STFT -> unit masks -> iSTFT -> write: the host's DSP without model or report."""
    rate = s.model.metadata.sample_rate
    x, y = (read_audio(p, rate) for p in s.paths)
    write_audio(out, stft_roundtrip(x, y, s.model.dsp), rate)


def _rtf(audio_s: float, wall: float) -> float:
    return audio_s / wall


# ------------------------------------------------------------------------------ sections


def section_host(s: Setup) -> dict[str, Any]:
    """Figures 1 and 2: host vs torch eager vs the STFT floor, interleaved. With more than one
    thread, torch then runs again on one thread (its own rounds: switching the thread count
    between timed runs would time the thread pool's rebuild)."""
    import torch

    reports: list[tuple[dict[str, Any], float, float]] = []

    def host() -> None:
        reports.append(host_render(s, s.out("host")))

    contenders = {
        "host": host,
        "torch": lambda: torch_render(s, s.out("torch")),
        "floor": lambda: floor_render(s, s.out("floor")),
    }
    times = rounds(contenders, s.cfg.runs, s.cfg.warmup, "host vs torch vs floor")
    timed = reports[s.cfg.warmup :]
    if s.cfg.threads > 1:
        torch.set_num_threads(1)
        try:
            one = {"torch_1thread": lambda: torch_render(s, s.out("torch"))}
            times.update(rounds(one, s.cfg.runs, s.cfg.warmup, "torch on one thread"))
        finally:
            torch.set_num_threads(s.cfg.threads)
    med = {k: _median(v) for k, v in times.items()}
    out: dict[str, Any] = {}
    for key, value in med.items():
        out[f"{key}_seconds"] = value
        out[f"{key}_rtf"] = _rtf(s.cfg.seconds, value)
    out["host_vs_torch_ratio"] = med["torch"] / med["host"]
    if "torch_1thread" in med:
        out["host_vs_torch_1thread_ratio"] = med["torch_1thread"] / med["host"]
    out["host_vs_floor_ratio"] = med["host"] / med["floor"]
    best = {k: min(v) for k, v in times.items()}  # the least disturbed run of each
    out["host_vs_torch_ratio_best"] = best["torch"] / best["host"]
    out["host_vs_floor_ratio_best"] = best["host"] / best["floor"]
    out["host_stages_s"] = _median_split([stage_split(r, w, c) for r, w, c in timed])
    out["host_report"] = {k: timed[-1][0].get(k) for k in MEASURES}
    out["runs_s"] = times
    return out


def section_chains(s: Setup) -> dict[str, Any]:
    """Figure 3: the whole render with chains and a report file, per stage."""
    from plugin_host.chain import Chain

    chain = Chain.from_json(CHAIN)
    splits: list[dict[str, float]] = []

    def e2e() -> None:
        rep, wall, core = host_render(s, s.out("e2e"), chain, s.tmp / "e2e_report.json")
        splits.append(stage_split(rep, wall, core))

    times = rounds({"end_to_end": e2e}, s.cfg.runs, s.cfg.warmup, "end to end with chains")
    med = _median(times["end_to_end"])
    return {
        "end_to_end_seconds": med,
        "end_to_end_rtf": _rtf(s.cfg.seconds, med),
        "end_to_end_stages_s": _median_split(splits[s.cfg.warmup :]),
        "chain": CHAIN,
        "runs_s": times,
    }


# A fresh interpreter that renders one pair and reports its peak memory; it imports only the
# host (the test of "never imports torch" is recorded, not assumed).
_RSS_CHILD = """
import json, resource, sys, time
def kib(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None
from plugin_host.render import render
from plugin_host.runtime import load_model
inp, tg, model, out, threads = sys.argv[1:6]
m = load_model(model, provider="cpu", threads=int(threads))
loaded = kib("VmRSS")
t = time.perf_counter()
render(inp, tg, m, out)
wall = time.perf_counter() - t
print(json.dumps({"peak_kib": kib("VmHWM"), "loaded_kib": loaded, "render_s": wall,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "torch_imported": "torch" in sys.modules}))
"""


def _label(seconds: float) -> str:
    return f"{seconds:g}s"


def rss_child(s: Setup, seconds: float) -> dict[str, Any]:
    """Peak RSS (MiB) of a fresh process rendering a ``seconds`` pair (files deleted after)."""
    name = f"rss_{_label(seconds)}"
    paths = write_pair(s.pair, seconds, s.tmp, name)
    out = s.out(name)
    cmd = [sys.executable, "-c", _RSS_CHILD, *map(str, paths), str(s.onnx_path), str(out),
           str(s.cfg.threads)]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    finally:
        for p in (*paths, out):
            p.unlink(missing_ok=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"memory render of {seconds:g} s failed (exit {proc.returncode}): {tail}")
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_kib = got["peak_kib"] or got["maxrss_kib"]
    return {
        "seconds": seconds,
        "peak_mib": peak_kib / 1024,
        "after_load_mib": (got["loaded_kib"] or 0) / 1024,
        "render_s": got["render_s"],
        "torch_imported": got["torch_imported"],
    }


def section_memory(s: Setup) -> dict[str, Any]:
    """Figure 4: peak RSS per clip length, each in a fresh subprocess."""
    rows = [rss_child(s, sec) for sec in tqdm(s.cfg.memory_seconds, desc="memory", leave=False,
                                              disable=None)]  # fmt: skip
    first, last = rows[0], rows[-1]
    return {
        "rss": {_label(r["seconds"]): r for r in rows},
        "rss_600s_over_10s": last["peak_mib"] / first["peak_mib"],
        "rss_growth_over_load": (last["peak_mib"] - last["after_load_mib"])
        / max(first["peak_mib"] - first["after_load_mib"], 1e-9),
        "memory_torch_imported": any(r["torch_imported"] for r in rows),
    }


def section_baselines(s: Setup, host_seconds: float | None) -> dict[str, Any]:
    """Figure 5: 50/50 sum and channel vocoder (read -> mix -> write, timed), scored with the
    report's measures beside the agent's output (and the target copied, for reference)."""
    rate = s.model.metadata.sample_rate

    def job(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], name: str) -> Callable[[], None]:
        def run() -> None:
            x, y = (read_audio(p, rate) for p in s.paths)
            write_audio(s.out(name), fn(x, y), rate)

        return run

    contenders = {
        "sum": job(plain_sum, "sum"),
        "vocoder": job(lambda x, y: channel_vocoder(x, y, rate), "vocoder"),
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
    rows: dict[str, dict[str, Any]] = {}
    for name, out in outputs.items():
        t = time.perf_counter()
        measures = clip_measures(out, x, y, s.model.dsp, rate)
        wall = _median(times[name]) if name in times else host_seconds
        if name == "target_copy":
            wall = None
        rows[name] = {
            "seconds": wall,
            "rtf": _rtf(s.cfg.seconds, wall) if wall else None,
            "measure_s": time.perf_counter() - t,
            **measures,
        }
    return {"baselines": rows, "runs_s": times}


# Runs a command pinned to one CPU core (affinity survives exec and is inherited by children).
_PINNED = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])}); os.execv(sys.argv[2], sys.argv[2:])"


def train_throughput(cfg: BenchConfig, folder: Path, nproc: int, device: str = "cpu",
                     size: str | None = None, pin_core: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Samples/s of ``torchrun --nproc_per_node=nproc`` training, from the ``epoch_seconds``
    of metrics.jsonl: every epoch after the first (warm-up) one, or the only one. An epoch's
    time holds its steps and a one-pair validation; start-up, plots and checkpoints are
    outside it. pin_core: run the job on that one core (so each process has one thread)."""
    from training.distrib import launch_env
    from training.train import torchrun_command

    out = folder / f"train_{device}_{nproc}{'_pinned' if pin_core is not None else ''}"
    batch = cfg.train_batch
    argv = ["--preset", "default", "--model_size", size or cfg.train_size, "--device", device,
            "--epochs", str(cfg.train_epochs), "--steps_per_epoch", str(cfg.train_steps),
            "--batch_size", str(batch), "--crop_seconds", str(cfg.train_crop_s),
            "--train_pairs", str(max(32, 2 * batch * nproc)), "--valid_pairs", "1",
            "--valid_seconds", "1.0", "--seed", "0", "--no_progress", "--out", str(out)]  # fmt: skip
    cores = 1 if pin_core is not None else cfg.threads
    threads = max(1, cores // nproc)  # what training.distrib gives each process
    env = {**launch_env(), "OMP_NUM_THREADS": str(threads)}
    cmd = torchrun_command(nproc, argv)
    if pin_core is not None:
        cmd = [sys.executable, "-c", _PINNED, str(pin_core), *cmd]
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=cfg.train_timeout_s)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"torchrun --nproc_per_node={nproc}: over {exc.timeout:g} s") from exc
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"torchrun --nproc_per_node={nproc} failed ({proc.returncode}): {tail}")
    lines = (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    epochs = [json.loads(ln) for ln in lines if ln.strip()]
    timed = epochs[1:] or epochs
    world = int(timed[-1]["world_size"])
    samples = cfg.train_steps * batch * world
    seconds = sum(float(e["epoch_seconds"]) for e in timed)
    return {
        "processes": nproc,
        "world_size": world,
        "device": device,
        "backend": "nccl" if device == "cuda" else "gloo",
        "threads_per_process": threads if device == "cpu" else None,
        "pinned_core": pin_core,
        "model_size": size or cfg.train_size,
        "samples_per_epoch": samples,
        "timed_epochs": len(timed),
        "epoch_seconds": seconds / len(timed),
        "samples_per_s": samples * len(timed) / seconds,
        "wall_s": wall,
    }


def section_train(s: Setup) -> dict[str, Any]:
    """Figure 6: torchrun with 1 and 2 CPU processes (gloo); for reference (not in quick
    runs), also 1 process pinned to one core, i.e. on one thread."""
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


def section_gpu(s: Setup) -> dict[str, Any]:
    """Figure 7: ONNX Runtime CUDA RTF of the ``base`` model and NCCL training samples/s."""
    import torch

    if not torch.cuda.is_available():
        return {"gpu": None, "gpu_skipped": "no CUDA device"}
    from export.onnx_export import export_core, fresh_agent
    from plugin_host.render import render

    path = export_core(fresh_agent("base"), s.tmp / "base.onnx")
    model = load_model(path, provider="cuda", threads=s.cfg.threads)
    out = s.out("gpu")
    times = rounds({"ort_cuda": lambda: render(*s.paths, model, out, overwrite=True)},
                   s.cfg.runs, s.cfg.warmup, "gpu")  # fmt: skip
    med = _median(times["ort_cuda"])
    train = train_throughput(s.cfg, s.tmp, torch.cuda.device_count(), "cuda", "base")
    return {
        "gpu": {
            "device": torch.cuda.get_device_name(0),
            "count": torch.cuda.device_count(),
            "provider": model.provider,
            "render_seconds": med,
            "train": train,
        },
        "gpu_skipped": None,
        "gpu_ort_cuda_rtf": _rtf(s.cfg.seconds, med),
        "gpu_train_samples_per_s": train["samples_per_s"],
    }


# ------------------------------------------------------------------------------ results

_NULL_KEYS = {
    "host": ("host_rtf", "torch_rtf", "floor_rtf", "host_vs_torch_ratio", "host_vs_floor_ratio"),
    "chains": ("end_to_end_rtf", "end_to_end_seconds"),
    "memory": ("rss_600s_over_10s",),
    "baselines": ("baselines",),
    "train": ("ddp_samples_per_s_1", "ddp_samples_per_s_2", "ddp_scaling_2_over_1"),
    "gpu": ("gpu", "gpu_ort_cuda_rtf", "gpu_train_samples_per_s"),
}


def judge(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target of the issue: value, bound, met (None when not measured)."""
    out = {}
    for key, op, bound, info in TARGETS:
        value = results.get(key)
        met = None if value is None else (value >= bound if op == ">=" else value <= bound)
        out[key] = {"value": value, "target": f"{op} {bound:g}", "met": met,
                    "informational": info}  # fmt: skip
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


def run(cfg: BenchConfig) -> dict[str, Any]:
    """Every section of ``cfg.sections``; the JSON-ready results (also the markdown's source)."""
    started = time.perf_counter()
    results: dict[str, Any] = {"schema": SCHEMA, "quick": cfg.quick}
    results["machine"] = machine_info()
    results["config"] = {k: (str(v) if isinstance(v, Path) else v)
                         for k, v in dataclasses.asdict(cfg).items()}  # fmt: skip
    results["config"]["pair"] = (f"training.data.synth.generate_pair(validation_config("
                                 f"seconds={cfg.seconds:g}), {PAIR_SEED}): stereo, "
                                 f"{SAMPLE_RATE} Hz")  # fmt: skip
    for sec in SECTIONS:
        for key in _NULL_KEYS[sec]:
            results[key] = None
    runs: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="creative-agent-bench-") as tmp_name,
        _restore_threads(),
    ):
        s = prepare(cfg, Path(tmp_name))
        results["model"] = s.model_info
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("host", lambda: section_host(s)),
            ("chains", lambda: section_chains(s)),
            ("baselines", lambda: section_baselines(s, results.get("host_seconds"))),
            ("memory", lambda: section_memory(s)),
            ("train", lambda: section_train(s)),
            ("gpu", lambda: section_gpu(s)),
        ]
        for name, fn in steps:
            if name not in cfg.sections:
                continue
            t = time.perf_counter()
            log.info("bench: %s ...", name)
            got = fn()
            runs[name] = got.pop("runs_s", None)
            results.update(got)
            results.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t, 2)
    results["targets"] = judge(results)
    results["runs_s"] = runs
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    return _finite(results)


def _finite(obj: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_atomic(path: Path, text: str) -> None:
    """``text`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------ markdown

_STAGES = {
    "io": "I/O (read + write)",
    "chains": "chains (pedalboard)",
    "dsp": "DSP + glue (numpy STFT, features, masks, iSTFT; the rest of the wall time)",
    "core": "core (ONNX Runtime)",
    "report": "report (measures, from the agent's spectra)",
    "load_model": "load model",
}
_INCLUDES = {
    "host": "read, agent (numpy STFT + ONNX core + iSTFT, streamed), report, write "
    "(`plugin_host.render`, model loaded once)",
    "torch": "read, `CreativeAgent` forward (torch.stft / istft) under `inference_mode`, "
    "write; no report",
    "torch_1thread": "the same with `torch.set_num_threads(1)`, timed after the others "
    "(for reference)",
    "floor": "read, STFT, unit masks, iSTFT, write (`export.baselines.stft_roundtrip`); "
    "no model, no report",
}


def _f(x: Any, spec: str = ".2f", unit: str = "") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float | int):
        return f"{x:{spec}}{unit}"
    return str(x)


def _runs(xs: list[float] | None) -> str:
    return ", ".join(f"{x:.3f}" for x in xs) if xs else "n/a"


def _stage_table(stages: dict[str, float], total: float) -> list[str]:
    lines = ["| stage | median s | share of the render |", "|---|---:|---:|"]
    for key, label in _STAGES.items():
        if key in stages and (key != "load_model" or stages[key] > 0):
            lines.append(f"| {label} | {stages[key]:.3f} | {100 * stages[key] / total:.0f} % |")
    return lines


def _md_machine(r: dict[str, Any]) -> list[str]:
    m, c, v = r["machine"], r["config"], r["machine"]["versions"]
    model = r.get("model") or {}
    load = ", ".join(f"{x:g}" for x in m["load_average_start"])
    load_end = ", ".join(f"{x:g}" for x in m.get("load_average_end", []))
    commit = m.get("git_commit") or "n/a"
    if m.get("git_dirty"):
        commit += " (with uncommitted changes)"
    return [
        "## Machine and setup", "",
        "| | |", "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| cores | {m['cores']} ({m['cores_available']} available to this process) |",
        f"| RAM | {_f(m['ram_gib'], '.1f', ' GiB')} |",
        f"| platform | {m['platform']} |",
        f"| load average (1, 5, 15 min) | {load} at the start, {load_end} at the end: other "
        "processes may have been running; a load above the core count slows every figure |",
        f"| versions | Python {v['python']}, numpy {v['numpy']}, scipy {v['scipy']}, torch "
        f"{v['torch']}, onnxruntime {v['onnxruntime']}, pedalboard {v['pedalboard']} |",
        f"| commit | {commit} |",
        f"| model | {model.get('source', 'n/a')}: {_f(model.get('n_params'), 'd')} parameters, "
        f"ONNX Runtime on {model.get('provider', 'n/a')} |",
        f"| pair | {c['pair']} |",
        f"| threads | {c['threads']} (torch.set_num_threads, ONNX Runtime intra-op, "
        "scipy.fft workers) |",
        f"| timing | median of {c['runs']} runs after {c['warmup']} warm-up; contenders "
        f"interleaved round by round, order rotated each round, {SETTLE_S:g} s idle before "
        "each call; `time.perf_counter` |",
        "",
    ]  # fmt: skip


def _md_targets(r: dict[str, Any]) -> list[str]:
    lines = ["## Targets", "", "| figure | value | target | met |", "|---|---:|---:|---|"]
    for key, t in r["targets"].items():
        met = _f(t["met"]) + (" (informational)" if t["informational"] else "")
        lines.append(f"| `{key}` | {_f(t['value'])} | {t['target']} | {met} |")
    return [*lines, ""]


def _md_host(r: dict[str, Any]) -> list[str]:
    if r.get("host_rtf") is None:
        return ["## 1-2. Host vs PyTorch vs the floor", "", "not run", ""]
    runs = r["runs_s"].get("host") or {}
    sec = r["config"]["seconds"]
    lines = [
        f"## 1-2. Host vs PyTorch eager vs the floor ({sec:g} s pair, no chains)", "",
        "| path | what the time includes | median s | × real time | runs (s) |",
        "|---|---|---:|---:|---|",
    ]  # fmt: skip
    for key in ("host", "torch", "torch_1thread", "floor"):
        if r.get(key + "_seconds") is None:
            continue
        lines.append(f"| {key} | {_INCLUDES[key]} | {r[key + '_seconds']:.3f} | "
                     f"{r[key + '_rtf']:.1f} | {_runs(runs.get(key))} |")  # fmt: skip
    lines += [
        "",
        f"- `host_vs_torch_ratio` = torch s / host s = **{r['host_vs_torch_ratio']:.2f}** "
        "(same thread count; the host also computes its report, the PyTorch path does not).",
        *_torch_1thread(r),
        f"- `host_vs_floor_ratio` = host s / floor s = **{r['host_vs_floor_ratio']:.2f}**.",
        f"- the same ratios from each path's fastest run (least disturbed by other processes): "
        f"torch / host {r['host_vs_torch_ratio_best']:.2f}, host / floor "
        f"{r['host_vs_floor_ratio_best']:.2f}.",
        "", "Where the host's time goes (median over the timed runs):", "",
        *_stage_table(r["host_stages_s"], r["host_seconds"]), "",
    ]  # fmt: skip
    return lines


def _torch_1thread(r: dict[str, Any]) -> list[str]:
    ratio = r.get("host_vs_torch_1thread_ratio")
    if ratio is None:
        return []
    note = ""
    if r["torch_1thread_seconds"] < r["torch_seconds"]:
        note = (" PyTorch ran faster on one thread than on "
                f"{r['config']['threads']}: its OpenMP threads wait for each other when other "
                "processes hold the cores (see the load average).")  # fmt: skip
    return [f"- against PyTorch on one thread: **{ratio:.2f}**.{note}"]


def _md_chains(r: dict[str, Any]) -> list[str]:
    if r.get("end_to_end_rtf") is None:
        return ["## 3. End to end with chains", "", "not run", ""]
    chain = r.get("chain") or CHAIN
    desc = "; ".join(
        f"{sec}: " + " → ".join(e["plugin"] for e in chain[sec]) for sec in chain if chain[sec]
    )
    stages = r["end_to_end_stages_s"]
    slowest = max((k for k in stages if k != "load_model"), key=lambda k: stages[k])
    return [
        "## 3. End to end with chains", "",
        f"read → input/target chains → agent → output chain → write → report file ({desc}): "
        f"median **{r['end_to_end_seconds']:.3f} s**, **{r['end_to_end_rtf']:.1f}× real time**; "
        f"slowest stage: {_STAGES[slowest].split(' (')[0]}.", "",
        *_stage_table(stages, r["end_to_end_seconds"]), "",
    ]  # fmt: skip


def _md_memory(r: dict[str, Any]) -> list[str]:
    if r.get("rss_600s_over_10s") is None:
        return ["## 4. Memory vs clip length", "", "not run", ""]
    lines = [
        "## 4. Memory vs clip length", "",
        "Each render in a fresh `python -c` process that imports only the host; peak = VmHWM.", "",
        "| clip | peak RSS MiB | RSS after imports + model load MiB | render s | torch imported |",
        "|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for label, row in r["rss"].items():
        lines.append(f"| {label} | {row['peak_mib']:.0f} | {row['after_load_mib']:.0f} | "
                     f"{row['render_s']:.2f} | {_f(row['torch_imported'])} |")  # fmt: skip
    lines += [
        "",
        f"- `rss_600s_over_10s` = peak(longest) / peak(shortest) = "
        f"**{r['rss_600s_over_10s']:.2f}**; growth above the loaded process: "
        f"{r['rss_growth_over_load']:.2f}×.", "",
    ]  # fmt: skip
    return lines


_BASE_LABEL = {
    "agent": "agent (host render)",
    "sum": "50/50 sum",
    "vocoder": "channel vocoder",
    "target_copy": "target copied (reference)",
}


def _md_baselines(r: dict[str, Any]) -> list[str]:
    rows = r.get("baselines")
    if not rows:
        return ["## 5. DSP baselines", "", "not run", ""]
    head = ("| mix | s | × real time | corr in | corr tg | verdict | share in | residual | "
            "onset in | onset tg | chroma in | chroma tg |")  # fmt: skip
    lines = [
        "## 5. DSP baselines", "",
        "Timed as read → mix → write; every output scored by `export.baselines.clip_measures` "
        "(the report's definitions, on the finished waveforms). The agent is this run's model: "
        f"{(r.get('model') or {}).get('source', 'n/a')}.", "",
        head, "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for name, row in rows.items():
        vals = [_f(row.get(k)) for k in ("output_input_corr", "output_target_corr")]
        vals.append(_f(row.get("verdict")))
        vals += [_f(row.get(k)) for k in MEASURES[4:]]
        lines.append(f"| {_BASE_LABEL.get(name, name)} | {_f(row['seconds'], '.3f')} | "
                     f"{_f(row['rtf'], '.1f')} | " + " | ".join(vals) + " |")  # fmt: skip
    return [*lines, ""]


def _md_train(r: dict[str, Any]) -> list[str]:
    if r.get("ddp_scaling_2_over_1") is None:
        return ["## 6. Training throughput", "", "not run", ""]
    lines = [
        "## 6. Training throughput (torchrun, gloo, CPU)", "",
        "| processes | threads each | model | samples per epoch | timed epochs | s per epoch "
        "| samples/s | job wall s |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for row in r["train"].values():
        pinned = (
            f" (pinned to core {row['pinned_core']})" if row.get("pinned_core") is not None else ""
        )
        lines.append(f"| {row['processes']}{pinned} | {row['threads_per_process']} | "
                     f"{row['model_size']} | {row['samples_per_epoch']} | {row['timed_epochs']} | "
                     f"{row['epoch_seconds']:.2f} | {row['samples_per_s']:.2f} | "
                     f"{row['wall_s']:.1f} |")  # fmt: skip
    c = r["config"]
    lines += [
        "",
        f"- `ddp_scaling_2_over_1` = **{r['ddp_scaling_2_over_1']:.2f}** (2 processes over 1)."
        + _superlinear(r),
        f"- Each job: `--preset default`, {c['train_epochs']} epoch(s) of {c['train_steps']} "
        f"steps × batch {c['train_batch']} per process × {c['train_crop_s']:g} s crops. Timed: "
        "`epoch_seconds` (metrics.jsonl) of every epoch after the first (warm-up): steps "
        "(synthetic data made on the fly, forward, losses, backward, gradient all-reduce) and "
        "a one-pair validation; start-up, plots and checkpoints are not timed. Threads per "
        "process: cores / processes (`training.distrib`).", "",
    ]  # fmt: skip
    return lines


def _superlinear(r: dict[str, Any]) -> str:
    """Notes on the 1-process figure: the pinned one-thread reference, and why a scaling
    above 2 on 2 cores means the one-process job was slowed."""
    note = ""
    pinned = r.get("ddp_samples_per_s_1_pinned")
    if pinned:
        note += (f" For reference, one process pinned to one core (one thread): {pinned:.2f} "
                 f"samples/s; 2 processes over it: {r['ddp_samples_per_s_2'] / pinned:.2f}×.")  # fmt: skip
    if r["ddp_scaling_2_over_1"] > 2.0:
        note += (" More than 2× from 2 processes means the one-process job (2 threads) was "
                 "slowed by contention: its threads wait for each other while other processes "
                 "hold a core (compare PyTorch eager on 2 threads and on 1 in section 1).")  # fmt: skip
    return note


def _md_gpu(r: dict[str, Any]) -> list[str]:
    if r.get("gpu") is None:
        why = r.get("gpu_skipped") or "not run"
        return ["## 7. GPU", "", f"skipped: {why}" if r.get("gpu_skipped") else why, ""]
    g = r["gpu"]
    return [
        "## 7. GPU", "",
        f"{g['count']} × {g['device']}: ONNX Runtime {g['provider']} renders the pair with the "
        f"`base` model at **{r['gpu_ort_cuda_rtf']:.1f}× real time**; training (`base`, NCCL, "
        f"{g['train']['processes']} process(es)): **{r['gpu_train_samples_per_s']:.2f} "
        "samples/s**.", "",
    ]  # fmt: skip


def _met(r: dict[str, Any], key: str) -> str:
    t = r["targets"][key]
    return f"target {t['target']}: {'met' if t['met'] else 'NOT met'}"


def _md_note(r: dict[str, Any]) -> list[str]:
    sec = r["config"]["seconds"]
    out = []
    if r.get("host_rtf") is not None:
        out.append(
            f"The host renders the {sec:g} s stereo pair at {r['host_rtf']:.0f}× real time, "
            f"{r['host_vs_torch_ratio']:.2f}× faster than the same weights in PyTorch eager "
            f"({r['torch_rtf']:.0f}×; {_met(r, 'host_vs_torch_ratio')}"
            + (
                f"; {r['host_vs_torch_1thread_ratio']:.2f}× against PyTorch on one thread"
                if r.get("host_vs_torch_1thread_ratio")
                else ""
            )
            + "), and takes "
            f"{r['host_vs_floor_ratio']:.2f}× the time of the bare STFT round trip "
            f"({_met(r, 'host_vs_floor_ratio')})."
        )
    if r.get("end_to_end_rtf") is not None:
        out.append(
            f"With chains and a report file the render runs at {r['end_to_end_rtf']:.0f}× real "
            f"time ({r['end_to_end_seconds']:.2f} s; {_met(r, 'end_to_end_rtf')}, "
            "informational)."
        )
    if r.get("rss_600s_over_10s") is not None:
        rows = list(r["rss"].values())
        out.append(
            f"Peak memory is {rows[0]['peak_mib']:.0f} MiB for {rows[0]['seconds']:g} s and "
            f"{rows[-1]['peak_mib']:.0f} MiB for {rows[-1]['seconds']:g} s "
            f"({r['rss_600s_over_10s']:.2f}×; {_met(r, 'rss_600s_over_10s')}); the render "
            f"processes {'imported' if r['memory_torch_imported'] else 'never imported'} torch."
        )
    if r.get("baselines"):
        b = r["baselines"]
        out.append(
            "Scored the same way, the agent's output has corr in/tg "
            f"{_f(b['agent']['output_input_corr'])}/{_f(b['agent']['output_target_corr'])} "
            f"({_f(b['agent']['verdict'])}), the 50/50 sum "
            f"{_f(b['sum']['output_input_corr'])}/{_f(b['sum']['output_target_corr'])} and the "
            f"vocoder {_f(b['vocoder']['output_input_corr'])}/"
            f"{_f(b['vocoder']['output_target_corr'])}."
        )
    if r.get("ddp_scaling_2_over_1") is not None:
        out.append(
            f"Training runs at {r['ddp_samples_per_s_1']:.2f} samples/s with one process and "
            f"{r['ddp_samples_per_s_2']:.2f} with two ({r['ddp_scaling_2_over_1']:.2f}×)."
        )
    out.append(
        f"GPU: {'skipped: ' + r['gpu_skipped'] if r.get('gpu_skipped') else 'see section 7'}."
    )
    return ["## Closing note", "", " ".join(out), ""]


def to_markdown(r: dict[str, Any]) -> str:
    """``docs/benchmarks.md`` from the results of :func:`run` (every figure from them)."""
    m = r["machine"]
    lines = [
        "# Benchmarks", "",
        f"Written by `{r.get('command', 'creative-agent bench')}` on {m['date_utc']} UTC in "
        f"{r['total_seconds']:.0f} s (`make bench` runs `creative-agent bench --out docs`). "
        "Every figure below is in `bench.json` beside this file. RTF / × real time = audio "
        "seconds / wall seconds. Absolute times drift with the machine and its load: compare "
        "figures of one run with each other.", "",
    ]  # fmt: skip
    if r["quick"]:
        lines += ["**Quick run (`--quick`): short clips, one run, small sizes — a smoke test of "
                  "the machinery; its figures say nothing about speed.**", ""]  # fmt: skip
    for part in (_md_machine, _md_targets, _md_host, _md_chains, _md_memory, _md_baselines,
                 _md_train, _md_gpu, _md_note):  # fmt: skip
        lines += part(r)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``creative-agent bench [--out DIR] [--quick] [--checkpoint CKPT] [--threads N]
    [--runs N] [--sections host,chains,...]``."""
    p = argparse.ArgumentParser(prog="creative-agent bench", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("docs"),
                   help="folder for benchmarks.md and bench.json (default: docs)")  # fmt: skip
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 2 s clips, one run, tiny model (figures not meaningful)")  # fmt: skip
    p.add_argument("--checkpoint", type=Path, help="a trained checkpoint (default: fresh model)")
    p.add_argument("--threads", type=int, default=available_cores(),
                   help="threads for torch, ONNX Runtime and scipy.fft (default: all cores)")  # fmt: skip
    p.add_argument("--runs", type=int, help="timed runs per contender (default 7; quick 1)")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")  # fmt: skip
    args = p.parse_args(argv)
    sections = tuple(x.strip() for x in args.sections.split(",") if x.strip())
    bad = [x for x in sections if x not in SECTIONS]
    if bad or not sections:
        p.error(f"--sections: unknown {bad or sections}; choose from {', '.join(SECTIONS)}")
    if args.threads < 1 or (args.runs is not None and args.runs < 1):
        p.error("--threads and --runs must be >= 1")
    if args.checkpoint is not None and not args.checkpoint.is_file():
        p.error(f"--checkpoint {args.checkpoint}: file not found")
    if not args.out.is_dir():
        p.error(f"--out {args.out}: not a folder")
    kw: dict[str, Any] = dict(checkpoint=args.checkpoint, threads=args.threads, sections=sections)
    if args.runs is not None:
        kw["runs"] = args.runs
    cfg = BenchConfig.quick_config(args.out, **kw) if args.quick else BenchConfig(args.out, **kw)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        results = run(cfg)
    except BenchError as exc:
        print(f"creative-agent bench: error: {exc}", file=sys.stderr)
        return 1
    results["command"] = "creative-agent bench " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = to_markdown(results)
    write_atomic(cfg.out / "bench.json", json.dumps(results, indent=2, allow_nan=False) + "\n")
    write_atomic(cfg.out / "benchmarks.md", text)
    print(text)
    print(f"wrote {cfg.out / 'benchmarks.md'} and {cfg.out / 'bench.json'}")
    return 0
