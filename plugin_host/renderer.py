"""Offline rendering: INPUT → input_chain → agent ← target_chain ← TARGET; agent → output_chain
→ output gain → OUT, streamed in blocks so memory stays flat for any clip length, plus the
per-clip report.

Signal path and rates: both files are read block by block, resampled to the model's rate
(``model.metadata.sample_rate``), their channels matched to the input's (mono copied, stereo
averaged), the target looped/padded/trimmed to the input (``fit``), each run through its
chain, then the agent (:class:`plugin_host.pipeline.StreamingAgent`, exact chunked STFT
processing), the output chain and the output gain, and resampled back to the input's rate
(:mod:`plugin_host.render_stream`). The report measures the agent itself: its output against
its own two inputs (after their chains, before the output chain), at the model's rate.

A silent or near-silent source (:mod:`plugin_host.levels`) is not mixed: the other one
passes through at its own level, with a warning in the log and in the report's ``warnings``.

Files (:mod:`plugin_host.render_files`): nothing is written unless every check passes; the
audio, report and plot are written into unnamed files in their folders and linked into
place together at the end; any failure, a cancel, Ctrl-C or a kill leaves none of them. An
output never replaces an input, and an existing one needs ``overwrite``. A missing output
folder is created (inside ``allow_roots`` when given).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from plugin_host.audio_io import (
    AudioFileError,
    AudioInfo,
    resampled_length,
)
from plugin_host.balance_curve import BalanceCurve, BalanceCurveError
from plugin_host.chain import Chain, ChainError
from plugin_host.levels import PassThroughModel, SourceCheck, check_sources
from plugin_host.musical.grid import BarGrid
from plugin_host.paths import AllowedRoots
from plugin_host.render_files import (
    RenderOutputs,
    RenderPathError,
    RenderPaths,
    check_outputs,
    check_root,
    probe_inputs,
)
from plugin_host.render_musical import (
    MusicalError,
    MusicalPrep,
    check_musical,
    fitted_target,
    pre_pass,
    target_length,
)
from plugin_host.render_stream import (
    ModelOutputError,
    StreamCancelled,
    StreamJob,
    Timer,
    model_threaded,
    stream,
    threaded,
)
from plugin_host.report import ReportAccumulator, describe_render
from plugin_host.runtime import LoadedModel, ModelLoadError, load_model
from plugin_host.share_calibration import ShareCalibrationConfig
from plugin_host.timeline import Segments, TimelineAccumulator

log = logging.getLogger(__name__)

FITS = ("loop", "pad", "trim")
OUTPUT_GAIN_RANGE_DB = (-96.0, 24.0)  # a final gain after the output chain, in dB


class RenderError(ValueError):
    """Bad input to a render: the message is one line naming the file or field."""


class RenderCancelled(RuntimeError):
    """The render was cancelled (its ``cancel`` event was set); nothing was written."""


PathLike = str | os.PathLike[str]
_BAD_INPUT = (
    AudioFileError, ChainError, ModelLoadError, RenderPathError, ModelOutputError,
    BalanceCurveError, MusicalError,
)  # fmt: skip


@dataclass(frozen=True)
class _Settings:
    """The checked knobs of one render: balance 0..1 (or a curve), fit, output gain in dB
    and linear."""

    balance: float | BalanceCurve
    fit: str
    gain_db: float
    gain: float
    overwrite: bool
    chunk_frames: int | None
    bar_grid: BarGrid | None = None
    calibration: ShareCalibrationConfig | None = None


def render(
    input_path: PathLike,
    target_path: PathLike,
    model: PathLike | LoadedModel,
    output_path: PathLike,
    *,
    chain: Chain | PathLike | dict[str, Any] | None = None,
    balance: float | BalanceCurve = 0.5,
    fit: str = "loop",
    output_gain_db: float = 0.0,
    report_path: PathLike | None = None,
    plot_path: PathLike | None = None,
    overwrite: bool = False,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    allow_roots: AllowedRoots | None = None,
    provider: str = "auto",
    chunk_frames: int | None = None,
    bar_grid: BarGrid | None = None,
    align: str = "none",
    transpose: str | int = "none",
    timeline: str = "auto",
    prepared: MusicalPrep | None = None,
    share_calibration: bool | ShareCalibrationConfig = True,
) -> dict[str, Any]:
    """Render one INPUT/TARGET pair to ``output_path`` and return the report (a JSON-ready
    dict; also written to ``report_path`` when given).

    model: an ONNX path or a loaded model (kept by a server); chain: a ``Chain``, a chain
    JSON path, a dict, or None; balance in [0, 1] (the input's intended share), or a
    ``BalanceCurve`` (automation: the knob per STFT frame; the report's ``balance`` is then
    its mean over the clip's frames and ``balance_curve`` its breakpoints); fit:
    ``loop`` (target looped under the input), ``pad`` (the shorter one padded with
    silence) or ``trim`` (both cut to the shorter); output_gain_db: a final gain in dB
    after the output chain, in ``OUTPUT_GAIN_RANGE_DB``; plot_path: a ``.png``;
    progress(fraction 0..1) is called after each block; cancel (a ``threading.Event``) is
    checked between blocks and raises ``RenderCancelled``; allow_roots: every path
    (inputs, outputs, model, chain and its plugin files) must resolve inside these
    folders (None: no restriction); chunk_frames: STFT frames per chunk (default: the
    pipeline's); bar_grid: the INPUT's bars when known (the report's ``timeline`` is per
    bar; else the pre-pass's grid, else per second). align (none|tempo), transpose
    (none|auto|semitones), timeline (auto|bars|seconds), prepared (a pre-pass made for
    this pair, e.g. by variations): :mod:`plugin_host.render_musical`; share_calibration:
    True (the default: default settings) or a config makes the masked share follow the
    knob, False leaves the core's masks as they are (:mod:`plugin_host.share_calibration`;
    not applied when a source passes through). Raises
    ``RenderError`` for bad input; nothing is written then.
    """
    started = time.perf_counter()
    balance, gain = _check_args(balance, fit, output_gain_db, allow_roots)
    if bar_grid is not None and not isinstance(bar_grid, BarGrid):
        raise TypeError(f"bar_grid must be a BarGrid or None, got {type(bar_grid).__name__}")
    settings = _Settings(balance, fit, float(output_gain_db), gain, overwrite, chunk_frames,
                         bar_grid, _calibration(share_calibration))  # fmt: skip
    if cancel is not None and cancel.is_set():
        raise RenderCancelled("render cancelled before it started")
    timer = Timer()
    try:
        musical = check_musical(align, transpose, timeline)
        info_in, info_tg = probe_inputs(input_path, target_path, allow_roots)
        paths = check_outputs(
            info_in, info_tg, model, chain, output_path, report_path, plot_path,
            overwrite, allow_roots,
        )  # fmt: skip
        the_chain = _as_chain(chain, allow_roots)
        t = time.perf_counter()
        known = prepared.sources if prepared is not None else None
        # the two files at once, unless the render was given one thread (a render-batch worker)
        parallel = not isinstance(model, LoadedModel) or model_threaded(model)
        sources = known or check_sources(info_in, info_tg, parallel)
        t = timer.add("levels", t)
        if not isinstance(model, LoadedModel):
            model = load_model(model, provider=provider)
            t = timer.add("load_model", t)
        prep = pre_pass(info_in, info_tg, model.metadata.sample_rate, musical, prepared)
        if musical.active or prepared is not None:
            timer.add("musical", t)
    except _BAD_INPUT as exc:
        raise RenderError(str(exc)) from exc
    if sources.warning:
        log.warning("%s", sources.warning)
    try:
        # The host's BLAS work (resampling, report sums) comes in small products; OpenBLAS
        # threads busy-wait between them, which on a loaded 2-core machine made them 5-20x
        # slower than one thread (measured). One thread for the render, restored after.
        with threadpool_limits(limits=1, user_api="blas"):
            report = _run(model, info_in, info_tg, paths, the_chain, settings, sources,
                          prep, progress, cancel, timer, started)  # fmt: skip
    except StreamCancelled as exc:
        raise RenderCancelled(f"render of {paths.output} cancelled") from exc
    except _BAD_INPUT as exc:  # found while streaming (e.g. a NaN sample)
        raise RenderError(str(exc)) from exc
    if progress is not None:
        progress(1.0)
    log.info("rendered %s in %.2f s (RTF %.4f)", paths.output, report["render_seconds"],
             report["rtf"])  # fmt: skip
    return report


def _calibration(value: bool | ShareCalibrationConfig) -> ShareCalibrationConfig | None:
    if isinstance(value, ShareCalibrationConfig):
        return value
    if not isinstance(value, bool):
        raise TypeError(f"share_calibration must be a bool or a ShareCalibrationConfig, got "
                        f"{type(value).__name__}")  # fmt: skip
    return ShareCalibrationConfig() if value else None


def _check_args(
    balance: Any, fit: str, output_gain_db: Any, allow_roots: Any
) -> tuple[float | BalanceCurve, float]:
    """(balance, linear output gain), checked; raises RenderError / TypeError."""
    if fit not in FITS:
        raise RenderError(f"fit {fit!r}: choose one of {', '.join(FITS)}")
    if allow_roots is not None and not isinstance(allow_roots, AllowedRoots):
        raise TypeError(
            f"allow_roots must be a plugin_host.paths.AllowedRoots or None, "
            f"got {type(allow_roots).__name__}"
        )
    values = {"balance": 0.5}
    knobs = [("balance", balance)] if not isinstance(balance, BalanceCurve) else []
    for name, raw in (*knobs, ("output_gain_db", output_gain_db)):
        try:
            values[name] = float(raw)
        except (TypeError, ValueError) as exc:
            raise RenderError(f"{name} {raw!r}: not a number") from exc
    if not (math.isfinite(values["balance"]) and 0.0 <= values["balance"] <= 1.0):
        raise RenderError(f"balance {values['balance']}: must be between 0 and 1")
    lo, hi = OUTPUT_GAIN_RANGE_DB
    if not (math.isfinite(values["output_gain_db"]) and lo <= values["output_gain_db"] <= hi):
        raise RenderError(
            f"output_gain_db {values['output_gain_db']}: must be in [{lo:g}, {hi:g}] dB"
        )
    knob = balance if isinstance(balance, BalanceCurve) else values["balance"]
    return knob, 10.0 ** (values["output_gain_db"] / 20.0)


def _as_chain(chain: Chain | PathLike | dict[str, Any] | None, roots: AllowedRoots | None) -> Chain:
    if chain is None:
        return Chain()
    if isinstance(chain, Chain):
        for p in chain.file_paths():
            check_root(p, "chain plugin file", roots)
        return chain
    if not isinstance(chain, dict):
        check_root(chain, "chain", roots)
    return Chain.from_json(chain, allow_roots=roots)


def _plan(
    fit: str, info_in: AudioInfo, info_tg: AudioInfo, rate: int, t_tg: int | None
) -> tuple[int, int, bool]:
    """(samples at the model rate, output frames at the input's rate, loop the target);
    ``t_tg``: the in-memory TARGET's samples at the model rate (None: its file's)."""
    t_in = resampled_length(info_in.frames, info_in.sample_rate, rate)
    if t_tg is None:
        t_tg = resampled_length(info_tg.frames, info_tg.sample_rate, rate)
    total = {"loop": t_in, "trim": min(t_in, t_tg), "pad": max(t_in, t_tg)}[fit]
    frames = info_in.frames if total == t_in else resampled_length(total, rate, info_in.sample_rate)
    return total, frames, fit == "loop"


def _run(
    model: LoadedModel,
    info_in: AudioInfo,
    info_tg: AudioInfo,
    paths: RenderPaths,
    chain: Chain,
    settings: _Settings,
    sources: SourceCheck,
    prep: MusicalPrep,
    progress: Callable[[float], None] | None,
    cancel: threading.Event | None,
    timer: Timer,
    started: float,
) -> dict[str, Any]:
    """Stream the render into uncommitted files, build the report, commit all files.
    ``prep.grid``: the INPUT's BarGrid (or None) for the timeline."""
    meta = model.metadata
    rate, channels = meta.sample_rate, info_in.channels
    total, out_frames, loop = _plan(settings.fit, info_in, info_tg, rate, target_length(prep))
    target_audio, looped = fitted_target(prep, settings.fit, total)
    agent_model = PassThroughModel.of(model, sources.keep) if sources.keep else model
    # the INPUT's bars (an explicit grid, else the pre-pass's): the timeline's and a
    # bar-valued balance curve's; None: per second
    grid = settings.bar_grid or prep.grid
    knob = _frame_balance(settings.balance, model, total, grid)
    if isinstance(knob, np.ndarray):
        model.check_balance(knob)  # a moving knob on an old file: refused before any output
    calibration = None if sources.keep else settings.calibration  # nothing to balance
    job = StreamJob(agent_model, info_in, info_tg, chain, knob, channels, total,
                    loop and target_audio is None, settings.chunk_frames, settings.gain,
                    prep.input, target_audio, calibration)  # fmt: skip
    acc = ReportAccumulator(rate, meta.n_fft, np.diff(model.dsp.edges))
    timeline = TimelineAccumulator(Segments.of(total, rate, grid), rate, meta.n_fft, meta.hop,
                                   np.diff(model.dsp.edges))  # fmt: skip
    plot_data = None
    if paths.plot is not None:
        from plugin_host.plot import PlotData

        plot_data = PlotData(model.dsp.n_frames(total), rate, meta.n_fft, meta.hop,
                             model.dsp.edges)  # fmt: skip
    outputs = RenderOutputs(settings.overwrite, paths.folders)
    try:
        writer = outputs.open_audio(
            paths.output, sample_rate=info_in.sample_rate, channels=channels,
            length=out_frames, source_rate=rate, source_length=total,
            sync_early=threaded(job),  # the writer has a thread of its own
        )  # fmt: skip
        stream(job, writer, acc, plot_data.add if plot_data else None, timer, progress, cancel,
               timeline)  # fmt: skip
        report = describe_render(model, info_in, info_tg, paths, chain, float(np.mean(knob)),
                         settings.fit, channels, out_frames, acc)  # fmt: skip
        curve = settings.balance
        report["balance_curve"] = curve.to_dict() if isinstance(curve, BalanceCurve) else None
        report["share_calibration"] = None if calibration is None else asdict(calibration)
        report["timeline"] = timeline.compute()
        report["output_gain_db"] = settings.gain_db
        report["warnings"] = ([sources.warning] if sources.warning else []) + [*prep.warnings]
        report["alignment"] = prep.alignment and {**prep.alignment, "loop": looped}
        if plot_data is not None and paths.plot is not None:
            from plugin_host.plot import draw_plot

            t = time.perf_counter()
            title = f"{paths.output.name}: {report['verdict']}"
            outputs.add(paths.plot, lambda f: draw_plot(f, plot_data, title, report["timeline"]))
            timer.add("plot", t)
        report["render_seconds"] = time.perf_counter() - started
        report["rtf"] = report["render_seconds"] / max(report["durations_s"]["output"], 1e-9)
        report["timings_s"] = {k: round(v, 4) for k, v in timer.seconds.items()}
        if paths.report is not None:
            outputs.add_json(paths.report, report)
        outputs.commit()
    except BaseException:
        outputs.discard()
        raise
    return report


def _frame_balance(
    balance: float | BalanceCurve, model: LoadedModel, total: int, grid: BarGrid | None
) -> float | np.ndarray:
    """The knob: a float, or a curve's value per STFT frame (float32 [N]) for ``total``
    samples at the model's rate."""
    if not isinstance(balance, BalanceCurve):
        return balance
    meta = model.metadata
    return balance.frame_values(model.dsp.n_frames(total), meta.hop, meta.sample_rate, grid)
