"""The one end-to-end tie between the two DSP twins: the host's numpy DSP
(plugin_host/dsp.py) around the torch core must render what the torch CreativeAgent
renders, on real-length generated clips, odd lengths, short clips and mono.

Tolerance 1e-4 max abs on clips of peak <= 0.99: both sides run float32 FFTs (scipy vs
torch/pocketfft), whose rounding differs by ~1e-7 relative per transform; 1e-4 leaves
room for that through log features, the core and the iSTFT, and is still ~-80 dBFS.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from model import AgentConfig, CreativeAgent
from model.dsp import band_edges
from plugin_host.dsp import HostDSP
from tests.helpers import make_tiny_agent
from training.data.synth import generate_pair, train_config, validation_config

TOL = 1e-4


def _small_agent(seed: int = 1) -> CreativeAgent:
    """The ``small`` preset with a randomised output layer (masks vary in time/frequency)."""
    agent = CreativeAgent(AgentConfig.preset("small"))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        agent.core.out.weight.copy_(0.3 * torch.randn(agent.core.out.weight.shape, generator=gen))
    return agent.eval()


def _host_render(
    agent: CreativeAgent, x: np.ndarray, y: np.ndarray, balance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy DSP + torch core: (audio [C, T], feat_in [1, K, N], input_mask [1, K, N])."""
    cfg = agent.config
    dsp = HostDSP(cfg.n_fft, cfg.hop, band_edges(cfg))
    spec_in, spec_tg = dsp.stft(x[None]), dsp.stft(y[None])
    feat_in = dsp.log_features(dsp.band_power(spec_in))
    feat_tg = dsp.log_features(dsp.band_power(spec_tg))
    with torch.no_grad():
        m_in, m_tg = agent.core(
            torch.from_numpy(feat_in), torch.from_numpy(feat_tg), torch.tensor([balance])
        )
    spec_out = dsp.mix(spec_in, spec_tg, m_in.numpy(), m_tg.numpy())
    return dsp.istft(spec_out, x.shape[-1])[0], feat_in, m_in.numpy()


def _check(agent: CreativeAgent, x: np.ndarray, y: np.ndarray, balance: float = 0.5) -> None:
    audio, feat_in, m_in = _host_render(agent, x, y, balance)
    with torch.no_grad():
        out = agent(torch.from_numpy(x)[None], torch.from_numpy(y)[None], balance)
        spec = agent.dsp.stft(torch.from_numpy(x)[None])
        feat_torch = agent.dsp.log_features(agent.dsp.band_power(spec))
    assert audio.shape == x.shape and audio.dtype == np.float32
    # band powers agree to float32 FFT rounding of the loudest bins (log features of
    # near-silent bands, ~1e-8, may differ by a few 1e-3 and matter to nothing downstream)
    p_host, p_torch = np.exp(feat_in), np.exp(feat_torch.numpy())
    np.testing.assert_allclose(p_host, p_torch, rtol=1e-4, atol=1e-6 * float(p_torch.max()))
    np.testing.assert_allclose(m_in, out.input_mask.numpy(), rtol=0, atol=TOL)
    err = float(np.abs(audio - out.audio[0].numpy()).max())
    assert err <= TOL, f"host vs torch max abs error {err:.2e} > {TOL}"
    assert float(np.abs(audio).max()) > 0.01  # not trivially silent


@pytest.mark.parametrize("make_agent", [make_tiny_agent, _small_agent], ids=["tiny", "small"])
def test_parity_five_second_stereo_clips(make_agent: Callable[[], CreativeAgent]) -> None:
    agent = make_agent()
    x, y = generate_pair(train_config(seconds=5.0), 0)
    _check(agent, x, y, 0.5)
    x, y = generate_pair(validation_config(seconds=5.0), 1)
    _check(agent, x, y, 0.8)


@pytest.mark.parametrize(
    ("n_samples", "channels"), [(44100 * 2 + 1, 2), (44100 + 511, 1), (1000, 2), (3001, 1)]
)
def test_parity_odd_short_and_mono(n_samples: int, channels: int) -> None:
    cfg = train_config(seconds=n_samples / 44100, channels=channels)
    x, y = generate_pair(cfg, n_samples)
    assert x.shape == (channels, n_samples)
    _check(make_tiny_agent(seed=2), x, y, 0.3)


def test_feature_eps_is_one_fact_in_both_twins() -> None:
    """model/ may import nothing of ours, so each DSP twin states FEATURE_EPS: tie them."""
    from model.dsp import FEATURE_EPS as torch_eps
    from plugin_host.dsp import FEATURE_EPS as host_eps

    assert torch_eps == host_eps


@pytest.mark.parametrize(
    ("n_fft", "hop", "length"), [(2048, 512, 20_001), (64, 32, 300), (64, 16, 40)]
)
def test_window_envelope_equals_brute_force_sum_and_any_slice(
    n_fft: int, hop: int, length: int
) -> None:
    """One window envelope for the whole iSTFT and every streamed span: Σ w² over the
    frames covering each sample (1 where none reach), sliced anywhere."""
    dsp = HostDSP(n_fft, hop, [0, n_fft // 4, n_fft // 2 + 1])
    n = dsp.n_frames(length)
    w2 = dsp.window.astype(np.float64) ** 2
    brute = np.zeros(length + n_fft)
    for i in range(n):  # frame i covers padded samples [i·hop, i·hop + n_fft)
        brute[i * hop : i * hop + n_fft] += w2
    brute = brute[dsp.pad : dsp.pad + length]
    want = np.where(brute > 1e-11, brute, 1.0).astype(np.float32)
    # float64 sums in another order, cast to float32: equal to float32 rounding
    np.testing.assert_allclose(dsp.window_envelope(n, 0, length), want, rtol=1e-7)
    want = dsp.window_envelope(n, 0, length)  # slices are exact: the same formula per sample
    rng = np.random.default_rng(0)
    for lo, hi in [(0, 1), (length - 1, length), *np.sort(rng.integers(0, length, (20, 2)))]:
        np.testing.assert_array_equal(dsp.window_envelope(n, int(lo), int(hi)), want[lo:hi])


def test_chunked_overlap_add_equals_whole_istft() -> None:
    """stft_frames → synthesize → overlap_add over chunks with the carried tail, divided
    by window_envelope per span, is the whole istft (the streaming renderer's path)."""
    dsp = HostDSP(512, 128, [0, 40, 257])
    x = np.random.default_rng(1).standard_normal((2, 5000)).astype(np.float32)
    spec = dsp.stft(x)  # [C, F, N]
    whole = dsp.istft(spec, x.shape[-1])
    n, r, hop = spec.shape[-1], dsp.ratio, dsp.hop
    frames = np.swapaxes(spec, -1, -2)
    tail, parts = None, []
    for a in range(0, n, 7):
        b = min(n, a + 7)
        acc = dsp.overlap_add(dsp.synthesize(frames[:, a:b]), tail)
        keep = acc.shape[-1] if b == n else (b - a) * hop
        parts.append(acc[:, :keep])
        tail = acc[:, keep:]
    summed = np.concatenate(parts, axis=-1)[:, dsp.pad : dsp.pad + x.shape[-1]]
    got = summed / dsp.window_envelope(n, 0, x.shape[-1])
    assert r == 4
    # same float32 sums, other grouping: rounding only
    np.testing.assert_allclose(got, whole, rtol=0, atol=1e-6)
    np.testing.assert_allclose(whole, x, rtol=0, atol=1e-5)  # and the round trip holds
