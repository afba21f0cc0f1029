"""One chain section over a stream of blocks: :class:`SectionStream` runs a section's
plugins so that a long file processed block by block sounds like one whole call.

Latency-free plugins run continuously (:class:`_Streamed`); plugins that buffer internally
run in overlapping windows crossfaded into each other (:class:`_Windowed`). Blocks are
float32 ``[C, n]`` at the chain's sample rate (Hz); lengths are in samples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pedalboard

from plugin_host.sample_buffer import SampleBuffer

# Built-ins that cannot run block by block with reset=False: they buffer internally and
# report latency (PitchShift even outputs silence, pedalboard issue #415). Measured by
# tests/test_host_chain.py, which checks every other built-in streams exactly.
NOT_STREAMABLE = frozenset(
    {"PitchShift", "MP3Compressor", "GSMFullRateCompressor", "Resample", "BrickwallLimiter"}
)
# pedalboard guesses the channel axis from the smaller dimension: never pass it < 16 samples.
_MIN_BLOCK = 16
_BLOCK = 8192  # pedalboard's buffer_size for streamed plugins (its default)
# Windowed mode for plugins that do not stream: windows of _WINDOW samples, each rendered
# from a fresh state after _PREROLL samples of the audio before it, crossfaded over _FADE.
_WINDOW, _FADE, _PREROLL = 1 << 16, 2048, 22050


def section_stream(
    plugins: Iterable[pedalboard.Plugin],
    streams: Callable[[pedalboard.Plugin], bool],
    sample_rate: float,
    channels: int,
    total: int,
) -> SectionStream:
    """A :class:`SectionStream` over ``plugins`` (in order) for ``total`` samples:
    consecutive plugins for which ``streams(plugin)`` is true share one continuous board,
    each other plugin runs windowed."""
    stages: list[_Stage] = []
    run: list[pedalboard.Plugin] = []
    for plugin in plugins:
        if streams(plugin):
            run.append(plugin)
            continue
        if run:
            stages.append(_Streamed(pedalboard.Pedalboard(run), sample_rate, channels, total))
            run = []
        stages.append(_Windowed(plugin, sample_rate, channels, total))
    if run:
        stages.append(_Streamed(pedalboard.Pedalboard(run), sample_rate, channels, total))
    return SectionStream(stages, channels)


# ------------------------------------------------------------------ streaming stages
class _Stage:
    """A piece of a section: float32 [C, n] blocks in, blocks out; ``finish`` returns the
    rest so that exactly ``total`` samples come out in all."""

    def process(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def finish(self) -> np.ndarray:
        raise NotImplementedError


class _Streamed(_Stage):
    """Latency-free plugins run continuously: ``reset=True`` on the first block only, so
    reverb tails and compressor envelopes carry across blocks.

    pedalboard prepares plugins for the largest block seen so far and re-prepares (which
    clears their state) when a bigger one arrives, so the board is primed once with a
    full ``_BLOCK`` of silence; later calls are split into blocks no bigger than that.
    """

    def __init__(self, board: pedalboard.Pedalboard, sr: float, channels: int, total: int):
        self.board, self.sr, self.channels, self.total = board, sr, channels, total
        board(np.zeros((channels, _BLOCK), np.float32), sr, buffer_size=_BLOCK, reset=True)
        self._first = True
        self._pending = np.zeros((channels, 0), np.float32)
        self._out = 0

    def _run(self, x: np.ndarray) -> np.ndarray:
        y = self.board(x, self.sr, buffer_size=_BLOCK, reset=self._first)
        self._first = False
        y = np.asarray(y, np.float32).reshape(self.channels, -1)
        y = y[:, : max(0, self.total - self._out)]
        self._out += y.shape[1]
        return y

    def process(self, x: np.ndarray) -> np.ndarray:
        if self._pending.shape[1]:
            x = np.concatenate([self._pending, x], axis=1)
        if x.shape[1] < _MIN_BLOCK:
            self._pending = x
            return np.zeros((self.channels, 0), np.float32)
        self._pending = np.zeros((self.channels, 0), np.float32)
        return self._run(x)

    def finish(self) -> np.ndarray:
        parts = []
        x = self._pending
        flush = 0
        while self._out < self.total:
            block = np.zeros((self.channels, max(_MIN_BLOCK, _BLOCK - x.shape[1])), np.float32)
            x = np.concatenate([x, block], axis=1)
            parts.append(self._run(x))
            x = np.zeros((self.channels, 0), np.float32)
            flush += 1
            if flush > 64 and self._out < self.total:  # a plugin that never catches up
                parts.append(np.zeros((self.channels, self.total - self._out), np.float32))
                self._out = self.total
        self._pending = np.zeros((self.channels, 0), np.float32)
        return np.concatenate(parts, axis=1) if parts else self._pending


class _Windowed(_Stage):
    """A plugin that cannot stream (internal latency) runs on overlapping windows, each from
    a fresh state (``reset=True``, so pedalboard compensates its latency) after a pre-roll of
    the preceding audio; neighbouring windows are crossfaded (raised cosine, ``_FADE``)."""

    def __init__(self, plugin: pedalboard.Plugin, sr: float, channels: int, total: int):
        self.plugin, self.sr, self.channels, self.total = plugin, sr, channels, total
        self._buf = SampleBuffer(channels, total)
        self._k = 0
        self._tail = np.zeros((channels, 0), np.float32)
        i = np.arange(_FADE, dtype=np.float32)
        self._ramp = (0.5 - 0.5 * np.cos(np.pi * (i + 0.5) / _FADE)).astype(np.float32)

    def _window(self) -> np.ndarray:
        k = self._k
        w0 = max(0, k * _WINDOW - _FADE)
        w1 = min(self.total, (k + 1) * _WINDOW)
        src0 = max(0, w0 - _PREROLL)
        x = np.empty((self.channels, max(w1 - src0, _MIN_BLOCK)), np.float32)
        self._buf.read_into(x, src0)  # zeros past the end pad a short last window
        y = np.asarray(self.plugin(x, self.sr, reset=True), np.float32)
        y = y.reshape(self.channels, -1)[:, w0 - src0 : w1 - src0]
        if self._tail.shape[1]:
            n = self._tail.shape[1]
            y[:, :n] = self._tail * (1.0 - self._ramp[:n]) + y[:, :n] * self._ramp[:n]
        last = w1 >= self.total
        keep = y.shape[1] if last else y.shape[1] - _FADE
        self._tail = y[:, keep:].copy()
        self._k += 1
        self._buf.drop_before(max(0, w1 - _FADE - _PREROLL))
        return y[:, :keep]

    def _ready(self) -> bool:
        return self._k * _WINDOW < self.total and self._buf.end >= min(
            self.total, (self._k + 1) * _WINDOW
        )

    def process(self, x: np.ndarray) -> np.ndarray:
        self._buf.append(x)
        parts = []
        while self._ready():
            parts.append(self._window())
        return np.concatenate(parts, axis=1) if parts else np.zeros((self.channels, 0), np.float32)

    def finish(self) -> np.ndarray:
        if self._buf.end < self.total:  # the stream ended early: the rest is silence
            self._buf.append(np.zeros((self.channels, self.total - self._buf.end), np.float32))
        return self.process(np.zeros((self.channels, 0), np.float32))


class SectionStream:
    """One chain section over a stream: ``process(block)`` returns what is ready (its length
    may differ from the block's), ``finish()`` the rest; ``total`` samples come out in all.

    Plugins run in consecutive groups: latency-free ones continuously (``reset=False``
    across blocks, so state such as reverb tails carries over); plugins that buffer
    internally (:data:`NOT_STREAMABLE`, a VST3 reporting latency, or ``"stream": false``)
    in overlapping windows crossfaded into each other.
    """

    def __init__(self, stages: list[_Stage], channels: int) -> None:
        self.stages, self.channels = stages, channels

    @property
    def empty(self) -> bool:
        return not self.stages

    def process(self, x: np.ndarray) -> np.ndarray:
        for stage in self.stages:
            x = stage.process(x)
        return x

    def finish(self) -> np.ndarray:
        y = np.zeros((self.channels, 0), np.float32)
        for stage in self.stages:
            head = stage.process(y) if y.shape[1] else y
            y = np.concatenate([head, stage.finish()], axis=1)
        return y
