"""Running moments of (output, input, target) waveforms: the seed's correlations and the
least-squares split, accumulated chunk by chunk with flat memory."""

from __future__ import annotations

import numpy as np

from plugin_host.measures.constants import PEARSON_FLOOR
from plugin_host.measures.correlation import pearson_from_comoments
from plugin_host.measures.least_squares import LeastSquares, least_squares_from_gram

OUTPUT, INPUT, TARGET = 0, 1, 2


class WaveformMoments:
    """Sums over the samples of (output, input, target), flattened over channels: count,
    Σx per signal and Σx·y per pair (float64 totals of float32 block sums).

    ``update`` per chunk; ``pearson``, ``least_squares`` and ``silent`` read the totals.
    """

    def __init__(self) -> None:
        self.n = 0
        self.sums = np.zeros(3)
        self.gram = np.zeros((3, 3))

    def update(self, output: np.ndarray, input: np.ndarray, target: np.ndarray) -> None:
        """output, input, target: float [C, n] (or [n]) over the same samples, one shape;
        any strides along C (views of larger blocks are not copied)."""
        if not output.shape == input.shape == target.shape:
            raise ValueError(f"shapes differ: {output.shape}, {input.shape}, {target.shape}")
        rows = [np.asarray(x, np.float32).reshape(-1, output.shape[-1]) for x in
                (output, input, target)]  # fmt: skip
        self.n += output.size
        for r in range(rows[0].shape[0]):  # per channel: BLAS dots on contiguous rows
            v = [np.ascontiguousarray(x[r]) for x in rows]
            for i in range(3):
                self.sums[i] += float(v[i].sum())  # float32 pairwise sum (SIMD), as the dots
                for j in range(i, 3):
                    self.gram[i, j] += float(np.dot(v[i], v[j]))
                    self.gram[j, i] = self.gram[i, j]

    def add(self, other: WaveformMoments) -> None:
        """Add the sums of other samples (moments of a later or earlier span)."""
        self.n += other.n
        self.sums += other.sums
        self.gram += other.gram

    def centered(self) -> np.ndarray:
        """Co-moments Σ(x - x̄)(y - ȳ): [3, 3]."""
        if self.n == 0:
            return np.zeros((3, 3))
        return self.gram - np.outer(self.sums, self.sums) / self.n

    def pearson(self, i: int, j: int) -> float | None:
        """Pearson correlation of signals i and j (``OUTPUT``, ``INPUT``, ``TARGET``)."""
        c = self.centered()
        return pearson_from_comoments(c[i, j], c[i, i], c[j, j], self.n)

    def silent(self, i: int) -> bool:
        """Signal i is constant (silence included): no correlation with it is defined."""
        return not bool(self.centered()[i, i] > PEARSON_FLOOR * max(self.n, 1))

    def least_squares(self) -> LeastSquares:
        return least_squares_from_gram(self.gram)
