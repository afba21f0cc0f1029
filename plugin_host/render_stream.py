"""The streamed part of a render: read both sources block by block, run their chains, the
agent, the output chain and the output gain, and hand every finished span to the writer
and the report (flat memory for any clip length).

Four threads when the render has more than one (:func:`threaded`): the reader with the
input/target chains, the agent, the report's measures, and the output chain with the
writer (:mod:`plugin_host.stage_thread`); in turn on the caller's thread otherwise.
Everything here runs at the model's rate, on float32 [C, n] blocks; the writer resamples
back to the output rate. :class:`Timer` keeps the seconds spent per stage (``timings_s``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from plugin_host.audio_io import ArrayReader, AudioInfo, SourceReader
from plugin_host.audio_writer import AtomicAudioWriter
from plugin_host.block_queue import Emitted
from plugin_host.chain import Chain, SectionStream
from plugin_host.pipeline import FrameBlock, StreamingAgent
from plugin_host.report import FoldedFrames, ReportAccumulator
from plugin_host.runtime import LoadedModel
from plugin_host.share_calibration import ShareCalibrationConfig
from plugin_host.stage_thread import OrderedWorker, Prefetch
from plugin_host.timeline import TimelineAccumulator

READ_BLOCK = 1 << 16  # samples per read at the model's rate (1.5 s at 44.1 kHz)
_MIN_LAST = 64  # never leave a last read shorter than this (pedalboard guesses layouts)


class StreamCancelled(RuntimeError):
    """The ``cancel`` event was set between two blocks."""


class ModelOutputError(ValueError):
    """The model produced NaN or Inf samples."""


class Timer:
    """Seconds spent per stage of a render (stages run on several threads: summed per
    stage, so with threads the sum can exceed the wall time)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()  # stages run on four threads (stage_thread)
        self._nested = 0.0  # seconds of other stages timed inside the agent's calls

    def add(self, stage: str, since: float) -> float:
        """Add the seconds from ``since`` to ``stage``."""
        now = time.perf_counter()
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now

    def not_agent(self, since: float) -> None:
        """The seconds from ``since`` ran inside the agent's call but are not the agent's
        (the report's work there, timed as its own stage): the agent's time excludes them."""
        with self._lock:
            self._nested += time.perf_counter() - since

    def run_agent(
        self, agent: StreamingAgent, x_in: np.ndarray | None, x_tg: np.ndarray | None, since: float
    ) -> list[Emitted]:
        """Feed and pull the agent; its time excludes the report work done inside it."""
        before = self._nested
        agent.feed(x_in, x_tg)
        done = agent.pull()
        now = time.perf_counter()
        with self._lock:
            self.seconds["agent"] = (self.seconds.get("agent", 0.0) + now - since
                                     - (self._nested - before))  # fmt: skip
        return done


@dataclass(frozen=True)
class StreamJob:
    """One streamed render: ``total`` samples at the model's rate over ``channels``
    channels; the target looped when ``loop``; ``gain``: linear output gain (from dB);
    ``input_audio``/``target_audio``: float32 [C, T] at the model's rate to stream from
    memory instead of the file (the musical pre-pass, variations); ``calibration``: the
    share calibration after the core (:mod:`plugin_host.share_calibration`), or None."""

    model: LoadedModel
    info_in: AudioInfo
    info_tg: AudioInfo
    chain: Chain
    balance: float | np.ndarray  # a float, or float32 [N] per STFT frame
    channels: int
    total: int
    loop: bool
    chunk_frames: int | None
    gain: float
    input_audio: np.ndarray | None = None
    target_audio: np.ndarray | None = None
    calibration: ShareCalibrationConfig | None = None  # the masked share follows the knob


class _Report:
    """The report's accumulators (whole clip and timeline) fed on their own thread: frames
    folded where their block is valid (:meth:`frames`, on the agent's thread), samples as
    spans (:meth:`samples`); every item is measured once for both (the timeline's parts
    add up to the clip's moments, the clip's frame trace is cut into the segments')."""

    def __init__(
        self,
        job: StreamJob,
        acc: ReportAccumulator,
        timeline: TimelineAccumulator | None,
        on_frames: Callable[[FrameBlock], None] | None,
        timer: Timer,
    ) -> None:
        self.acc, self.timeline, self.on_frames, self.timer = acc, timeline, on_frames, timer
        self.worker: OrderedWorker[Emitted | FoldedFrames] = OrderedWorker(
            self._measure, depth=2, name="report", threaded=threaded(job)
        )

    def frames(self, block: FrameBlock) -> None:
        """Called inside the agent's step: fold the block, hand it on (measured there and
        then when the render has one thread)."""
        t = time.perf_counter()
        folded = self.acc.fold_block(block)
        if self.on_frames is not None:
            self.on_frames(block)
        self.timer.add("report", t)
        self.worker.submit(folded)
        self.timer.not_agent(t)

    def samples(self, span: Emitted) -> None:
        self.worker.submit(span)

    def _measure(self, item: Emitted | FoldedFrames) -> None:
        t = time.perf_counter()
        if isinstance(item, FoldedFrames):
            trace = self.acc.add_folded(item)
            if self.timeline is not None:
                self.timeline.add_trace(item.start, item.stop, trace)
        elif self.timeline is not None:
            self.acc.moments.add(self.timeline.add_samples(item))
        else:
            for views in item.aligned(0, item.output.shape[1]):
                self.acc.add_samples(*views)
        self.timer.add("report", t)


class _Sink:
    """Takes the agent's finished spans: NaN check, report, output chain, gain, write."""

    def __init__(
        self,
        job: StreamJob,
        out_stream: SectionStream | None,
        writer: AtomicAudioWriter,
        report: _Report,
        timer: Timer,
    ) -> None:
        self.job, self.out_stream, self.writer = job, out_stream, writer
        self.report, self.timer = report, timer
        # output chain, gain and write on their own thread, overlapping the next chunk
        self.output: OrderedWorker[np.ndarray] = OrderedWorker(
            self._output, name="output", threaded=threaded(job)
        )

    def take(self, items: list[Emitted]) -> None:
        for e in items:
            self.report.samples(e)
            self.output.submit(e.output)

    def _output(self, x: np.ndarray) -> None:
        """NaN check, output chain, gain and write of one span (on the output's thread)."""
        if not np.isfinite(x).all():
            raise ModelOutputError(f"model {self.job.model.path}: produced NaN or Inf samples")
        t = time.perf_counter()
        y = self.out_stream.process(x) if self.out_stream else x
        t = self.timer.add("chains", t)
        self.write(y, t)

    def write(self, y: np.ndarray, since: float) -> None:
        if self.job.gain != 1.0:
            y = y * np.float32(self.job.gain)
        self.writer.write(y)
        self.timer.add("write", since)

    def finish(self) -> None:
        """The queued spans and measures, the output chain's tail, then the writer's end
        (resampler flush, padding)."""
        self.report.worker.close()
        self.output.close()
        t = time.perf_counter()
        if self.out_stream:
            tail = self.out_stream.finish()
            t = self.timer.add("chains", t)
            self.write(tail, t)
            t = time.perf_counter()
        self.writer.finish()
        self.timer.add("write", t)


def stream(
    job: StreamJob,
    writer: AtomicAudioWriter,
    acc: ReportAccumulator,
    on_frames: Callable[[FrameBlock], None] | None,
    timer: Timer,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    timeline: TimelineAccumulator | None = None,
) -> None:
    """Run the whole stream into ``writer`` (finished, not committed) and ``acc`` (and
    ``timeline``, fed the same spans and frames); ``on_frames`` also gets every chunk of
    STFT frames (the plot). Raises :class:`StreamCancelled` when ``cancel`` is set between
    blocks."""
    rate = job.model.metadata.sample_rate
    streams: dict[str, SectionStream | None] = {
        s: (job.chain.stream(s, rate, job.channels, job.total) if len(b) else None)
        for s, b in job.chain.boards().items()
    }

    report = _Report(job, acc, timeline, on_frames, timer)
    # with input/target chains on the reader's thread, the agent's first step would wait
    # for a whole chunk of chained samples, a core idle meanwhile: a short first chunk
    chained = streams["input_chain"] is not None or streams["target_chain"] is not None
    agent = StreamingAgent(job.model, job.channels, job.total, job.balance, job.chunk_frames,
                           report.frames, job.calibration,
                           short_first=chained and threaded(job))  # fmt: skip
    readers: list[SourceReader | ArrayReader] = []
    try:
        readers.append(_reader(job.input_audio, job.info_in, rate, job, loop=False))
        readers.append(_reader(job.target_audio, job.info_tg, rate, job, loop=job.loop))
        _run_blocks(job, readers, streams, agent,
                    _Sink(job, streams["output_chain"], writer, report, timer),
                    timer, progress, cancel)  # fmt: skip
    finally:
        for r in readers:
            r.close()


def _run_blocks(
    job: StreamJob,
    readers: list[SourceReader | ArrayReader],
    streams: dict[str, SectionStream | None],
    agent: StreamingAgent,
    sink: _Sink,
    timer: Timer,
    progress: Callable[[float], None] | None,
    cancel: threading.Event | None,
) -> None:
    """Blocks read and chained on one thread (:func:`_blocks`), the agent on this one, the
    report's measures and the output chain with the writer on the sink's two: all four
    overlap. The reader may run one agent step ahead (the blocks of one chunk of frames,
    plus one): with less, the agent waits for blocks at every step (measured on 2 cores,
    end to end with chains: 2 blocks 134x real time, 4-5 blocks 150-160x)."""
    ahead = 1 + -(-agent.chunk_frames * agent.hop // READ_BLOCK)
    blocks = Prefetch(lambda: _blocks(job, readers, streams, timer), depth=ahead, name="read",
                      threaded=threaded(job))  # fmt: skip
    try:
        for x_in, x_tg, position in blocks:
            if cancel is not None and cancel.is_set():
                raise StreamCancelled("cancelled")
            sink.take(timer.run_agent(agent, x_in, x_tg, time.perf_counter()))
            if progress is not None and position is not None:
                progress(0.99 * min(1.0, position / job.total))
        assert agent.done, "the agent did not finish the stream"
        sink.finish()
    except BaseException:
        sink.report.worker.abort()
        sink.output.abort()
        raise
    finally:
        blocks.close()


def threaded(job: StreamJob) -> bool:
    """Stages on their own threads, unless the render was given one thread (a render-batch
    worker: its processes already fill the cores)."""
    return model_threaded(job.model)


def model_threaded(model: LoadedModel) -> bool:
    """Whether renders with ``model`` use threads (it was loaded with more than one)."""
    return model.dsp.workers > 1


def _reader(
    audio: np.ndarray | None, info: AudioInfo, rate: int, job: StreamJob, loop: bool
) -> SourceReader | ArrayReader:
    """The in-memory ``audio`` when given, else the file."""
    if audio is not None:
        return ArrayReader(audio, job.total, loop)
    return SourceReader(info, rate, job.channels, job.total, loop=loop)


def _blocks(
    job: StreamJob,
    readers: list[SourceReader | ArrayReader],
    streams: dict[str, SectionStream | None],
    timer: Timer,
) -> Iterator[tuple[np.ndarray | None, np.ndarray | None, int | None]]:
    """Every block of both sources through their chains, (input, target, samples read),
    then the chains' tails (position None)."""
    reader_in, reader_tg = readers
    total = job.total
    while reader_in.position < total:
        t = time.perf_counter()
        n = READ_BLOCK if total - reader_in.position - READ_BLOCK >= _MIN_LAST else total
        x_in, x_tg = reader_in.read(n), reader_tg.read(n)
        t = timer.add("read", t)
        if streams["input_chain"]:
            x_in = streams["input_chain"].process(x_in)
        if streams["target_chain"]:
            x_tg = streams["target_chain"].process(x_tg)
        timer.add("chains", t)
        yield x_in, x_tg, reader_in.position
    t = time.perf_counter()
    tail_in = streams["input_chain"].finish() if streams["input_chain"] else None
    tail_tg = streams["target_chain"].finish() if streams["target_chain"] else None
    timer.add("chains", t)
    yield tail_in, tail_tg, None
