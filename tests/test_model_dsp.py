"""The torch DSP seam (model/dsp.py): STFT conventions and round trip, band layout, band
power, mask expansion and mixing, against hand computations."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from model.config import SIZES, AgentConfig
from model.dsp import FEATURE_EPS, AgentDSP, band_edges, band_index


@pytest.mark.parametrize("t", [1000, 4097, 22050])
@pytest.mark.parametrize("channels", [1, 2])
def test_stft_round_trip(t: int, channels: int) -> None:
    """iSTFT(STFT(x)) = x to float32 rounding (1e-5 on unit-variance noise; Hann at 75 %
    overlap satisfies the overlap-add condition everywhere, edges included)."""
    dsp = AgentDSP(AgentConfig.preset("tiny"))
    x = torch.randn(2, channels, t, generator=torch.Generator().manual_seed(t))
    spec = dsp.stft(x)
    assert spec.shape == (2, channels, dsp.cfg.n_freq, dsp.n_frames(t))
    assert spec.dtype == torch.complex64
    torch.testing.assert_close(dsp.istft(spec, t), x, rtol=0, atol=1e-5)


def test_stft_conventions_centred_frames_unnormalised() -> None:
    """A cosine on bin 64 peaks there with |X| = A · Σw / 2 = A · n_fft / 4 (periodic Hann,
    no normalisation); frame j is centred on sample j · hop, so an impulse at sample 0 is
    seen by frame 0 through the window's centre value 1."""
    cfg = AgentConfig.preset("tiny")
    dsp = AgentDSP(cfg)
    n = torch.arange(8 * cfg.n_fft)
    x = (0.5 * torch.cos(2 * math.pi * 64 * n / cfg.n_fft))[None, None]
    mag = dsp.stft(x).abs()[0, 0, :, 4]  # a frame far from the edges
    assert int(mag.argmax()) == 64
    assert float(mag[64]) == pytest.approx(0.5 * cfg.n_fft / 4, rel=1e-4)
    impulse = torch.zeros(1, 1, 4 * cfg.n_fft)
    impulse[..., 0] = 1.0
    spec = dsp.stft(impulse)[0, 0]
    torch.testing.assert_close(spec[:, 0].abs(), torch.ones(cfg.n_freq), rtol=0, atol=1e-6)
    # frame 1 (centre 512) sees it at window offset 512: w = 0.5; frame 2 at offset 0: w = 0
    torch.testing.assert_close(spec[:, 1].abs(), torch.full((cfg.n_freq,), 0.5), rtol=0, atol=1e-6)
    assert float(spec[:, 2:].abs().max()) < 1e-6


@pytest.mark.parametrize("size", SIZES)
def test_band_edges_of_presets(size: str) -> None:
    cfg = AgentConfig.preset(size)
    edges = band_edges(cfg)
    _check_edges(edges, cfg)
    widths = [b - a for a, b in itertools.pairwise(edges)]
    assert widths[-1] > 4 * widths[1]  # mel spacing: high bands are much wider
    idx = band_index(edges)
    assert idx.shape == (cfg.n_freq,)
    for k in range(cfg.n_bands):
        assert (idx[edges[k] : edges[k + 1]] == k).all()


@settings(max_examples=60, deadline=None)
@given(
    n_fft=st.sampled_from([256, 512, 1024, 2048, 4096]),
    sample_rate=st.sampled_from([8000, 16000, 22050, 44100, 48000, 96000]),
    f_min=st.floats(10.0, 2000.0),
    frac=st.floats(0.0, 1.0),
)
def test_band_edges_always_partition_the_bins(
    n_fft: int, sample_rate: int, f_min: float, frac: float
) -> None:
    n_freq = n_fft // 2 + 1
    n_bands = 2 + round(frac * (n_freq - 2))  # anywhere in [2, n_freq]
    cfg = AgentConfig(
        n_fft=n_fft, hop=n_fft // 4, sample_rate=sample_rate, f_min=f_min, n_bands=n_bands
    )
    _check_edges(band_edges(cfg), cfg)


def test_band_power_features_expand_and_mix_by_hand() -> None:
    cfg = AgentConfig.preset("tiny")
    dsp = AgentDSP(cfg)
    gen = torch.Generator().manual_seed(0)
    b, c, f, n = 2, 2, cfg.n_freq, 3
    spec = torch.complex(
        torch.randn(b, c, f, n, generator=gen), torch.randn(b, c, f, n, generator=gen)
    )
    power = dsp.band_power(spec)
    assert power.shape == (b, cfg.n_bands, n)
    edges = dsp.edges
    for bi in range(b):
        for k in range(cfg.n_bands):
            for j in range(n):
                cells = spec[bi, :, edges[k] : edges[k + 1], j]
                hand = sum(abs(complex(z)) ** 2 for z in cells.reshape(-1)) / cells.numel()
                assert float(power[bi, k, j]) == pytest.approx(hand, rel=1e-5)
    torch.testing.assert_close(AgentDSP.log_features(power), torch.log(power + FEATURE_EPS))
    mask_in = torch.rand(b, cfg.n_bands, n, generator=gen)
    mask_tg = torch.rand(b, cfg.n_bands, n, generator=gen)
    expanded = dsp.expand(mask_in)
    assert expanded.shape == (b, f, n)
    for k in range(cfg.n_bands):
        for fb in (edges[k], edges[k + 1] - 1):
            torch.testing.assert_close(expanded[:, fb], mask_in[:, k], rtol=0, atol=0)
    other = torch.complex(
        torch.randn(b, c, f, n, generator=gen), torch.randn(b, c, f, n, generator=gen)
    )
    mixed = dsp.mix(spec, other, mask_in, mask_tg)
    hand_mix = expanded[:, None] * spec + dsp.expand(mask_tg)[:, None] * other
    torch.testing.assert_close(mixed, hand_mix, rtol=0, atol=0)


def _check_edges(edges: list[int], cfg: AgentConfig) -> None:
    assert len(edges) == cfg.n_bands + 1
    assert edges[0] == 0 and edges[-1] == cfg.n_freq
    assert all(b > a for a, b in itertools.pairwise(edges)), edges
