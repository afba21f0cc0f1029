"""Offline rendering: INPUT → input_chain → agent ← target_chain ← TARGET; agent → output_chain
→ OUT, streamed in blocks so memory stays flat for any clip length, plus the per-clip report.

Signal path and rates: both files are read block by block, resampled to the model's rate
(``model.metadata.sample_rate``), their channels matched to the input's (mono copied, stereo
averaged), the target looped/padded/trimmed to the input (``fit``), each run through its
chain, then the agent (:class:`plugin_host.pipeline.StreamingAgent`, exact chunked STFT
processing), the output chain, and resampled back to the input's rate. The report measures
the agent itself: its output against its own two inputs (after their chains, before the
output chain), at the model's rate.

Files: nothing is written unless every check passes; outputs go to temp files beside their
destinations and are renamed at the end (``os.replace``); any failure, a cancel or Ctrl-C
removes them. An output never replaces an input, and an existing one needs ``overwrite``.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from plugin_host.audio_io import (
    AtomicAudioWriter,
    AudioFileError,
    AudioInfo,
    SourceReader,
    check_output_format,
    probe,
    resampled_length,
)
from plugin_host.chain import Chain, ChainError, SectionStream
from plugin_host.paths import AllowedRoots
from plugin_host.pipeline import Emitted, FrameBlock, StreamingAgent
from plugin_host.report import SCHEMA, ReportAccumulator, metadata_hash, write_json_atomic
from plugin_host.runtime import LoadedModel, ModelLoadError, load_model

log = logging.getLogger(__name__)

FITS = ("loop", "pad", "trim")
READ_BLOCK = 1 << 16  # samples per read at the model's rate (1.5 s at 44.1 kHz)
_MIN_LAST = 64  # never leave a last read shorter than this (pedalboard guesses layouts)


class RenderError(ValueError):
    """Bad input to a render: the message is one line naming the file or field."""


class RenderCancelled(RuntimeError):
    """The render was cancelled (its ``cancel`` event was set); nothing was written."""


PathLike = str | os.PathLike[str]


def _roots(allow_roots: Any) -> list[Path] | None:
    if allow_roots is None:
        return None
    raw = getattr(allow_roots, "roots", allow_roots)  # plugin_host.paths.AllowedRoots too
    if isinstance(raw, str | os.PathLike):
        raw = [raw]
    return [Path(os.path.realpath(r)) for r in raw]


def _check_root(path: Path, what: str, roots: list[Path] | None) -> None:
    if roots is None:
        return
    real = Path(os.path.realpath(path))
    if not any(real == r or real.is_relative_to(r) for r in roots):
        raise RenderError(f"{what} {path}: outside the allowed roots")


def _output_path(
    raw: PathLike, what: str, overwrite: bool, taken: dict[Path, str], roots: list[Path] | None
) -> Path:
    """Check a file to create: writable folder, not an input or another output, not an
    existing file unless ``overwrite``. ``taken`` maps real paths already in use."""
    path = Path(raw)
    _check_root(path, what, roots)
    real = Path(os.path.realpath(path))
    if real in taken:
        raise RenderError(
            f"{what} {path}: same file as the {taken[real]}; refusing to overwrite it"
        )
    if not path.parent.is_dir():
        raise RenderError(f"{what} {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise RenderError(f"{what} {path}: is a directory")
    if path.exists() and not overwrite:
        raise RenderError(f"{what} {path}: exists (pass overwrite / --overwrite to replace it)")
    if not os.access(path.parent, os.W_OK):
        raise RenderError(f"{what} {path}: folder {path.parent} is not writable")
    taken[real] = what
    return path


def _as_chain(chain: Chain | PathLike | dict[str, Any] | None, roots: list[Path] | None) -> Chain:
    if chain is None:
        return Chain()
    if isinstance(chain, Chain):
        for p in chain.file_paths():
            _check_root(p, "chain plugin file", roots)
        return chain
    if not isinstance(chain, dict):
        _check_root(Path(chain), "chain", roots)
    return Chain.from_json(chain, allow_roots=None if roots is None else AllowedRoots(roots))


def _plan(fit: str, info_in: AudioInfo, info_tg: AudioInfo, rate: int) -> tuple[int, int, bool]:
    """(samples at the model rate, output frames at the input's rate, loop the target)."""
    t_in = resampled_length(info_in.frames, info_in.sample_rate, rate)
    t_tg = resampled_length(info_tg.frames, info_tg.sample_rate, rate)
    total = {"loop": t_in, "trim": min(t_in, t_tg), "pad": max(t_in, t_tg)}[fit]
    frames = info_in.frames if total == t_in else resampled_length(total, rate, info_in.sample_rate)
    return total, frames, fit == "loop"


class _Timer:
    """Seconds spent per stage of a render."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now

    def run_agent(
        self,
        agent: StreamingAgent,
        x_in: np.ndarray | None,
        x_tg: np.ndarray | None,
        since: float,
    ) -> list[Emitted]:
        """Feed and pull the agent; its time excludes the report work done inside it."""
        before = self.seconds.get("report", 0.0)
        agent.feed(x_in, x_tg)
        done = agent.pull()
        self.add("agent", since)
        self.seconds["agent"] -= self.seconds.get("report", 0.0) - before
        return done


def render(
    input_path: PathLike,
    target_path: PathLike,
    model: PathLike | LoadedModel,
    output_path: PathLike,
    *,
    chain: Chain | PathLike | dict[str, Any] | None = None,
    balance: float = 0.5,
    fit: str = "loop",
    report_path: PathLike | None = None,
    plot_path: PathLike | None = None,
    overwrite: bool = False,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    allow_roots: Any = None,
    provider: str = "auto",
    chunk_frames: int | None = None,
) -> dict[str, Any]:
    """Render one INPUT/TARGET pair to ``output_path`` and return the report (a JSON-ready
    dict; also written to ``report_path`` when given).

    model: an ONNX path or a :class:`~plugin_host.runtime.LoadedModel` (kept by a server);
    chain: a :class:`Chain`, a chain JSON path, a dict, or None; balance in [0, 1] (the
    input's intended share); fit: ``loop`` (target looped under the input), ``pad`` (the
    shorter one padded with silence) or ``trim`` (both cut to the shorter);
    progress(fraction 0..1) is called after each block; cancel (a ``threading.Event``) is
    checked between blocks and raises :class:`RenderCancelled`; allow_roots: folders every
    path must resolve inside (None: no restriction); chunk_frames: STFT frames per chunk
    (default: the pipeline's). Raises :class:`RenderError` for bad input; nothing is written
    then.
    """
    started = time.perf_counter()
    timer = _Timer()
    if fit not in FITS:
        raise RenderError(f"fit {fit!r}: choose one of {', '.join(FITS)}")
    try:
        balance = float(balance)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"balance {balance!r}: not a number") from exc
    if not (math.isfinite(balance) and 0.0 <= balance <= 1.0):
        raise RenderError(f"balance {balance}: must be between 0 and 1")
    if cancel is not None and cancel.is_set():
        raise RenderCancelled("render cancelled before it started")
    roots = _roots(allow_roots)
    try:
        paths_in = {"input": Path(input_path), "target": Path(target_path)}
        for what, p in paths_in.items():
            _check_root(p, what, roots)
        info_in, info_tg = probe(paths_in["input"]), probe(paths_in["target"])
        taken = {Path(os.path.realpath(p)): what for what, p in paths_in.items()}
        if not isinstance(model, LoadedModel):
            _check_root(Path(model), "model", roots)
        model_file = model.path if isinstance(model, LoadedModel) else Path(model)
        taken.setdefault(Path(os.path.realpath(model_file)), "model")
        if chain is not None and not isinstance(chain, Chain | dict):
            taken.setdefault(Path(os.path.realpath(chain)), "chain")
        out_path = _output_path(output_path, "output", overwrite, taken, roots)
        check_output_format(out_path)
        rep_path = (
            _output_path(report_path, "report", overwrite, taken, roots) if report_path else None
        )
        png_path = _output_path(plot_path, "plot", overwrite, taken, roots) if plot_path else None
        the_chain = _as_chain(chain, roots)
        t = time.perf_counter()
        if not isinstance(model, LoadedModel):
            model = load_model(model, provider=provider)
            timer.add("load_model", t)
    except (AudioFileError, ChainError, ModelLoadError) as exc:
        raise RenderError(str(exc)) from exc
    if png_path is not None and not png_path.suffix.lower() == ".png":
        raise RenderError(f"plot {png_path}: must end in .png")
    try:
        # The host's BLAS work (resampling, report sums) comes in small products; OpenBLAS
        # threads busy-wait between them, which on a loaded 2-core machine made them 5-20x
        # slower than one thread (measured). One thread for the render, restored after.
        with threadpool_limits(limits=1, user_api="blas"):
            return _run(
                model=model,
                info_in=info_in,
                info_tg=info_tg,
                out_path=out_path,
                rep_path=rep_path,
                png_path=png_path,
                chain=the_chain,
                balance=balance,
                fit=fit,
                progress=progress,
                cancel=cancel,
                chunk_frames=chunk_frames,
                timer=timer,
                started=started,
            )
    except (AudioFileError, ChainError) as exc:  # found while streaming (e.g. a NaN sample)
        raise RenderError(str(exc)) from exc


def _run(
    *,
    model: LoadedModel,
    info_in: AudioInfo,
    info_tg: AudioInfo,
    out_path: Path,
    rep_path: Path | None,
    png_path: Path | None,
    chain: Chain,
    balance: float,
    fit: str,
    progress: Callable[[float], None] | None,
    cancel: threading.Event | None,
    chunk_frames: int | None,
    timer: _Timer,
    started: float,
) -> dict[str, Any]:
    meta = model.metadata
    rate = meta.sample_rate
    channels = info_in.channels
    total, out_frames, loop = _plan(fit, info_in, info_tg, rate)
    acc = ReportAccumulator(rate, meta.n_fft, np.diff(model.dsp.edges))
    plot_data = None
    if png_path is not None:
        from plugin_host.plot import PlotData

        plot_data = PlotData(model.dsp.n_frames(total), rate, meta.n_fft, meta.hop,
                             model.dsp.edges)  # fmt: skip

    def on_frames(block: FrameBlock) -> None:
        t = time.perf_counter()
        acc.add_frames(block)
        if plot_data is not None:
            plot_data.add(block)
        timer.add("report", t)

    agent = StreamingAgent(model, channels, total, balance, chunk_frames, on_frames)
    streams: dict[str, SectionStream | None] = {
        s: (chain.stream(s, rate, channels, total) if len(b) else None)
        for s, b in chain.boards().items()
    }
    readers: list[SourceReader] = []
    temps: list[Path] = []
    writer: AtomicAudioWriter | None = None
    try:
        readers.append(SourceReader(info_in, rate, channels, total, loop=False))
        readers.append(SourceReader(info_tg, rate, channels, total, loop=loop))
        writer = AtomicAudioWriter(
            out_path, info_in.sample_rate, channels, out_frames, rate, source_length=total
        )
        temps.append(writer.tmp)
        out_stream = streams["output_chain"]

        def emit(items: list[Emitted]) -> None:
            for e in items:
                t = time.perf_counter()
                if not np.isfinite(e.output).all():
                    raise RenderError(f"model {model.path}: produced NaN or Inf samples")
                acc.add_samples(e.output, e.input, e.target)
                t = timer.add("report", t)
                y = out_stream.process(e.output) if out_stream else e.output
                t = timer.add("chains", t)
                assert writer is not None
                writer.write(y)
                timer.add("write", t)

        reader_in, reader_tg = readers
        while reader_in.position < total:
            if cancel is not None and cancel.is_set():
                raise RenderCancelled(f"render of {out_path} cancelled")
            t = time.perf_counter()
            n = READ_BLOCK if total - reader_in.position - READ_BLOCK >= _MIN_LAST else total
            x_in, x_tg = reader_in.read(n), reader_tg.read(n)
            t = timer.add("read", t)
            if streams["input_chain"]:
                x_in = streams["input_chain"].process(x_in)
            if streams["target_chain"]:
                x_tg = streams["target_chain"].process(x_tg)
            t = timer.add("chains", t)
            done = timer.run_agent(agent, x_in, x_tg, t)
            emit(done)
            if progress is not None:
                progress(0.99 * min(1.0, reader_in.position / total))
        t = time.perf_counter()
        tail_in = streams["input_chain"].finish() if streams["input_chain"] else None
        tail_tg = streams["target_chain"].finish() if streams["target_chain"] else None
        t = timer.add("chains", t)
        done = timer.run_agent(agent, tail_in, tail_tg, t)
        emit(done)
        assert agent.done, "the agent did not finish the stream"
        t = time.perf_counter()
        if out_stream:
            writer.write(out_stream.finish())
        t = timer.add("chains", t)
        writer.finish()
        timer.add("write", t)

        report = _report(model, info_in, info_tg, out_path, rep_path, png_path, chain,
                         balance, fit, channels, out_frames, acc)  # fmt: skip
        t = time.perf_counter()
        if plot_data is not None and png_path is not None:
            from plugin_host.plot import save_plot

            temps.append(save_plot(png_path, plot_data, f"{out_path.name}: {report['verdict']}"))
            timer.add("plot", t)
        report["render_seconds"] = time.perf_counter() - started
        report["rtf"] = report["render_seconds"] / max(report["durations_s"]["output"], 1e-9)
        report["timings_s"] = {k: round(v, 4) for k, v in timer.seconds.items()}
        if rep_path is not None:
            temps.append(write_json_atomic(rep_path, report))
        # all files complete: rename them into place (audio first)
        writer.commit()
        temps.remove(writer.tmp)
        if png_path is not None:
            os.replace(temps.pop(0), png_path)
        if rep_path is not None:
            os.replace(temps.pop(0), rep_path)
    except BaseException:
        if writer is not None:
            writer.discard()
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        for r in readers:
            r.close()
    if progress is not None:
        progress(1.0)
    log.info("rendered %s in %.2f s (RTF %.4f)", out_path, report["render_seconds"], report["rtf"])
    return report


def _report(
    model: LoadedModel,
    info_in: AudioInfo,
    info_tg: AudioInfo,
    out_path: Path,
    rep_path: Path | None,
    png_path: Path | None,
    chain: Chain,
    balance: float,
    fit: str,
    channels: int,
    out_frames: int,
    acc: ReportAccumulator,
) -> dict[str, Any]:
    meta = model.metadata
    measures = acc.measures()
    return {
        "schema": SCHEMA,
        "output": str(out_path),
        "input": str(info_in.path),
        "target": str(info_tg.path),
        "report_path": str(rep_path) if rep_path else None,
        "plot_path": str(png_path) if png_path else None,
        **{k: v for k, v in measures.items() if k not in ("masks", "undefined")},
        "masks": measures["masks"],
        "undefined": measures["undefined"],
        "measured_at": "agent: its output vs its inputs after their chains, before the "
        "output chain, at the model rate",
        "balance": balance,
        "fit": fit,
        "chain": None if chain.is_empty() else chain.to_dict(),
        "provider": model.provider,
        "model": {
            "path": str(model.path),
            "metadata_hash": metadata_hash(meta),
            "sample_rate": meta.sample_rate,
            "size": meta.config.get("size"),
        },
        "channels": channels,
        "sample_rates": {
            "input": info_in.sample_rate,
            "target": info_tg.sample_rate,
            "model": meta.sample_rate,
            "output": info_in.sample_rate,
        },
        "durations_s": {
            "input": info_in.duration,
            "target": info_tg.duration,
            "output": out_frames / info_in.sample_rate,
        },
    }


class _CallableModule(types.ModuleType):
    """``plugin_host.render`` names both this module and the function: once the module is
    imported, the package attribute is the module, so the module forwards calls to
    :func:`render` and ``plugin_host.render(...)`` works either way."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return render(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
