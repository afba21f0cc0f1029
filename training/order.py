"""Data order and per-step randomness as functions of (seed, global step).

A resumed or restarted run must draw exactly what the uninterrupted run drew, wherever it
stopped, so nothing here keeps state between steps:

- the pool of ``n`` items is walked in sweeps; sweep ``k`` is a permutation of the pool
  seeded by ``(seed, k)``, cut into ``n // G`` global batches of ``G = batch * world``
  items (the last ``n % G`` items of a sweep are skipped, as ``drop_last`` would);
- global step ``s`` takes global batch ``s % (n // G)`` of sweep ``s // (n // G)``, and
  rank ``r`` takes its ``batch`` items at offset ``r * batch`` of it: within a step the
  ranks' items are disjoint;
- each step reseeds python, numpy and torch from ``(seed, step, rank)``
  (:func:`step_seed`), so the per-step draws (gains, balance) do not depend on history.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


def step_seed(seed: int, step: int, rank: int) -> int:
    """The seed of rank ``rank``'s draws at global step ``step`` (0-based): an int in
    [0, 2**63), hashed from all three so neighbouring steps and ranks do not overlap."""
    lo, hi = np.random.SeedSequence([seed, step, rank, 0x5EED]).generate_state(2, np.uint32)
    return (int(hi) << 32 | int(lo)) & ((1 << 63) - 1)


def _sweep(n: int, seed: int, sweep: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(
        int(np.random.SeedSequence([seed, sweep]).generate_state(1)[0])
    )
    return torch.randperm(n, generator=g)


def step_indices(n: int, seed: int, step: int, rank: int, world: int, batch: int) -> list[int]:
    """The ``batch`` item indices (into a pool of ``n``) that rank ``rank`` of ``world``
    trains on at global step ``step`` (see the module docstring)."""
    per_sweep = n // (batch * world)
    if per_sweep < 1:
        raise ValueError(
            f"train_pairs: {n} pairs are fewer than the global batch {batch * world} "
            f"({world} rank(s) × batch_size {batch})"
        )
    perm = _sweep(n, seed, step // per_sweep)
    start = (step % per_sweep) * batch * world + rank * batch
    return [int(i) for i in perm[start : start + batch]]


class StepBatches(Sampler[list[int]]):
    """Batch sampler (``DataLoader(batch_sampler=...)``) yielding rank ``rank``'s index
    lists for global steps ``start, start + 1, ... stop - 1``."""

    def __init__(
        self, n: int, seed: int, rank: int, world: int, batch: int, start: int, stop: int
    ) -> None:
        self.n, self.seed, self.rank, self.world, self.batch = n, seed, rank, world, batch
        self.start, self.stop = start, stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            yield step_indices(self.n, self.seed, step, self.rank, self.world, self.batch)
