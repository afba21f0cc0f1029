"""Configuration of the creative agent: one dataclass, saved in every checkpoint and ONNX file.

Constructor arguments are the config: ``CreativeAgent(AgentConfig(...))`` rebuilds a model
from the ``dict`` stored next to its weights (``AgentConfig.from_dict``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

SIZES = ("tiny", "small", "base")


@dataclass(frozen=True)
class AgentConfig:
    """Fixed DSP parameters plus the size of the learned core.

    sample_rate: Hz the model runs at (the host resamples to it).
    n_fft, hop: STFT size and hop in samples (periodic Hann window, centred frames,
        zero padding). Masks are applied on this full-rate grid, so the output keeps
        the whole bandwidth.
    n_bands: number of mel-spaced, disjoint frequency bands the core sees and predicts
        masks for (each STFT bin belongs to exactly one band).
    f_min: lower edge of the first band above DC, in Hz.
    hidden, n_layers, kernel_size: the temporal conv net of the core.
    """

    size: str = "small"
    sample_rate: int = 44100
    n_fft: int = 2048
    hop: int = 512
    n_bands: int = 32
    f_min: float = 40.0
    hidden: int = 64
    n_layers: int = 4
    kernel_size: int = 3

    def __post_init__(self) -> None:
        if self.n_fft % self.hop != 0 or self.n_fft // self.hop < 2:
            raise ValueError(f"n_fft ({self.n_fft}) must be a multiple >= 2 of hop ({self.hop})")
        if not 2 <= self.n_bands <= self.n_fft // 2 + 1:
            raise ValueError(f"n_bands must be in [2, n_fft/2+1], got {self.n_bands}")
        if self.sample_rate < 8000:
            raise ValueError(f"sample_rate must be >= 8000 Hz, got {self.sample_rate}")
        if self.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")

    @property
    def n_freq(self) -> int:
        """Number of STFT bins, n_fft // 2 + 1."""
        return self.n_fft // 2 + 1

    @property
    def receptive_frames(self) -> int:
        """Frames of context on each side that influence one output frame of the core."""
        return sum((self.kernel_size // 2) * 2**i for i in range(self.n_layers)) + 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AgentConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown AgentConfig field(s): {sorted(unknown)}")
        return cls(**d)

    @classmethod
    def preset(cls, size: str, **overrides: Any) -> AgentConfig:
        """``tiny`` (tests, < 50k params), ``small`` (default, CPU), ``base`` (GPU)."""
        presets: dict[str, dict[str, Any]] = {
            "tiny": dict(n_bands=16, hidden=16, n_layers=2),
            "small": dict(n_bands=32, hidden=64, n_layers=4),
            "base": dict(n_bands=64, hidden=192, n_layers=8),
        }
        if size not in presets:
            raise ValueError(f"unknown model size {size!r}; choose from {', '.join(SIZES)}")
        return cls(size=size, **{**presets[size], **overrides})
