"""The fixed DSP part of the agent, in torch (no weights): STFT, band features, mask
expansion, spectral mixing, iSTFT.

Its numpy twin is ``plugin_host/dsp.py``; the two are kept side by side in structure and
tied by one end-to-end parity test (tests/test_dsp_parity.py). Conventions shared by both:

- STFT: periodic Hann window of ``n_fft`` samples, hop ``hop``, frames centred on
  multiples of ``hop`` (``n_fft // 2`` zeros padded each side), so a clip of T samples has
  ``N = 1 + T // hop`` frames and ``F = n_fft // 2 + 1`` bins. No normalisation.
- Bands: ``K`` disjoint mel-spaced bin ranges ``[edges[k], edges[k+1])`` covering all bins.
  Band power is the mean of |X|² over the bins of a band and over channels.
- Features: ``log(band_power + FEATURE_EPS)``: Tensor[B, K, N].
- Masks live on the band grid [B, K, N] and are expanded to bins by repetition, then shared
  by all channels: ``Y = M_in · X_in + M_tg · X_tg``.
"""

from __future__ import annotations

import math

import torch

from model.config import AgentConfig

FEATURE_EPS = 1e-8


def band_edges(cfg: AgentConfig) -> list[int]:
    """Bin edges of the K bands: a list of K+1 ints, 0 first, ``cfg.n_freq`` last.

    Edges are mel-spaced between ``cfg.f_min`` and Nyquist; the first band also holds DC.
    Each band has at least one bin.
    """

    def mel(f: float) -> float:
        return 2595.0 * math.log10(1.0 + f / 700.0)

    def inv_mel(m: float) -> float:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    n_freq, k = cfg.n_freq, cfg.n_bands
    bin_hz = cfg.sample_rate / cfg.n_fft
    lo, hi = mel(cfg.f_min), mel(cfg.sample_rate / 2)
    edges = [0]
    for i in range(1, k):
        f = inv_mel(lo + (hi - lo) * i / k)
        edge = max(round(f / bin_hz), edges[-1] + 1)
        edges.append(min(edge, n_freq - (k - i)))
    edges.append(n_freq)
    return edges


def band_index(edges: list[int]) -> torch.Tensor:
    """Band of every STFT bin: LongTensor[F]."""
    idx = torch.empty(edges[-1], dtype=torch.long)
    for k in range(len(edges) - 1):
        idx[edges[k] : edges[k + 1]] = k
    return idx


class AgentDSP(torch.nn.Module):
    """Weightless DSP of the agent (buffers only: window and band index)."""

    window: torch.Tensor
    bins_to_band: torch.Tensor
    band_sizes: torch.Tensor

    def __init__(self, cfg: AgentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.edges = band_edges(cfg)
        self.register_buffer(
            "window", torch.hann_window(cfg.n_fft, periodic=True), persistent=False
        )
        idx = band_index(self.edges)
        self.register_buffer("bins_to_band", idx, persistent=False)
        sizes = torch.bincount(idx, minlength=cfg.n_bands).to(torch.float32)
        self.register_buffer("band_sizes", sizes, persistent=False)

    def n_frames(self, n_samples: int) -> int:
        return 1 + n_samples // self.cfg.hop

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        """x: Tensor[B, C, T] (float) -> complex Tensor[B, C, F, N]."""
        assert x.dim() == 3, f"expected [B, C, T], got {tuple(x.shape)}"
        b, c, t = x.shape
        spec = torch.stft(
            x.reshape(b * c, t),
            n_fft=self.cfg.n_fft,
            hop_length=self.cfg.hop,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        return spec.reshape(b, c, spec.shape[-2], spec.shape[-1])

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """spec: complex Tensor[B, C, F, N] -> Tensor[B, C, length]."""
        b, c, f, n = spec.shape
        y = torch.istft(
            spec.reshape(b * c, f, n),
            n_fft=self.cfg.n_fft,
            hop_length=self.cfg.hop,
            window=self.window,
            center=True,
            length=length,
        )
        return y.reshape(b, c, length)

    def band_power(self, spec: torch.Tensor) -> torch.Tensor:
        """complex Tensor[B, C, F, N] -> mean |X|² per band over bins and channels: [B, K, N]."""
        power = spec.real.square() + spec.imag.square()  # [B, C, F, N]
        power = power.mean(dim=1)  # [B, F, N]
        summed = torch.zeros(
            power.shape[0], self.cfg.n_bands, power.shape[2], dtype=power.dtype, device=power.device
        )
        summed.index_add_(1, self.bins_to_band, power)
        return summed / self.band_sizes[None, :, None]

    @staticmethod
    def log_features(band_power: torch.Tensor) -> torch.Tensor:
        """Band power [B, K, N] -> the core's input features, natural log: [B, K, N]."""
        return torch.log(band_power + FEATURE_EPS)

    def expand(self, band_mask: torch.Tensor) -> torch.Tensor:
        """Band mask [B, K, N] -> bin mask [B, F, N] (each bin takes its band's value)."""
        return band_mask.index_select(1, self.bins_to_band)

    def mix(
        self,
        spec_in: torch.Tensor,
        spec_tg: torch.Tensor,
        input_mask: torch.Tensor,
        target_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Y = M_in · X_in + M_tg · X_tg, masks [B, K, N] shared over channels -> [B, C, F, N]."""
        m_in = self.expand(input_mask)[:, None]
        m_tg = self.expand(target_mask)[:, None]
        return m_in * spec_in + m_tg * spec_tg
