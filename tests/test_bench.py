"""The bench/ package: the benchmark machinery end to end at tiny sizes (``--quick``: real
ONNX Runtime renders, real subprocesses, real torchrun jobs), its command line, the floor's
identity core and the reference mixes (bench/baselines.py). Nothing here asserts a speed:
the machine is shared and timings drift."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import cli, demo, steal
from bench.audio import read_audio, write_audio
from bench.baselines import (
    VocoderConfig,
    channel_vocoder,
    stft_roundtrip,
    vocoder_edges,
)
from bench.cpu_budget import cpu_budget, md_cpu_budget
from bench.floor import floor_render, identity_core
from bench.parallel import parallel_throughput, together
from bench.usage import USAGE_KEYS, Usage, median_usage
from plugin_host.dsp import HostDSP
from plugin_host.measures import chroma_cos, measure_clip
from plugin_host.mixers import plain_sum
from plugin_host.pipeline import process_chunked
from plugin_host.runtime import load_model
from tests.helpers import chord

SR = 44100
# a 16-band layout for the STFT helpers (any strictly rising bin edges would do)
EDGES = [0, 2, 4, 7, 11, 16, 23, 33, 47, 66, 93, 130, 182, 255, 357, 500, 700, 1025]

# every figure the issue names, each a positive finite number after a run
FIGURES = (
    "host_rtf",
    "host_1thread_seconds",
    "torch_rtf",
    "floor_rtf",
    "host_vs_torch_ratio",
    "host_vs_floor_ratio",
    "fft_floor_rtf",
    "host_vs_fft_floor_ratio",
    "end_to_end_rtf",
    "render_batch_rtf",
    "osc_roundtrip_p50_ms",
    "osc_roundtrip_p95_ms",
    "cold_start_s",
    "end_to_end_seconds",
    "rss_last_over_first",
    "ddp_samples_per_s_1",
    "ddp_samples_per_s_2",
    "ddp_scaling_2_over_1",
)


def _positive(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


@pytest.mark.slow
def test_quick_bench_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "new" / "docs"  # --out is created when missing (issue 11, item 5)
    assert cli.main(["--out", str(out), "--quick"]) == 0
    data = json.loads((out / "bench.json").read_text())
    md = (out / "benchmarks.md").read_text()
    for key in FIGURES:
        assert _positive(data[key]), f"{key} = {data[key]!r}"
    md_keys = (
        "host_vs_torch_ratio",
        "host_vs_floor_ratio",
        "host_vs_fft_floor_ratio",
        "end_to_end_rtf",
        "render_batch_rtf",
        "osc_roundtrip_p95_ms",
    )
    for key in (*md_keys, "rss_last_over_first", "ddp_scaling_2_over_1", "cold_start_s"):
        assert f"`{key}`" in md
    # issue 15: torch at its best thread count, the commands' sizes as configured for --quick
    assert data["torch_best_threads"] in (1, data["config"]["threads"])
    assert data["processes"]["render_batch"]["pairs"] == data["config"]["batch_pairs"] == 4
    assert data["osc"]["renders"] == 3 and len(data["runs_s"]["osc"]["osc_roundtrip"]) == 3
    assert data["osc_roundtrip_p50_ms"] <= data["osc_roundtrip_p95_ms"]
    # the machine's load before and after, in the JSON and the markdown's closing note
    assert len(data["machine"]["load_average_start"]) == 3
    assert len(data["machine"]["load_average_end"]) == 3
    assert "Targets in this run (load average" in md
    # per-stage split of the end-to-end render: every stage measured; each is busy time on
    # at most two threads inside the render (chains and I/O: the reader's and the writer's),
    # so none exceeds twice its wall time, while together they may
    stages = data["end_to_end_stages_s"]
    assert set(stages) >= {"io", "chains", "dsp", "core", "report"}
    assert all(v >= 0 for v in stages.values())
    assert stages["chains"] > 0 and stages["core"] > 0 and stages["dsp"] > 0
    assert all(v <= 2 * data["end_to_end_seconds"] for v in stages.values()), stages
    # the host on one thread: its stages run in turn, so they cannot add up to more than
    # its wall time (5 %: the timers and the bench's clock are read at slightly different
    # moments)
    one = data["host_1thread_stages_s"]
    assert one["dsp"] > 0 and one["report"] > 0 and one["io"] > 0
    assert sum(one.values()) <= 1.05 * data["host_1thread_seconds"], one
    # the CPU budget: every thread's CPU seconds per call, and what the targets leave
    budget = data["cpu_budget"]
    assert all(_positive(v) for v in budget["cpu_seconds"].values()), budget
    assert budget["host_cpu_allowed_s"] == pytest.approx(
        1.3 * data["fft_floor_seconds"] * data["config"]["threads"]
    )
    assert "## 3a. CPU budget of the speed targets" in md
    # what threads add: the host on one thread and the machine's parallel throughput, the
    # getrusage counters per render, and the bounds they give
    assert _positive(data["host_1thread_cpu_seconds"]) and budget["bounds"] is not None
    assert data["parallel"]["threads"] == data["config"]["threads"]
    assert _positive(data["parallel"]["throughput"])
    for key in ("host_usage", "host_1thread_usage", "end_to_end_usage"):
        assert _positive(data[key]["user_s"]) and data[key]["switches"] >= 0, key
    assert "| host, one thread |" in md and "`bench.parallel`" in md
    # CPU steal over the run and per section (Linux: /proc/stat), in the machine table
    steal = data["steal_percent"]
    assert set(steal) == {"run", *data["section_seconds"]}
    assert all(v is None or 0.0 <= v <= 100.0 for v in steal.values())
    assert "| CPU steal |" in md
    # memory: one fresh process per length, none of them imported torch; the ratio's
    # lengths are recorded (the quick run's, not 10 s and 600 s)
    assert len(data["rss"]) == 3 and data["memory_torch_imported"] is False
    assert data["memory_seconds"] == [0.5, 2.0, 6.0] and "rss_600s_over_10s" not in data
    assert "peak(6 s) / peak(0.5 s)" in md
    assert all(_positive(row["peak_mib"]) for row in data["rss"].values())
    # baselines scored with the report's measures
    assert set(data["baselines"]) == {"agent", "sum", "vocoder", "target_copy"}
    assert data["baselines"]["sum"]["residual"] == pytest.approx(0.0, abs=1e-3)
    assert data["baselines"]["target_copy"]["output_target_corr"] == pytest.approx(1.0)
    # targets judged from the figures themselves
    assert set(data["targets"]) == {*md_keys, "rss_last_over_first"}
    for key, t in data["targets"].items():
        assert t["value"] == data[key]
        assert isinstance(t["met"], bool)
    assert data["train"]["2"]["world_size"] == 2 and data["train"]["1"]["world_size"] == 1
    if not torch.cuda.is_available():
        assert data["gpu"] is None and "skipped: no CUDA device" in md
    assert data["quick"] is True and "Quick run" in md
    assert "## Closing note" in md and f"{data['host_vs_torch_ratio']:.2f}" in md


def test_bad_arguments_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--out", str(tmp_path), "--sections", "host,nope"])
    assert exc.value.code == 2
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(SystemExit) as exc:
        cli.main(["--out", str(a_file)])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["--out", str(tmp_path / "missing"), "--runs", "0"])
    assert exc.value.code == 2
    # a folder that cannot be created: a runtime error, one line, exit 1
    capsys.readouterr()
    assert cli.main(["--out", str(a_file / "sub")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--out {a_file / 'sub'}: Not a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("module", [cli, demo])
def test_help_has_no_markup_and_every_option_has_help(module: object) -> None:
    """Issue 11, item 9: ``--help`` shows no RST markup, a whole description, and help for
    every option (rendered by the real command line, in a fresh process)."""
    parser: argparse.ArgumentParser = module.parser()  # type: ignore[attr-defined]
    command = parser.prog.split()[-1]
    done = subprocess.run(
        [sys.executable, "-m", "plugin_host.cli", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for markup in ("``", ":func:", ":class:", ":data:"):
        assert markup not in text
    assert parser.description and parser.description.rstrip().endswith(".")
    assert " ".join(parser.description.split()) in " ".join(text.split())
    for action in parser._actions:
        assert action.help and action.help.strip(), f"{action.option_strings}: no help"


def test_stft_roundtrip_returns_the_sum() -> None:
    """Unit masks and a Hann window at 75 % overlap reconstruct input + target exactly up to
    float32 rounding (~1e-6 of full scale; 1e-5 leaves room for the FFT's error)."""
    rng = np.random.default_rng(0)
    dsp = HostDSP(2048, 512, EDGES)
    for t in (300, 512, 9000):  # shorter than a frame, one hop, several chunks
        x = rng.standard_normal((2, t)).astype(np.float32) * 0.3
        y = rng.standard_normal((2, t)).astype(np.float32) * 0.3
        out = stft_roundtrip(x, y, dsp)
        assert out.shape == (2, t) and out.dtype == np.float32
        np.testing.assert_allclose(out, x + y, atol=1e-5)


def test_plain_sum_is_measured_as_an_even_linear_mix() -> None:
    """Two independent noises of equal power mixed 50/50: least squares finds no residual and
    an input share of 0.5; each correlation is ~1/sqrt(2) (0.02 covers 2 s of noise)."""
    rng = np.random.default_rng(1)
    x = (0.2 * rng.standard_normal((2, 2 * SR))).astype(np.float32)
    y = (0.2 * rng.standard_normal((2, 2 * SR))).astype(np.float32)
    out = plain_sum(x, y)
    np.testing.assert_array_equal(out, np.float32(0.5) * x + np.float32(0.5) * y)
    m = measure_clip(out, x, y, HostDSP(2048, 512, EDGES), SR)
    assert m["residual"] == pytest.approx(0.0, abs=1e-6)
    assert m["share_input"] == pytest.approx(0.5, abs=0.02)
    assert m["output_input_corr"] == pytest.approx(2**-0.5, abs=0.02)
    assert m["verdict"] == "mixing" and m["meets_seed_criteria"] is True
    with pytest.raises(ValueError, match="balance"):
        plain_sum(x, y, balance=1.5)


def test_vocoder_keeps_the_input_envelope_and_the_target_pitches() -> None:
    """Input: noise gated on for 100 ms of every 200 ms; target: a sustained chord. The
    vocoder's output is loud where the input is on and ~silent where it is off (the STFT's
    2048-sample frames smear ~23 ms at each edge, so only gate centres are compared), and
    its harmony is the chord's: chroma cosine with the chord > 0.8 (the gaps' near-silent
    frames keep it below 1), with the noise < 0.6 (noise vs the chord itself: ~0.66)."""
    rng = np.random.default_rng(2)
    t = 2 * SR
    gate = ((np.arange(t) // (SR // 10)) % 2 == 0).astype(np.float32)
    x = (0.3 * rng.standard_normal((2, t)) * gate).astype(np.float32)
    y = chord(2.0, SR)
    out = channel_vocoder(x, y, SR)
    assert out.shape == x.shape and np.isfinite(out).all()
    period, half = SR // 5, SR // 10
    centre = slice(SR // 40, half - SR // 40)  # 25 ms in from each edge of a half-period
    on = np.concatenate([out[:, p : p + half][:, centre] for p in range(0, t - period, period)], 1)
    off = np.concatenate(
        [out[:, p + half : p + period][:, centre] for p in range(0, t - period, period)], 1
    )
    assert np.sqrt((off**2).mean()) < 0.02 * np.sqrt((on**2).mean())
    mag = [np.abs(HostDSP(2048, 512, EDGES).stft(s)) for s in (out, y, x)]
    to_target, to_input = (chroma_cos(mag[0], m, SR, 2048) for m in mag[1:])
    assert to_target is not None and to_target > 0.8
    assert to_input is not None and to_input < 0.6
    edges = vocoder_edges(SR, VocoderConfig())
    assert edges[0] == 0 and edges[-1] == 1025 and all(np.diff(edges) >= 1)


def test_floor_streams_the_sum_through_the_host_pipeline(tmp_path: Path, tiny_onnx: Path) -> None:
    """The floor is the host's streaming path with unit masks: input + target up to float32
    rounding (1e-5 of full scale, as for the STFT round trip), in several chunks (the
    chunk seams are where a private copy would differ), and as a file on disk."""
    identity = identity_core(load_model(tiny_onnx, provider="cpu", threads=1))
    rng = np.random.default_rng(3)
    t = 3 * 44100 // 2
    x = (0.3 * rng.standard_normal((2, t))).astype(np.float32)
    y = (0.3 * rng.standard_normal((2, t))).astype(np.float32)
    out = process_chunked(identity, x, y, chunk_frames=16, feed_samples=5000)
    assert out.shape == x.shape
    np.testing.assert_allclose(out, x + y, atol=1e-5)
    rate = identity.metadata.sample_rate
    paths = (tmp_path / "x.wav", tmp_path / "y.wav")
    for path, audio in zip(paths, (x, y), strict=True):
        write_audio(path, audio, rate)
    floor_render(identity, paths, tmp_path / "floor.wav")
    np.testing.assert_allclose(read_audio(tmp_path / "floor.wav", rate), x + y, atol=1e-5)


def test_cpu_budget_from_results() -> None:
    """The budget's arithmetic on made-up figures; None when a section did not run."""
    results = {
        "config": {"seconds": 60.0},
        "host_seconds": 0.25, "host_cpu_seconds": 0.40,
        "fft_floor_seconds": 0.10, "fft_floor_cpu_seconds": 0.15,
        "end_to_end_seconds": 0.40, "end_to_end_cpu_seconds": 0.64,
        "chain_plugins_cpu_seconds": 0.22,
    }  # fmt: skip
    b = cpu_budget(results, threads=2)
    assert b is not None
    assert b["cores_used"]["host"] == pytest.approx(1.6)
    assert b["rtf_all_cores_busy"]["end_to_end"] == pytest.approx(60 * 2 / 0.64)
    assert b["host_cpu_allowed_s"] == pytest.approx(1.3 * 0.10 * 2)
    assert b["end_to_end_cpu_allowed_s"] == pytest.approx(60 / 200 * 2)
    assert b["cpu_seconds"]["chain_plugins"] == 0.22
    md = "\n".join(md_cpu_budget({**results, "cpu_budget": b}))
    assert "0.260 CPU s" in md and "1.54× that" in md  # 0.40 / 0.26
    assert cpu_budget({**results, "end_to_end_cpu_seconds": None}, threads=2) is None
    assert b["bounds"] is None and b["threads_cpu_ratio"] is None  # no one-thread figures


def test_cpu_budget_bounds_from_one_thread_work() -> None:
    """The bounds: the one-thread work over the machine's parallel throughput, on
    made-up figures; the markdown says on which side of the target each falls."""
    usage = {"user_s": 0.3, "sys_s": 0.07, "switches": 1500.0, "faults": 7000.0}
    results = {
        "config": {"seconds": 60.0},
        "host_seconds": 0.25, "host_cpu_seconds": 0.40,
        "fft_floor_seconds": 0.10, "fft_floor_cpu_seconds": 0.15,
        "end_to_end_seconds": 0.40, "end_to_end_cpu_seconds": 0.64,
        "chain_plugins_cpu_seconds": 0.22, "host_1thread_cpu_seconds": 0.27,
        "parallel": {"threads": 2, "throughput": 1.8},
        "host_usage": usage, "host_1thread_usage": None, "end_to_end_usage": usage,
    }  # fmt: skip
    b = cpu_budget(results, threads=2)
    assert b is not None and b["bounds"] is not None
    assert b["threads_cpu_ratio"] == pytest.approx(0.40 / 0.27)
    assert b["bounds"]["host_vs_fft_floor_ratio"] == pytest.approx(0.27 / 1.8 / 0.10)  # 1.5
    assert b["bounds"]["end_to_end_rtf"] == pytest.approx(60 * 1.8 / (0.27 + 0.22))
    md = "\n".join(md_cpu_budget({**results, "cpu_budget": b}))
    assert "| host | 0.300 | 0.070 | 1500 | 7000 |" in md
    assert "| host, one thread |" not in md  # no counters: no row
    assert "= 1.50 (above the target" in md
    fast = {**results, "host_1thread_cpu_seconds": 0.2}  # 0.2 / 1.8 / 0.1 = 1.11
    md = "\n".join(md_cpu_budget({**fast, "cpu_budget": cpu_budget(fast, threads=2)}))
    assert "= 1.11 (within the target" in md
    # one thread: the cores give what one does; two without the probe: no bounds
    one = cpu_budget({**results, "parallel": None}, threads=1)
    assert one is not None and one["bounds"]["parallel_throughput"] == 1.0
    assert cpu_budget({**results, "parallel": None}, threads=2)["bounds"] is None  # type: ignore[index]


def test_usage_counts_what_a_call_costs() -> None:
    """getrusage counters between two readings: CPU of a busy loop, a voluntary context
    switch when the caller waits for a thread, page faults of fresh memory."""
    before = Usage.now()
    total = sum(i * i for i in range(200_000))  # CPU in user mode
    waiter = threading.Thread(target=time.sleep, args=(0.02,))
    waiter.start()
    waiter.join()  # the caller sleeps until the thread ends: a voluntary switch
    fresh = np.ones(1 << 22)  # 32 MB never touched before: page faults
    got = Usage.now().since(before)
    assert total > 0 and fresh.sum() == 1 << 22
    assert set(got) == set(USAGE_KEYS)
    assert got["user_s"] > 0 and got["switches"] >= 1 and got["faults"] >= 1
    assert median_usage([got, got]) == got and median_usage([]) is None


def test_parallel_runs_copies_at_once_and_reports_throughput() -> None:
    """``together`` runs the copies on threads at the same time (a barrier that every copy
    must reach before any goes on would time out otherwise) and re-raises a copy's error;
    the throughput is threads × alone / together."""
    barrier = threading.Barrier(3, timeout=10)
    together(barrier.wait, 3)
    with pytest.raises(ZeroDivisionError):
        together(lambda: 1 / 0, 2)
    got = parallel_throughput(lambda: time.sleep(0.01), threads=2, runs=2, warmup=1)
    assert got["threads"] == 2
    assert got["throughput"] == pytest.approx(2 * got["alone_seconds"] / got["together_seconds"])


def test_steal_percent_from_ticks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Steal ticks over all ticks between two readings of /proc/stat's cpu line."""
    stat = tmp_path / "stat"
    monkeypatch.setattr(steal, "PROC_STAT", stat)
    stat.write_text("cpu  100 0 50 800 0 0 0 50 0 0\ncpu0 1 2 3\n")
    a = steal.cpu_ticks()
    stat.write_text("cpu  160 0 70 880 0 0 0 90 0 0\n")
    b = steal.cpu_ticks()
    assert steal.steal_percent(a, b) == pytest.approx(100 * 40 / 200)
    assert steal.steal_percent(a, a) is None and steal.steal_percent(None, b) is None
    stat.write_text("cpu  1 2 3\n")  # an old kernel without the steal field
    assert steal.cpu_ticks() is None
    monkeypatch.setattr(steal, "PROC_STAT", tmp_path / "missing")
    assert steal.cpu_ticks() is None
