"""Resampling a stream of float32 [C, n] blocks: :class:`Resampler`, a streaming polyphase
FIR (numpy + BLAS), ~15x faster than pedalboard's sinc resampler at better quality;
pedalboard's is the fallback for odd ratios (:func:`make_resampler` picks)."""

from __future__ import annotations

import logging
import math
from fractions import Fraction

import numpy as np
from pedalboard.io import StreamResampler

from plugin_host.sample_buffer import SampleBuffer

log = logging.getLogger(__name__)

# Resampler: zero crossings of the windowed sinc each side (at the lower rate), and the
# largest reduced-ratio term it takes (48 kHz <-> 44.1 kHz is 160/147).
RESAMPLE_ZEROS = 24
MAX_RATIO_TERM = 1024


def resampled_length(frames: int, source_rate: float, target_rate: float) -> int:
    """Samples at ``target_rate`` covering ``frames`` samples at ``source_rate``
    (``ceil(frames · target / source)``, what a whole-signal polyphase resampler returns)."""
    if source_rate == target_rate:
        return frames
    return max(1, math.ceil(frames * target_rate / source_rate - 1e-9))


def polyphase_matrix(up: int, down: int) -> tuple[int, np.ndarray]:
    """The resampling filter as a banded matrix: (base, Q float32 [W, up]).

    The filter is a Kaiser-windowed sinc (beta 9, ``RESAMPLE_ZEROS`` zero crossings each
    side at the lower rate, cutoff at the lower Nyquist; ``scipy.signal.firwin``'s design),
    centred so that output m sits at input time m·down/up (zero phase). Output
    ``j·up + r`` is ``x[j·down + base : j·down + base + W] @ Q[:, r]``: one matrix product
    per block of ``up`` outputs, which BLAS runs fast.
    """
    m = max(up, down)
    half = RESAMPLE_ZEROS * m
    n = np.arange(2 * half + 1) - half
    h = np.sinc(n / m) * np.kaiser(2 * half + 1, 9.0)
    h *= up / h.sum()
    taps = -(-h.size // up)
    flat = np.zeros(up * taps)
    flat[: h.size] = h
    poly = flat.reshape(taps, up).T  # poly[phase, t] = h[phase + up·t]
    r = np.arange(up)
    last = (r * down + half) // up  # newest input sample output r uses
    phase = (r * down + half) % up
    base = int(last[0]) - taps + 1
    q = np.zeros((int(last[-1]) - base + 1, up))
    for t in range(taps):  # output r takes x[last_r - t] · h[phase_r + up·t]
        q[last - t - base, r] += poly[phase, t]
    return base, q.astype(np.float32)


class Resampler:
    """Streaming rational-ratio resampler: float32 [C, n] blocks in, blocks out, exactly the
    samples of one whole-signal call (zeros assumed outside the ``total_in`` input samples).

    Polyphase FIR as one BLAS matrix product per block (:func:`polyphase_matrix`). Measured
    on 2 cores: 60 s stereo 48 -> 44.1 kHz in ~0.07 s (pedalboard's WindowedSinc32: 1.2 s,
    WindowedSinc8: 0.3 s); a 44.1 -> 48 -> 44.1 kHz round trip keeps sines at >= 88 dB SNR,
    zero phase, flat to 19 kHz (-0.6 dB at 20.5 kHz).
    """

    def __init__(
        self, source_rate: float, target_rate: float, channels: int, total_in: int
    ) -> None:
        ratio = Fraction(int(target_rate), int(source_rate))
        self.up, self.down = ratio.numerator, ratio.denominator
        self.channels, self.total_in = channels, total_in
        self.total_out = resampled_length(total_in, source_rate, target_rate)
        self.base, self.q = polyphase_matrix(self.up, self.down)
        self.width = self.q.shape[0]
        self._buf = SampleBuffer(channels, total_in)
        self._out = 0  # output samples returned so far (a multiple of up until the end)

    @staticmethod
    def supports(source_rate: float, target_rate: float) -> bool:
        """Integer rates whose reduced ratio keeps the matrix small."""
        if not (float(source_rate).is_integer() and float(target_rate).is_integer()):
            return False
        r = Fraction(int(target_rate), int(source_rate))
        return max(r.numerator, r.denominator) <= MAX_RATIO_TERM

    def _ready(self) -> int:
        """Outputs computable from the input buffered so far (whole blocks of ``up``)."""
        if self._buf.end >= self.total_in:
            return self.total_out
        # block j needs input up to j·down + base + width - 1
        blocks = (self._buf.end - self.base - self.width) // self.down + 1
        return min(self.total_out, max(0, blocks) * self.up)

    def _compute(self, m0: int, m1: int) -> np.ndarray:
        up, down = self.up, self.down
        j0, j1 = m0 // up, -(-m1 // up)
        lo = j0 * down + self.base
        xs = np.empty((self.channels, (j1 - j0 - 1) * down + self.width), np.float32)
        self._buf.read_into(xs, lo)
        windows = np.lib.stride_tricks.sliding_window_view(xs, self.width, axis=-1)[:, ::down]
        y = (np.ascontiguousarray(windows) @ self.q).reshape(self.channels, -1)
        self._buf.drop_before(j1 * down + self.base)
        return y[:, : m1 - m0]

    def process(self, x: np.ndarray | None = None) -> np.ndarray:
        """Feed ``x`` (None: the stream ended) and return every output now computable."""
        if x is not None:
            self._buf.append(x)
        else:
            self._buf.append(np.zeros((self.channels, self.total_in - self._buf.end), np.float32))
        m1 = self._ready()
        if m1 <= self._out:
            return np.zeros((self.channels, 0), np.float32)
        y = self._compute(self._out, m1)
        self._out = m1
        return y


class _PedalboardResampler:
    """pedalboard's StreamResampler (WindowedSinc32) for ratios ``Resampler`` does not take
    (non-integer rates or huge reduced ratios); same interface."""

    def __init__(
        self, source_rate: float, target_rate: float, channels: int, total_in: int
    ) -> None:
        self._r = StreamResampler(source_rate, target_rate, channels)
        self.channels = channels
        self.total_out = resampled_length(total_in, source_rate, target_rate)

    def process(self, x: np.ndarray | None = None) -> np.ndarray:
        if x is None:
            return np.asarray(self._r.process(), np.float32).reshape(self.channels, -1)
        y = self._r.process(np.ascontiguousarray(x, np.float32))
        return np.asarray(y, np.float32).reshape(self.channels, -1)


StreamingResampler = Resampler | _PedalboardResampler  # what make_resampler returns


def make_resampler(
    source_rate: float, target_rate: float, channels: int, total_in: int
) -> StreamingResampler:
    """The polyphase :class:`Resampler` when the ratio allows it, else pedalboard's."""
    if Resampler.supports(source_rate, target_rate):
        return Resampler(source_rate, target_rate, channels, total_in)
    log.info("resampling %g -> %g Hz with pedalboard (no short rational ratio)",
             source_rate, target_rate)  # fmt: skip
    return _PedalboardResampler(source_rate, target_rate, channels, total_in)
