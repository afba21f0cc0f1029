"""What a benchmark run measures: its configuration, the shared constants and the targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin_host.runtime import available_cores

SCHEMA = "creative-agent/bench/1"
SECTIONS = ("host", "chains", "processes", "osc", "memory", "baselines", "train", "gpu")
SAMPLE_RATE = 44100  # Hz, the rate of the generated pair
PAIR_SEED = 7  # the validation-distribution pair every section renders
SETTLE_S = 0.1  # idle seconds before each timed call
# the end-to-end chain: a typical clean-up on each side and a bus compressor + limiter
CHAIN: dict[str, Any] = {
    "input_chain": [{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 40.0}}],
    "target_chain": [{"plugin": "Reverb", "params": {"room_size": 0.5, "wet_level": 0.2}}],
    "output_chain": [
        {"plugin": "Compressor", "params": {"threshold_db": -18.0, "ratio": 3.0}},
        {"plugin": "Limiter", "params": {"threshold_db": -1.0}},
    ],
}
# Peak RSS of the longest memory render over that of the shortest (the lengths are
# ``memory_seconds``, recorded beside it in bench.json).
RSS_RATIO_KEY = "rss_last_over_first"


@dataclass(frozen=True)
class Target:
    """A figure's bound: ``key`` compared with ``op`` (``>=`` or ``<=``) to ``bound``;
    informational targets are reported but not required."""

    key: str
    op: str
    bound: float
    informational: bool = False


# issue 15's targets, each a ratio or figure of the same run
TARGETS = (
    Target("host_vs_fft_floor_ratio", "<=", 1.3),
    Target("host_vs_torch_ratio", ">=", 3.0),
    Target("end_to_end_rtf", ">=", 200.0),
    Target("render_batch_rtf", ">=", 150.0),
    Target("osc_roundtrip_p95_ms", "<=", 150.0),
    Target(RSS_RATIO_KEY, "<=", 1.2),
    Target("host_vs_floor_ratio", "<=", 2.0, informational=True),
)


class BenchError(RuntimeError):
    """A benchmark that could not run (one line naming the step)."""


@dataclass(frozen=True)
class BenchConfig:
    """What to measure.

    seconds: the pair's length (s); runs/warmup: timed runs per contender (median reported)
    and untimed ones before them; threads: torch threads, ONNX Runtime intra-op threads and
    scipy.fft workers; memory_seconds: clip lengths (s) of the RSS renders, shortest first
    (the first and the last give ``rss_last_over_first``); train_*: the torchrun jobs (model
    size, steps per epoch, epochs (all but the first are timed), batch size per process,
    crop length in s, timeout in s); size: the model preset when no checkpoint is given;
    batch_*: the render-batch run (pairs, seconds per pair, worker processes); cold_seconds:
    the pair of the cold-start render; osc_*: the OSC round trips (renders, seconds per pair).
    """

    out: Path
    quick: bool = False
    checkpoint: Path | None = None
    size: str = "small"
    seconds: float = 60.0
    runs: int = 7
    warmup: int = 1
    threads: int = field(default_factory=available_cores)
    memory_seconds: tuple[float, ...] = (10.0, 60.0, 600.0)
    train_size: str = "small"
    train_steps: int = 5
    train_epochs: int = 3
    train_batch: int = 8
    train_crop_s: float = 2.0
    train_timeout_s: float = 240.0
    batch_pairs: int = 50
    batch_seconds: float = 8.0
    batch_workers: int = 2
    cold_seconds: float = 1.0
    osc_renders: int = 20
    osc_seconds: float = 8.0
    sections: tuple[str, ...] = SECTIONS

    @classmethod
    def quick_config(cls, out: Path, **kw: Any) -> BenchConfig:
        """Tiny sizes for the smoke test: 2 s clips, one run, the ``tiny`` model, memory
        renders of 0.5, 2 and 6 s, a render-batch of 4 pairs of 1 s, 3 OSC renders of 1 s
        (``kw`` overrides any field)."""
        small: dict[str, Any] = {
            "quick": True,
            "size": "tiny",
            "seconds": 2.0,
            "runs": 1,
            "warmup": 1,
            "memory_seconds": (0.5, 2.0, 6.0),
            "train_size": "tiny",
            "train_steps": 1,
            "train_epochs": 1,
            "train_batch": 2,
            "train_crop_s": 0.5,
            "batch_pairs": 4,
            "batch_seconds": 1.0,
            "osc_renders": 3,
            "osc_seconds": 1.0,
        }
        return cls(out=out, **{**small, **kw})
