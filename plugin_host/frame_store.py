"""The streamed render's frames of both sources, kept across chunks in preallocated buffers.

A chunk of the streamed agent (:class:`plugin_host.pipeline.StreamingAgent`) needs the
frames ``[c0, c1)``: its own frames and ``context`` frames each side. The next chunk's
frames overlap these by ``2 · context`` frames. :class:`FrameStore` holds the spectra, band
powers and (for the report) per-bin powers of ``[c0, c1)``; :meth:`FrameStore.advance`
moves the frames the next chunk shares to the front and computes only the new ones, so every
frame is read, windowed and transformed once. A frame's values depend only on its own
``n_fft`` samples, so keeping them gives what recomputing would (the same FFT of the same
samples).

Every array is allocated once, at the largest chunk: the stores themselves; each batch's
samples, windowed frames and per-channel powers are made in batches of ``FFT_BATCH`` frames
into small buffers per lane, which stay in cache between the read, the window product, the
FFT and the power (the batch's spectra go straight into the store).

The batches are independent: :class:`Lanes` spreads them over threads (numpy's loops and
pocketfft release the GIL), each FFT then on one thread; the streamed agent does the same
with its output channels. With one lane everything runs on the calling thread and the FFTs
use ``HostDSP.workers`` threads.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from plugin_host.dsp import HostDSP
from plugin_host.fft import fft_threads
from plugin_host.lanes import Lanes

# Frames per batch of window + FFT + power: 2 MB of windowed stereo pairs at n_fft 2048
# (measured, one 544-frame chunk: 64 -> 8.8-9.2 ms, the whole chunk at once 10.2-11.0 ms).
FFT_BATCH = 64
MAX_LANES = 4  # threads for a chunk's independent batches (a chunk has ~9 of them)


def lanes_for(dsp: HostDSP) -> Lanes:
    """Lanes for a chunk's batches: as many as the DSP's FFT threads, at most MAX_LANES."""
    return Lanes(min(MAX_LANES, fft_threads(dsp.workers)))


class FrameStore:
    """Frames ``[start, stop)`` of (input, target): ``spec`` complex64 [2, C, cap, F],
    ``power`` float32 [2, cap, F] (|X|² per bin summed over the channels: the report's) and
    ``band`` float32 [2, cap, K] (mean |X|² per band over its bins and the channels: the
    core's features before the log); frame ``start + i`` at index ``i``. ``cap``: the most
    frames one chunk holds (``capacity``); ``scratch``: float32 [2, C, b, F] (b =
    ``FFT_BATCH`` frames or fewer) per lane, free between calls."""

    def __init__(self, dsp: HostDSP, channels: int, capacity: int, lanes: Lanes) -> None:
        n_freq, hop, n_fft = dsp.n_fft // 2 + 1, dsp.hop, dsp.n_fft
        self.dsp, self.channels, self.capacity = dsp, channels, capacity
        self.spec = np.empty((2, channels, capacity, n_freq), np.complex64)
        self.band = np.empty((2, capacity, dsp.n_bands), np.float32)
        self.power = np.empty((2, capacity, n_freq), np.float32)
        batch = min(capacity, FFT_BATCH)
        self.samples = np.empty((lanes.n, 2, channels, (batch - 1) * hop + n_fft), np.float32)
        self.frames = [dsp.frames(s) for s in self.samples]  # per lane: [2, C, batch, n_fft]
        self.lanes = lanes
        self.windowed = np.empty((lanes.n, 2, channels, batch, n_fft), np.float32)
        self.scratch = np.empty((lanes.n, 2, channels, batch, n_freq), np.float32)
        self.start = self.stop = 0

    def advance(self, c0: int, c1: int, read: Callable[[np.ndarray, int], None]) -> None:
        """Hold frames ``[c0, c1)`` (``c0 >= start``, ``c1 >= stop``, at most ``capacity``):
        the ones held already move to the front, the rest are computed from the samples
        ``read(out, s0)`` writes (float32 [2, C, L]: both sources' samples ``[s0, s0 + L)``;
        called once per batch of frames, from the lanes' threads at once: it must only
        read shared state).
        """
        if c0 < self.start or c1 < self.stop or c1 - c0 > self.capacity:
            raise ValueError(f"frames [{c0}, {c1}) after [{self.start}, {self.stop})")
        keep = max(0, self.stop - c0)
        if keep:  # overlapping moves: numpy copies through a buffer when they overlap
            src = slice(c0 - self.start, self.stop - self.start)
            self.spec[:, :, :keep] = self.spec[:, :, src]
            self.band[:, :keep] = self.band[:, src]
            self.power[:, :keep] = self.power[:, src]
        n0 = c0 + keep  # first new frame
        m = c1 - n0
        if m > 0:
            self._compute(n0, keep, m, read)
        self.start, self.stop = c0, c1

    def _compute(self, n0: int, k: int, m: int, read: Callable[[np.ndarray, int], None]) -> None:
        """Frames ``[n0, n0 + m)`` into store indices ``[k, k + m)``."""
        dsp, hop = self.dsp, self.dsp.hop
        starts = range(0, m, self.windowed.shape[3])
        count = min(self.lanes.n, len(starts))
        workers = self.lanes.fft_workers(dsp, count)

        queue = iter(starts)  # next() on a range iterator is one call under the GIL: atomic

        def lane(li: int) -> None:  # the next batch not yet taken, with lane li's buffers
            for i in queue:  # a lane the scheduler delays takes fewer batches
                j = min(m, i + self.windowed.shape[3])
                spec = self.spec[:, :, k + i : k + j]
                x_ij = self.samples[li, ..., : (j - i - 1) * hop + dsp.n_fft]
                read(x_ij, (n0 + i) * hop - dsp.pad)  # the batch's samples, on its lane
                windowed = self.windowed[li, :, :, : j - i]
                frames = self.frames[li][:, :, : j - i]  # views of x_ij's samples
                dsp.spectra(frames, out=spec, windowed=windowed, workers=workers)
                power = self.power[:, k + i : k + j]
                dsp.channel_power(spec, power, self.scratch[li, :, :, : j - i])
                dsp.band_mean(power, self.channels, out=self.band[:, k + i : k + j])

        self.lanes.run(lane, count)
