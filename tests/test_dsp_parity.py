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
from tests.conftest import make_tiny_agent
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
