"""A stream's samples held as the blocks it was fed in, without copying them in, and the
spans the streamed agent emits with pieces of those blocks (:class:`Emitted`).

The streamed agent (:class:`plugin_host.pipeline.StreamingAgent`) reads every sample twice
after it arrives: into the frames of a chunk, and into the span it emits with the output.
Holding references to the fed blocks saves the copy a ring buffer would make on arrival
(42 MB per 60 s stereo pair: 0.015 s of the agent's thread, measured on 2 cores), which
matters because the agent's thread is the render's critical path. The blocks are not copied,
so whoever feeds one must not modify it afterwards (the render's reader and chains make a new
array per block).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from plugin_host.sample_buffer import inside


class BlockQueue:
    """Samples ``[start, end)`` of one stream of ``total`` samples, as the float32 [C, n]
    blocks they were appended in (kept by reference), dropped from the front; reads
    outside ``[0, total)`` are zeros."""

    def __init__(self, channels: int, total: int) -> None:
        self.channels, self.total = channels, total
        self._blocks: deque[tuple[int, np.ndarray]] = deque()  # (first sample, [C, n])
        self.start = 0  # first sample held (or the next to come when none is)
        self.end = 0

    def append(self, x: np.ndarray) -> None:
        """The next samples, float32 [C, n] (held by reference: do not modify them later);
        samples beyond ``total`` are ignored."""
        n = min(x.shape[1], self.total - self.end)
        if n <= 0:
            return
        assert x.ndim == 2 and x.shape[0] == self.channels and x.dtype == np.float32, (
            f"expected float32 [{self.channels}, n], got {x.dtype} {x.shape}"
        )
        self._blocks.append((self.end, x[:, :n]))
        self.end += n

    def _spans(self, lo: int, hi: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """(a, b, block) for each held block overlapping ``[lo, hi)``: it holds ``[a, b)``
        of the range, at ``block[:, a - first : b - first]``."""
        for first, block in self._blocks:
            last = first + block.shape[1]
            if last <= lo:
                continue
            if first >= hi:
                break
            yield (
                max(first, lo),
                min(last, hi),
                block[:, max(first, lo) - first : min(last, hi) - first],
            )

    def read_into(self, out: np.ndarray, s0: int) -> None:
        """Copy samples ``[s0, s0 + out.shape[-1])`` into ``out`` [C, L] (zeros outside the
        stream); the part inside ``[0, total)`` must be held."""
        lo, hi = inside(out, s0, self.total, self.start, self.end)
        for a, b, part in self._spans(lo, hi):
            out[:, a - s0 : b - s0] = part

    def pieces(self, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        """Samples ``[lo, hi)`` (held, inside ``[0, total)``) as views of the blocks that
        hold them, in order: float32 [C, n_i] each, Σ n_i = hi - lo (one empty piece when
        lo == hi)."""
        assert self.start <= lo <= hi <= self.end, (
            f"samples [{lo}, {hi}) not held ([{self.start}, {self.end}))"
        )
        parts = tuple(part for _, _, part in self._spans(lo, hi))
        return parts or (np.zeros((self.channels, 0), np.float32),)

    def drop_before(self, s: int) -> None:
        """Forget the samples before ``s`` (whole blocks; a block ``s`` falls in is kept)."""
        while self._blocks and self._blocks[0][0] + self._blocks[0][1].shape[1] <= s:
            self._blocks.popleft()
        self.start = max(self.start, min(s, self.end))


@dataclass
class Emitted:
    """Finished output samples ``[start, start + n)`` (model rate) with the agent's inputs
    over the same span: output float32 [C, n]; the inputs as the fed blocks' pieces over
    the span (``*_parts``: views, float32 [C, n_i], Σ n_i = n). :meth:`aligned` walks all
    three without copying."""

    start: int
    output: np.ndarray
    input_parts: tuple[np.ndarray, ...]
    target_parts: tuple[np.ndarray, ...]

    def aligned(self, a: int, z: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(output, input, target) views [C, m] covering samples ``[a, z)`` of the span
        (0 = ``start``), cut wherever an input or target piece ends."""
        pieces = (self.input_parts, self.target_parts)
        ends = [np.cumsum([p.shape[1] for p in parts]) for parts in pieces]
        cuts = sorted({a, z, *(int(e) for e in np.concatenate(ends) if a < e < z)})
        for lo, hi in itertools.pairwise(cuts):
            views = []
            for parts, end in zip(pieces, ends, strict=True):
                i = int(np.searchsorted(end, lo, side="right"))  # the piece holding lo
                first = int(end[i]) - parts[i].shape[1]
                views.append(parts[i][:, lo - first : hi - first])
            yield self.output[:, lo:hi], views[0], views[1]
