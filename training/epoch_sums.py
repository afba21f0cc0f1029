"""Running sums of one epoch's per-batch numbers (losses, correlations, mask statistics)
on one rank, NaN-aware; the trainer averages them over ranks at the end of the epoch."""

from __future__ import annotations

import torch


class EpochSums:
    """Running sums and counts of the per-batch numbers of one epoch (this rank)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, float] = {}

    def add(self, key: str, value: float, count: float = 1.0) -> None:
        if value != value:  # NaN: undefined this batch (e.g. a silent clip), not counted
            return
        self.sums[key] = self.sums.get(key, 0.0) + value * count
        self.counts[key] = self.counts.get(key, 0.0) + count

    def add_mean(self, key: str, values: torch.Tensor) -> None:
        """Add the finite items of a Tensor[B] (weighted by how many there are)."""
        v = values.detach().float()
        ok = torch.isfinite(v)
        n = int(ok.sum())
        if n:
            self.add(key, float(v[ok].mean()), float(n))
        else:
            self.counts.setdefault(key, 0.0)
            self.sums.setdefault(key, 0.0)
