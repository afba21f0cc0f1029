"""A sliding window of one stream of samples, copied into storage of its own: the resampler
(:mod:`plugin_host.audio_io`) and the windowed chain stages (:mod:`plugin_host.chain_stream`)
keep the samples they still need here. (The streamed agent holds the fed blocks themselves:
:mod:`plugin_host.block_queue`.)"""

from __future__ import annotations

import numpy as np


def inside(out: np.ndarray, s0: int, total: int, start: int, end: int) -> tuple[int, int]:
    """For a read of samples ``[s0, s0 + out.shape[-1])`` of a stream of ``total`` samples
    into ``out`` [C, L]: clears the part of ``out`` outside ``[0, total)`` and returns the
    global range ``[lo, hi)`` left to copy (empty when lo >= hi), checked to lie within the
    held ``[start, end)``."""
    lo, hi = max(s0, 0), min(s0 + out.shape[-1], total)
    if hi <= lo:
        out[:] = 0.0
        return lo, lo
    out[:, : lo - s0] = 0.0  # only the parts outside the stream are cleared
    out[:, hi - s0 :] = 0.0
    assert start <= lo and hi <= end, f"samples [{lo}, {hi}) not held ([{start}, {end}))"
    return lo, hi


class SampleBuffer:
    """A window ``[start, end)`` of one stream of ``total`` samples: float32 [C, cap] storage
    (``capacity`` samples at first, grown when an append needs more), appended at the end
    and dropped from the front; reads outside ``[0, total)`` are zeros."""

    def __init__(self, channels: int, total: int, capacity: int = 1 << 16) -> None:
        self.channels, self.total = channels, total
        self._data = np.empty((channels, max(1, min(capacity, total))), np.float32)
        self._off = 0  # storage index of global sample `start`
        self._len = 0
        self.start = 0

    @property
    def end(self) -> int:
        return self.start + self._len

    def append(self, x: np.ndarray) -> None:
        n = min(x.shape[1], self.total - self.end)  # never beyond the stream's length
        if n <= 0:
            return
        if self._off + self._len + n > self._data.shape[1]:
            self._data[:, : self._len] = self._data[:, self._off : self._off + self._len]
            self._off = 0
            if self._len + n > self._data.shape[1]:
                grown = np.empty((self.channels, 2 * (self._len + n)), np.float32)
                grown[:, : self._len] = self._data[:, : self._len]
                self._data = grown
        self._data[:, self._off + self._len : self._off + self._len + n] = x[:, :n]
        self._len += n

    def read_into(self, out: np.ndarray, s0: int) -> None:
        """Copy samples ``[s0, s0 + out.shape[-1])`` into ``out`` [C, L] (zeros outside the
        stream); the part inside ``[0, total)`` must be buffered."""
        lo, hi = inside(out, s0, self.total, self.start, self.end)
        if hi <= lo:
            return
        a = self._off + lo - self.start
        out[:, lo - s0 : hi - s0] = self._data[:, a : a + hi - lo]

    def drop_before(self, s: int) -> None:
        n = min(max(0, s - self.start), self._len)
        self._off += n
        self._len -= n
        self.start += n
