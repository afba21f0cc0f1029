"""CreativeAgent end to end in torch: shapes, mask ranges, balance, errors, bandwidth,
reconstruction, the seed's ``inference`` call, parameter counts."""

from __future__ import annotations

import pytest
import torch

from model import AgentConfig, CreativeAgent
from tests.helpers import chord, click_track, make_tiny_agent

SR = 44100


def _forced(pass_input: bool) -> CreativeAgent:
    """A tiny agent whose core passes one source: out layer bias ±20 gives masks
    sigmoid(±20) = 1 - 2e-9 and 2e-9 (balance 0.5 adds no bias)."""
    agent = CreativeAgent(AgentConfig.preset("tiny")).eval()
    k = agent.config.n_bands
    sign = 1.0 if pass_input else -1.0
    bias = agent.core.out.bias
    assert bias is not None
    with torch.no_grad():
        agent.core.out.weight.zero_()
        bias[:k] = 20.0 * sign
        bias[k:] = -20.0 * sign
    return agent


def _pair(channels: int, t: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(2, channels, t, generator=gen), 0.3 * torch.randn(
        2, channels, t, generator=gen
    )


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("t", [1, 300, 2047, 2048, 5001, 44101])
def test_shapes_mono_stereo_odd_lengths(channels: int, t: int) -> None:
    agent = make_tiny_agent()
    x, y = _pair(channels, t)
    with torch.no_grad():
        out = agent(x, y, 0.5)
    n = 1 + t // agent.config.hop
    k = agent.config.n_bands
    assert out.audio.shape == (2, channels, t)
    for m in (out.input_mask, out.target_mask, out.input_band_power, out.target_band_power):
        assert m.shape == (2, k, n)
    assert torch.isfinite(out.audio).all()


def test_masks_stay_in_unit_range_even_for_extreme_inputs() -> None:
    agent = make_tiny_agent(seed=3)
    with torch.no_grad():  # push the logits hard: masks must still be within [0, 1]
        agent.core.out.weight.mul_(40.0)
    x, y = _pair(2, 8000)
    cases = [(x, y), (torch.zeros_like(x), y), (x, torch.zeros_like(y)), (100 * x, 1e-4 * y)]
    for a, b in cases:
        for bal in (0.0, 0.5, 1.0):
            with torch.no_grad():
                out = agent(a, b, bal)
            for m in (out.input_mask, out.target_mask):
                assert torch.isfinite(m).all() and m.min() >= 0.0 and m.max() <= 1.0
            assert torch.isfinite(out.audio).all()
    # and they do vary in time and frequency (the fixture is not a constant mask)
    assert out.input_mask.std() > 0.05


def test_balance_tensor_equals_float_and_acts_per_item() -> None:
    agent = make_tiny_agent()
    x, y = _pair(2, 6000)
    with torch.no_grad():
        as_float = agent(x, y, 0.3)
        as_tensor = agent(x, y, torch.tensor([0.3, 0.3]))
        mixed = agent(x, y, torch.tensor([0.3, 0.8]))
        high = agent(x, y, 0.8)
    torch.testing.assert_close(as_float.audio, as_tensor.audio, rtol=0, atol=0)
    torch.testing.assert_close(mixed.input_mask[0], as_float.input_mask[0], rtol=0, atol=0)
    torch.testing.assert_close(mixed.input_mask[1], high.input_mask[1], rtol=0, atol=0)
    # a higher balance opens the input mask and closes the target mask
    assert high.input_mask.mean() > as_float.input_mask.mean()
    assert high.target_mask.mean() < as_float.target_mask.mean()


@pytest.mark.parametrize(
    ("x_shape", "y_shape"),
    [
        ((2, 1000), (2, 1000)),
        ((1, 2, 1000), (1, 2, 999)),
        ((1, 3, 1000), (1, 3, 1000)),
        ((1, 2, 1000), (2, 2, 1000)),
    ],
)
def test_bad_shapes_raise_value_error(x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> None:
    agent = make_tiny_agent()
    with pytest.raises(ValueError, match=r"\[B, C, T\]|channels"):
        agent(torch.zeros(x_shape), torch.zeros(y_shape))


def test_bad_balance_shape_raises_value_error() -> None:
    agent = make_tiny_agent()
    x, y = _pair(2, 1000)
    with pytest.raises(ValueError, match="balance"):
        agent(x, y, torch.tensor([0.5, 0.5, 0.5]))


@pytest.mark.parametrize("pass_input", [True, False])
def test_mask_passing_one_source_reconstructs_it(pass_input: bool) -> None:
    """Perfect reconstruction: with M = 1 - 2e-9 on one source and 2e-9 on the other, the
    STFT/iSTFT round trip returns that source to float32 rounding (<= 1e-4 absolute on
    clips of peak ~0.5; measured ~1e-6)."""
    agent = _forced(pass_input)
    x = torch.from_numpy(click_track(1.3, SR, channels=2))[None]
    y = torch.from_numpy(chord(1.3, SR, channels=2))[None]
    with torch.no_grad():
        out = agent(x, y, 0.5)
    expected = x if pass_input else y
    assert (out.audio - expected).abs().max() <= 1e-4
    kept, dropped = (
        (out.input_mask, out.target_mask) if pass_input else (out.target_mask, out.input_mask)
    )
    assert kept.min() > 0.999999 and dropped.max() < 1e-6


def test_full_bandwidth_survives_the_masks() -> None:
    """Masks act on the full STFT grid: a 15 kHz tone and white noise keep their energy
    above 10 kHz (>= 99 %) when the mask passes their clip."""
    agent = _forced(pass_input=True)
    t = torch.arange(SR) / SR
    gen = torch.Generator().manual_seed(1)
    x = 0.2 * torch.sin(2 * torch.pi * 15000 * t) + 0.1 * torch.randn(SR, generator=gen)
    x = x.expand(1, 2, SR).contiguous()
    y = torch.from_numpy(chord(1.0, SR, channels=2))[None]
    with torch.no_grad():
        out = agent(x, y, 0.5)

    def high_energy(a: torch.Tensor) -> float:
        spec = torch.fft.rfft(a, dim=-1).abs().square()
        freqs = torch.fft.rfftfreq(a.shape[-1], 1 / SR)
        return float(spec[..., freqs > 10000].sum())

    assert high_energy(out.audio) >= 0.99 * high_energy(x)
    assert high_energy(x) > 0.3 * float(torch.fft.rfft(x, dim=-1).abs().square().sum())


def test_inference_ranks_and_target_fitting() -> None:
    agent = make_tiny_agent()
    x2 = torch.from_numpy(click_track(0.5, SR, channels=2))
    y2 = torch.from_numpy(chord(0.5, SR, channels=2))
    out2 = agent.inference(x2, y2)
    assert out2.shape == x2.shape
    out1 = agent.inference(x2[0], y2[0])
    assert out1.shape == x2[0].shape
    out3 = agent.inference(x2[None], y2[None])
    assert out3.shape == (1, *x2.shape)
    torch.testing.assert_close(out3[0], out2, rtol=0, atol=0)
    with torch.no_grad():
        direct = agent(x2[None], y2[None], 0.5).audio[0]
    torch.testing.assert_close(out2, direct, rtol=0, atol=0)
    # a short target is looped to the input's length, a mono target spread to stereo
    short = y2[:, :5000]
    looped = torch.cat([short] * 5, dim=-1)[:, : x2.shape[-1]]
    torch.testing.assert_close(agent.inference(x2, short), agent.inference(x2, looped))
    mono = y2.mean(0, keepdim=True)
    torch.testing.assert_close(agent.inference(x2, mono), agent.inference(x2, mono.expand(2, -1)))
    with pytest.raises(ValueError):
        agent.inference(x2[None, None], y2[None, None])


def test_parameter_counts() -> None:
    counts = {
        size: sum(p.numel() for p in CreativeAgent(AgentConfig.preset(size)).parameters())
        for size in ("tiny", "small", "base")
    }
    assert counts["tiny"] < 50_000
    assert counts["tiny"] < counts["small"] < counts["base"]
    with pytest.raises(ValueError, match="unknown model size"):
        AgentConfig.preset("huge")
