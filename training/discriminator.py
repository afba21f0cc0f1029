"""A small multi-scale STFT discriminator (EnCodec-style, sized for a 2-core CPU).

Each scale takes the log-compressed magnitude STFT of the mono mix of a clip at its own
resolution, pools it to a fixed number of frequency rows (so every scale costs about the
same whatever its FFT size), and runs a short 2-D conv stack over (frequency, time). It
returns, per scale, a map of logits and the activations of every layer (for feature
matching). Losses that use it live in ``training/losses.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Sizes of the discriminator.

    n_ffts: FFT size of each scale, in samples (hop = n_fft // 4, periodic Hann window).
    freq_rows: frequency rows each scale's magnitude is average-pooled to (bins above the
        last full group are dropped).
    channels: filters of every conv layer.
    n_layers: conv layers per scale before the 1-channel logit conv; each halves the
        frequency axis (stride 2); the first also halves the time axis.
    kernel: (frequency, time) kernel of the conv layers.
    """

    n_ffts: tuple[int, ...] = (512, 1024, 2048)
    freq_rows: int = 64
    channels: int = 24
    n_layers: int = 3
    kernel: tuple[int, int] = (5, 5)

    def __post_init__(self) -> None:
        if not 1 <= len(self.n_ffts) <= 4:
            raise ValueError(f"n_ffts: 1 to 4 scales, got {self.n_ffts}")
        for n in self.n_ffts:
            if n < 64 or n % 4:
                raise ValueError(f"n_ffts: each must be a multiple of 4 and >= 64, got {n}")
            if n // 2 + 1 < self.freq_rows:
                raise ValueError(f"freq_rows ({self.freq_rows}) exceeds the bins of n_fft {n}")
        if self.channels < 1 or self.n_layers < 1:
            raise ValueError("channels and n_layers must be >= 1")


class ScaleDiscriminator(nn.Module):
    """One resolution: |STFT| -> log1p -> pooled to ``freq_rows`` -> conv stack -> logits."""

    window: torch.Tensor

    def __init__(self, n_fft: int, cfg: DiscriminatorConfig) -> None:
        super().__init__()
        self.n_fft, self.hop, self.rows = n_fft, n_fft // 4, cfg.freq_rows
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)
        kf, kt = cfg.kernel
        pad = (kf // 2, kt // 2)
        layers: list[nn.Module] = []
        in_ch = 1
        for i in range(cfg.n_layers):
            stride = (2, 2) if i == 0 else (2, 1)
            layers.append(nn.Conv2d(in_ch, cfg.channels, cfg.kernel, stride=stride, padding=pad))
            in_ch = cfg.channels
        self.convs = nn.ModuleList(layers)
        self.post = nn.Conv2d(in_ch, 1, (3, 3), padding=(1, 1))

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """x: Tensor[B, T] mono -> log1p |STFT| pooled to Tensor[B, 1, rows, N]."""
        spec = torch.stft(
            x,
            n_fft=self.n_fft,
            hop_length=self.hop,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        mag = torch.sqrt(spec.real.square() + spec.imag.square() + 1e-10)  # [B, F, N]
        group = mag.shape[1] // self.rows
        mag = mag[:, : group * self.rows].reshape(mag.shape[0], self.rows, group, mag.shape[2])
        return torch.log1p(mag.mean(dim=2))[:, None]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.spectrogram(x)
        feats: list[torch.Tensor] = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
            feats.append(h)
        logits = self.post(h)
        return logits, feats


class MultiScaleSTFTDiscriminator(nn.Module):
    """Judges whether a clip looks like real music, at several STFT resolutions.

    About 0.1 M parameters with the default config (3 scales × 24 filters).
    """

    def __init__(self, cfg: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or DiscriminatorConfig()
        self.scales = nn.ModuleList(ScaleDiscriminator(n, self.cfg) for n in self.cfg.n_ffts)

    def forward(self, x: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        """x: Tensor[B, C, T] audio (channels averaged to mono).

        Returns one ``(logits, features)`` per scale: logits Tensor[B, 1, R', N'] (R' =
        freq_rows / 2**n_layers rows, N' = ceil(N / 2) for the N STFT frames at hop
        n_fft/4), features the ``n_layers`` activations Tensor[B, channels, R_l, N'].
        """
        assert x.dim() == 3, f"discriminator expects [B, C, T], got {tuple(x.shape)}"
        mono = x.mean(dim=1)
        return [scale(mono) for scale in self.scales]
