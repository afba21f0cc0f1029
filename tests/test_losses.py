"""training/losses.py: each loss at known points, its gradient, and the named dict."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from tests.helpers import chord, click_track, make_tiny_agent
from training import balance_losses as B
from training import losses as L
from training.config import TrainConfig
from training.discriminator import (
    DiscriminatorConfig,
    MultiScaleSTFTDiscriminator,
    ScaleDiscriminator,
)
from training.torch_measures import energy_share

SR, N_FFT = 44100, 2048


def _pair(seconds: float = 0.5, batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(click_track(seconds, channels=1))[None].repeat(batch, 1, 1)
    y = torch.from_numpy(chord(seconds, channels=1))[None].repeat(batch, 1, 1)
    return x, y


def _small_disc() -> MultiScaleSTFTDiscriminator:
    return MultiScaleSTFTDiscriminator(DiscriminatorConfig(n_ffts=(256, 512), freq_rows=16))


def _only(name: str, **extra: object) -> TrainConfig:
    """A config whose only positive weight is ``name``'s (balance weight 0 too)."""
    zero = {field: 0.0 for field in L.LOSS_WEIGHTS.values()}
    zero[L.LOSS_WEIGHTS[name]] = 1.0
    return TrainConfig(**zero, **extra)  # type: ignore[arg-type]


def test_loss_weights_name_trainconfig_fields() -> None:
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(L.LOSS_WEIGHTS.values()) <= fields
    assert len(set(L.LOSS_WEIGHTS.values())) == len(L.LOSS_WEIGHTS)


def test_recon_mse_known_value() -> None:
    out = torch.zeros(2, 1, 100)
    ref = torch.full((2, 1, 100), 0.5)
    assert L.recon_mse(out, ref).item() == pytest.approx(0.25)


def test_recon_mrstft_zero_for_equal_and_log2_for_double() -> None:
    x = torch.randn(1, 2, 8192, generator=torch.Generator().manual_seed(0))
    assert L.recon_mrstft(x, x).item() == pytest.approx(0.0, abs=1e-6)
    # |2X| vs |X|: spectral convergence 1, log-magnitude log 2 (noise has no bins near the
    # 1e-5 floor, so the clamp does not bite; 1e-3 allows float32 rounding)
    assert L.recon_mrstft(2 * x, x).item() == pytest.approx(1.0 + math.log(2.0), rel=1e-3)


def test_balance_loss_seed_formula_and_per_item() -> None:
    m_in = torch.full((2, 4, 5), 0.7)
    m_tg = torch.full((2, 4, 5), 0.2)
    half = torch.full((2,), 0.5)
    assert B.balance_loss(m_in, m_tg, half).item() == pytest.approx(0.2**2 + 0.3**2)
    # one b for the batch: batch means, as the seed (items at 0.4 and 0.6 average to 0.5)
    m = torch.stack([torch.full((4, 5), 0.4), torch.full((4, 5), 0.6)])
    assert B.balance_loss(m, 1 - m, half).item() == pytest.approx(0.0, abs=1e-12)
    # per-item b: each item against its own b
    b = torch.tensor([0.4, 0.6])
    assert B.balance_loss(m, 1 - m, b).item() == pytest.approx(0.0, abs=1e-12)
    b = torch.tensor([0.5, 0.6])
    assert B.balance_loss(m, 1 - m, b).item() == pytest.approx(2 * 0.1**2 / 2)


def test_energy_balance_sees_what_mask_means_miss() -> None:
    """The seed's failure in numbers: masks average 0.5/0.5 (balance loss 0) while the
    input mask's ones sit on the quiet half of the input, so the input's energy share is
    tiny; the energy balance loss sees it."""
    k, n = 4, 6
    sizes = torch.ones(k)
    p_in = torch.ones(1, k, n)
    p_in[:, :2] = 1e-4  # the input is quiet in bands 0-1
    p_tg = torch.ones(1, k, n)
    m_in = torch.zeros(1, k, n)
    m_in[:, :2] = 1.0  # ... and that is where its mask is open
    m_tg = 1.0 - m_in
    b = torch.tensor([0.5])
    assert B.balance_loss(m_in, m_tg, b).item() == pytest.approx(0.0)
    share = energy_share(m_in, m_tg, p_in, p_tg, sizes).item()
    assert share == pytest.approx(1e-4, rel=1e-3)
    loss = B.energy_balance_loss(m_in, m_tg, p_in, p_tg, sizes, b, local=0.0).item()
    # share' = 1e-3 + 0.998·1e-4 -> logit -6.82 vs logit(0.5) = 0: Huber |e| - 1/2
    eps = 1e-3
    err = math.log((eps + (1 - 2 * eps) * share) / (1 - eps - (1 - 2 * eps) * share))
    assert loss == pytest.approx(abs(err) - 0.5, rel=1e-4)
    # equal powers and masks a, c: share = a² / (a² + c²); inside δ = 1 the loss is e²/2
    ones = torch.ones(1, k, n)
    val = B.energy_balance_loss(ones, 0.5 * ones, ones, ones, sizes, torch.tensor([0.8]))
    assert val.item() == pytest.approx(0.0, abs=1e-6)  # share 1 / 1.25 = 0.8
    val = B.energy_balance_loss(ones, ones, ones, ones, sizes, torch.tensor([0.6]), local=0.0)
    b_eps = eps + (1 - 2 * eps) * 0.6  # share 0.5 (logit 0) vs knob 0.6
    e = math.log(b_eps / (1 - b_eps))
    assert val.item() == pytest.approx(0.5 * e**2, rel=1e-4)


def test_energy_balance_local_term_sees_frames() -> None:
    """Clip share right (0.5) but frame 0 all input, frame 1 all target: the clip term is 0,
    the frame term (window 1) is Huber(±logit(1 - ε)) = 6.907 - 0.5 in both frames; a
    window of 2 frames sees the clip again (0)."""
    k = 3
    sizes = torch.ones(k)
    p_in = torch.tensor([1.0, 0.0]).expand(1, k, 2)
    p_tg = torch.tensor([0.0, 1.0]).expand(1, k, 2)
    ones = torch.ones(1, k, 2)
    b = torch.tensor([0.5])
    assert B.energy_balance_loss(ones, ones, p_in, p_tg, sizes, b, local=0.0).item() == 0.0
    frame = B.energy_balance_loss(ones, ones, p_in, p_tg, sizes, b, window=1, local=1.0)
    assert frame.item() == pytest.approx(math.log(0.999 / 0.001) - 0.5, rel=1e-4)
    whole = B.energy_balance_loss(ones, ones, p_in, p_tg, sizes, b, window=2, local=1.0)
    assert whole.item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="energy_balance_window"):
        B.energy_balance_loss(ones, ones, p_in, p_tg, sizes, b, window=0)


def test_energy_balance_trains_the_knob() -> None:
    """Energy balance alone moves a tiny agent's output share to the knob (b = 0.25, where
    the initial share is about 0.5): within 0.05 after 40 Adam steps. A loss that did not
    reach the masks would fail this."""
    torch.manual_seed(0)
    agent = make_tiny_agent()
    x, y = _pair(0.3, batch=1)
    b = torch.tensor([0.25])
    cfg = _only("energy_balance", energy_balance_local=0.0)  # the clip term alone
    opt = torch.optim.Adam(agent.core.parameters(), lr=2e-2)
    for _ in range(40):
        out = agent(x, y, b)
        total = L.generator_losses(out, x, y, b, cfg, agent)["total"]
        opt.zero_grad()
        total.backward()
        opt.step()
    out = agent(x, y, b)
    share = energy_share(
        out.input_mask,
        out.target_mask,
        out.input_band_power,
        out.target_band_power,
        agent.dsp.band_sizes,
    )
    assert abs(share.item() - 0.25) < 0.05


def test_novelty_hinged_copy_costs_one_noise_costs_nothing() -> None:
    gen = torch.Generator().manual_seed(1)
    p_in = torch.rand(2, 8, 40, generator=gen) + 0.01
    p_tg = torch.rand(2, 8, 40, generator=gen) + 0.01
    noise = torch.rand(2, 8, 40, generator=gen) + 0.01
    # a copy of the input: cos 1 to the input (h = 1), unrelated to the target (h = 0)
    assert L.novelty_loss(p_in, p_in, p_tg).item() == pytest.approx(1.0, abs=1e-4)
    assert L.novelty_loss(noise, p_in, p_tg).item() == 0.0
    # the latent is fixed: a gain on the output changes nothing (standardised log power)
    assert L.novelty_loss(4 * p_in, p_in, p_tg).item() == pytest.approx(1.0, abs=1e-4)
    near = (0.95 * p_in + 0.05 * p_tg).requires_grad_(True)
    loss = L.novelty_loss(near, p_in, p_tg)
    assert 0 < loss.item() < 1
    loss.backward()
    assert near.grad is not None and near.grad.abs().sum() > 0


def test_corr_loss_known_points() -> None:
    env = torch.linspace(0.1, 1.0, 12)
    mag_in = env[None, None, None, :].expand(1, 1, 3, 12).contiguous()
    mag_tg = (1.1 - env)[None, None, None, :].expand(1, 1, 3, 12).contiguous()
    # following the input's envelope and mirroring the target's: (1 - (-1))² = 4
    assert L.corr_loss(mag_in, mag_in, mag_tg).item() == pytest.approx(4.0, abs=1e-4)
    # a flat output envelope correlates with neither: 0
    flat = torch.ones(1, 1, 3, 12)
    assert L.corr_loss(flat, mag_in, mag_tg).item() == pytest.approx(0.0, abs=1e-6)


def _mag(x: np.ndarray) -> torch.Tensor:
    agent = make_tiny_agent()
    return agent.dsp.stft(torch.from_numpy(x)[None]).abs()


def _band_power(x: np.ndarray) -> torch.Tensor:
    agent = make_tiny_agent()
    return agent.dsp.band_power(agent.dsp.stft(torch.from_numpy(x)[None]))


def test_rhythm_and_harmony_zero_for_the_right_copy() -> None:
    bp_in, bp_tg = _band_power(click_track(0.5)), _band_power(chord(0.5))
    mag_in, mag_tg = _mag(click_track(0.5)), _mag(chord(0.5))
    assert L.rhythm_loss(bp_in, bp_in).item() == pytest.approx(0.0, abs=1e-5)
    assert L.harmony_loss(mag_tg, mag_tg, SR, N_FFT).item() == pytest.approx(0.0, abs=1e-5)
    # the chord alone has no onsets after its start, the clicks are broadband: both far off
    assert L.rhythm_loss(bp_tg, bp_in).item() > 0.5
    assert L.harmony_loss(mag_in, mag_tg, SR, N_FFT).item() > 0.2


def test_temporal_loss_floor() -> None:
    still = torch.full((1, 4, 10), 0.5)
    assert L.temporal_loss(still, still).item() == pytest.approx(0.1)
    blink = torch.tensor([0.0, 1.0] * 5).expand(1, 4, 10)
    assert L.temporal_loss(blink, 1 - blink).item() == 0.0


def test_gan_losses_at_zero_logits() -> None:
    disc = _small_disc()
    for scale in disc.scales:
        assert isinstance(scale, ScaleDiscriminator)
        torch.nn.init.zeros_(scale.post.weight)
        assert scale.post.bias is not None
        torch.nn.init.zeros_(scale.post.bias)
    x, y = _pair(0.2)
    d = L.discriminator_losses(disc, torch.cat([x, y]), y)
    assert d["real"].item() == pytest.approx(1.0) and d["fake"].item() == pytest.approx(1.0)
    assert d["total"].item() == pytest.approx(2.0)
    assert L.gan_generator_loss(disc(x)).item() == pytest.approx(1.0)
    big: list[tuple[torch.Tensor, list[torch.Tensor]]] = [(torch.full((1, 1, 2, 3), 2.0), [])]
    assert L.gan_generator_loss(big).item() == 0.0


def test_discriminator_losses_train_the_discriminator() -> None:
    disc = _small_disc()
    x, y = _pair(0.2)
    d = L.discriminator_losses(disc, torch.cat([x, y]), torch.zeros_like(x))
    d["total"].backward()
    grads = [p.grad for p in disc.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0


def test_feature_matching_zero_for_self() -> None:
    disc = _small_disc()
    x, y = _pair(0.2)
    fx = disc(x)
    assert L.feature_matching_loss(fx, [fx]).item() == pytest.approx(0.0, abs=1e-7)
    assert L.feature_matching_loss(fx, [disc(y)]).item() > 0.01


def test_generator_losses_computes_only_weighted_terms_and_total() -> None:
    agent = make_tiny_agent()
    x, y = _pair()
    b = torch.tensor([0.3, 0.6])
    cfg = TrainConfig(corr_weight=0.5, rhythm_weight=2.0)  # seed defaults: target 1, bal 5
    out = agent(x, y, b)
    got = L.generator_losses(out, x, y, b, cfg, agent)
    assert set(got) == {"recon_target", "balance", "corr", "rhythm", "total"}
    expect = got["recon_target"] + 5.0 * got["balance"] + 0.5 * got["corr"] + 2 * got["rhythm"]
    assert got["total"].item() == pytest.approx(expect.item(), rel=1e-6)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in got.values())
    # balance is always there, even at weight 0
    assert "balance" in L.generator_losses(out, x, y, b, _only("mask_reg"), agent)


def test_adversarial_terms_only_when_active() -> None:
    agent, disc = make_tiny_agent(), _small_disc()
    x, y = _pair(0.3)
    b = torch.full((2,), 0.5)
    cfg = TrainConfig(gan_weight=0.1, feature_matching_weight=1.0)
    out = agent(x, y, b)
    assert "gan" not in L.generator_losses(out, x, y, b, cfg, agent, disc, gan_active=False)
    assert "gan" not in L.generator_losses(out, x, y, b, cfg, agent, None, gan_active=True)
    got = L.generator_losses(out, x, y, b, cfg, agent, disc, gan_active=True)
    assert {"gan", "feature_matching"} <= set(got)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("recon_loss", "l1"),
        ("novelty_margin", 1.0),
        ("energy_balance_window", 0),
        ("energy_balance_local", -1.0),
        ("temporal_floor", -0.1),
    ],
)
def test_bad_loss_option_is_named(field: str, value: object) -> None:
    agent = make_tiny_agent()
    x, y = _pair(0.2)
    b = torch.full((2,), 0.5)
    cfg = TrainConfig()
    setattr(cfg, field, value)
    with pytest.raises(ValueError, match=field):
        L.generator_losses(agent(x, y, b), x, y, b, cfg, agent)


@pytest.mark.parametrize("name", sorted(L.LOSS_WEIGHTS))
def test_each_loss_reaches_the_core(name: str) -> None:
    """Every term, alone in ``total``, sends a finite, non-zero gradient to the core's
    output layer (the layer that makes the masks)."""
    agent, disc = make_tiny_agent(), _small_disc()
    x, y = _pair(0.3)
    x = x * torch.tensor([1.0, 0.25])[:, None, None]  # items differ in level
    b = torch.tensor([0.3, 0.7])
    extra = {"recon_loss": "mrstft"} if name == "recon_input" else {}
    cfg = _only(name, **extra)
    # hinged terms are 0 (no gradient) at the defaults here: move their hinges
    if name == "temporal":  # the tiny agent's masks already vary by more than 0.1
        cfg.temporal_floor = 0.45
    if name == "novelty":  # the mix is less than 0.9 similar to either source
        cfg.novelty_margin = 0.0
    out = agent(x, y, b)
    got = L.generator_losses(out, x, y, b, cfg, agent, disc, gan_active=True)
    assert name in got and torch.isfinite(got[name])
    got["total"].backward()
    grad = agent.core.out.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_coherent_share_is_the_least_squares_share() -> None:
    """``coherent_share`` (from masks and band powers) predicts the least-squares share of
    the rendered waveform (``plugin_host.measures.ls_decomposition``): independent noise
    sources, masks with a sparse band for the target. Tolerance 0.03: the cross terms of two
    independent 2 s noises and the STFT's window overlap move it by ~0.01."""
    from model import AgentConfig, CreativeAgent
    from plugin_host.measures import ls_decomposition
    from training.balance_losses import coherent_share

    agent = CreativeAgent(AgentConfig.preset("tiny")).eval()
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 1, 2 * agent.config.sample_rate, generator=gen)
    y = torch.randn(1, 1, 2 * agent.config.sample_rate, generator=gen)
    with torch.no_grad():
        spec_x, spec_y = agent.dsp.stft(x), agent.dsp.stft(y)
        p_x, p_y = agent.dsp.band_power(spec_x), agent.dsp.band_power(spec_y)
        k, n = p_x.shape[1], p_x.shape[2]
        m_in = torch.full((1, k, n), 0.6)
        m_tg = torch.zeros(1, k, n)
        m_tg[:, k // 3 : k // 3 + 2] = 1.0  # a narrow band of ones: sparse
        out = agent.dsp.istft(agent.dsp.mix(spec_x, spec_y, m_in, m_tg), x.shape[-1])
        predicted = float(coherent_share(m_in, m_tg, p_x, p_y, agent.dsp.band_sizes)[0])
    measured = ls_decomposition(out.numpy(), x.numpy(), y.numpy())["share_input"]
    assert measured is not None
    assert abs(predicted - measured) < 0.03, (predicted, measured)
