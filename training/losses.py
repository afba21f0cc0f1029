"""Training losses of the creative agent: one documented function per term, and
``generator_losses`` / ``discriminator_losses`` that return them as a named dict.

Conventions: audio ``Tensor[B, C, T]`` (float, full scale 1.0, at the agent's sample
rate); masks and band powers ``Tensor[B, K, N]`` on the agent's band grid; the balance
control ``b`` is ``Tensor[B]`` in [0, 1] (the input's intended share; 0.5 = 50/50).
Every loss is a 0-dim tensor, unweighted; ``generator_losses`` adds ``total`` = Σ w·loss
with the weights of ``TrainConfig`` named in ``LOSS_WEIGHTS``.

The three balance terms (the seed's mask means, the masked energy share, the least-squares
share) live in ``training/balance_losses.py``. Spectral losses use the agent's own STFT (``agent.dsp``: Hann, n_fft, hop); the onset
envelope, chroma, correlation, mask statistics and energy share come from
``training/torch_measures.py``, the torch twins of ``plugin_host.measures`` (tests tie
them).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from model.agent import AgentOutput, CreativeAgent
from training.balance_losses import balance_loss, coherent_balance_loss, energy_balance_loss
from training.config import TrainConfig
from training.torch_measures import (
    band_onset_envelope,
    chroma,
    chroma_cosine,
    mask_stats,
    pearson_rows,
)

# loss name -> TrainConfig field holding its weight
LOSS_WEIGHTS: dict[str, str] = {
    "recon_input": "loss_weight_input",
    "recon_target": "loss_weight_target",
    "balance": "balance_loss_weight",
    "novelty": "novelty_weight",
    "corr": "corr_weight",
    "gan": "gan_weight",
    "feature_matching": "feature_matching_weight",
    "mask_reg": "mask_reg_weight",
    "temporal": "temporal_weight",
    "coherent_balance": "coherent_balance_weight",
    "energy_balance": "energy_balance_weight",
    "rhythm": "rhythm_weight",
    "harmony": "harmony_weight",
}
ADVERSARIAL = ("gan", "feature_matching")

# (n_fft, hop) of the multi-resolution STFT reconstruction loss, in samples
MRSTFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))
NOVELTY_SEED = 1234  # seeds the fixed random projection of the novelty latent space
NOVELTY_DIM = 64  # channels of that latent space
_EPS = 1e-8


# ----------------------------------------------------------------------------- helpers


def _magnitude(spec: Tensor) -> Tensor:
    """complex Tensor[...] -> |X| with a floor inside the root (finite gradient at 0)."""
    return torch.sqrt(spec.real.square() + spec.imag.square() + 1e-12)


# ------------------------------------------------------------------------- the losses


def recon_mse(output: Tensor, reference: Tensor) -> Tensor:
    """The seed's reconstruction: mean((y - x)²) over all samples of Tensor[B, C, T]
    (units: squared full scale)."""
    assert output.shape == reference.shape, f"{tuple(output.shape)} vs {tuple(reference.shape)}"
    return F.mse_loss(output, reference)


def recon_mrstft(
    output: Tensor, reference: Tensor, resolutions: tuple[tuple[int, int], ...] = MRSTFT_RESOLUTIONS
) -> Tensor:
    """Multi-resolution STFT loss of Tensor[B, C, T] against Tensor[B, C, T].

    For each (n_fft, hop) in ``resolutions`` (samples, Hann window):
    ‖|Y| - |X|‖_F / ‖|X|‖_F (spectral convergence) + mean |log|Y| - log|X|| (log magnitude,
    natural log, |·| floored at 1e-5); averaged over resolutions. 0 iff equal magnitudes.
    """
    assert output.shape == reference.shape, f"{tuple(output.shape)} vs {tuple(reference.shape)}"
    b, c, t = output.shape
    y, x = output.reshape(b * c, t), reference.reshape(b * c, t)
    total = output.new_zeros(())
    for n_fft, hop in resolutions:
        win = torch.hann_window(n_fft, periodic=True, dtype=output.dtype, device=output.device)
        sy = _magnitude(torch.stft(y, n_fft, hop, window=win, return_complex=True))
        sx = _magnitude(torch.stft(x, n_fft, hop, window=win, return_complex=True))
        sc = torch.linalg.norm(sy - sx) / (torch.linalg.norm(sx) + _EPS)
        logmag = (torch.log(sy.clamp_min(1e-5)) - torch.log(sx.clamp_min(1e-5))).abs().mean()
        total = total + sc + logmag
    return total / len(resolutions)


def novelty_loss(
    out_band_power: Tensor, in_band_power: Tensor, tg_band_power: Tensor, margin: float = 0.9
) -> Tensor:
    """Hinged similarity to either source in a fixed random latent space.

    Latent of a clip: its log band power (the agent's K mel bands, Tensor[B, K, N]),
    standardised per item (zero mean, unit variance over bands × frames), then a fixed
    random 1-D conv over frames (K → 64 channels, kernel 5, weights drawn from a generator
    seeded with ``NOVELTY_SEED``, so the space is the same in every process and run) and
    tanh; flattened per item. Loss = mean over items of h(cos(z_out, z_in)) +
    h(cos(z_out, z_tg)) with h(s) = max(0, s - margin) / (1 - margin): 0 until the output is
    more than ``margin`` similar to a source, 1 per copied source. Hinged so that it cannot
    be satisfied by drifting towards noise: anything below the margin costs nothing.
    """
    assert out_band_power.shape == in_band_power.shape == tg_band_power.shape
    assert out_band_power.dim() == 3, f"expected [B, K, N], got {tuple(out_band_power.shape)}"
    k = out_band_power.shape[1]
    gen = torch.Generator().manual_seed(NOVELTY_SEED)
    weight = torch.randn(NOVELTY_DIM, k, 5, generator=gen) / math.sqrt(5 * k)
    weight = weight.to(dtype=out_band_power.dtype, device=out_band_power.device)

    def latent(band_power: Tensor) -> Tensor:
        logp = torch.log(band_power + 1e-10)
        logp = logp - logp.mean(dim=(1, 2), keepdim=True)
        logp = logp / (logp.std(dim=(1, 2), keepdim=True) + 1e-5)
        return torch.tanh(F.conv1d(logp, weight, padding=2)).flatten(1)

    z_out = latent(out_band_power)
    with torch.no_grad():
        z_in, z_tg = latent(in_band_power), latent(tg_band_power)
    hinge = [F.relu(F.cosine_similarity(z_out, z, dim=1) - margin) for z in (z_in, z_tg)]
    return ((hinge[0] + hinge[1]) / (1.0 - margin)).mean()


def frame_envelope(mag: Tensor) -> Tensor:
    """Amplitude envelope: |STFT| Tensor[B, C, F, N] -> frame RMS over bins and channels,
    Tensor[B, N] (linear amplitude)."""
    return torch.sqrt(mag.square().mean(dim=(1, 2)) + 1e-12)


def corr_loss(out_mag: Tensor, in_mag: Tensor, tg_mag: Tensor) -> Tensor:
    """Envelope-copying penalty: mean over items of (r_in - r_tg)², r_s the Pearson
    correlation of the output's frame envelope with source s's (``frame_envelope``).
    0 when the output's loudness contour follows both sources equally, up to 4 when it
    follows one and mirrors the other. mags: Tensor[B, C, F, N]."""
    env_out = frame_envelope(out_mag)
    with torch.no_grad():
        env_in, env_tg = frame_envelope(in_mag), frame_envelope(tg_mag)
    r_in, r_tg = pearson_rows(env_out, env_in), pearson_rows(env_out, env_tg)
    return (r_in - r_tg).square().mean()


def rhythm_loss(out_band_power: Tensor, in_band_power: Tensor) -> Tensor:
    """1 - Pearson(band onset envelope of the output, of the input), averaged over items:
    0 when the output's onsets follow the input's exactly, 2 when reversed.
    Band powers Tensor[B, K, N] (``band_onset_envelope`` defines the envelope)."""
    with torch.no_grad():
        env_in = band_onset_envelope(in_band_power)
    return (1.0 - pearson_rows(band_onset_envelope(out_band_power), env_in)).mean()


def harmony_loss(out_mag: Tensor, tg_mag: Tensor, sample_rate: int, n_fft: int) -> Tensor:
    """1 - mean frame-wise cosine of the output's chroma with the target's (``chroma``,
    ``chroma_cosine``), averaged over items; in [0, 1] since chroma is non-negative.
    mags: |STFT| Tensor[B, C, F, N] at ``n_fft`` samples and ``sample_rate`` Hz."""
    with torch.no_grad():
        c_tg = chroma(tg_mag, sample_rate, n_fft)
    return (1.0 - chroma_cosine(chroma(out_mag, sample_rate, n_fft), c_tg)).mean()


def temporal_loss(input_mask: Tensor, target_mask: Tensor, floor: float = 0.1) -> Tensor:
    """Rewards masks that change in time: max(0, floor - temporal_diversity), with
    ``temporal_diversity`` from ``training.torch_measures.mask_stats`` (mean std over frames).
    0 once the masks vary by ``floor`` on average; ``floor`` for static masks."""
    return F.relu(floor - mask_stats(input_mask, target_mask)["temporal_diversity"])


def gan_generator_loss(fake_outputs: list[tuple[Tensor, list[Tensor]]]) -> Tensor:
    """Hinge generator loss, mean over scales of mean(max(0, 1 - D(y))): 0 once the
    discriminator scores the output as real by a margin. Input: the discriminator's
    output on the generated audio."""
    losses = [F.relu(1.0 - logits).mean() for logits, _ in fake_outputs]
    return torch.stack(losses).mean()


def feature_matching_loss(
    fake_outputs: list[tuple[Tensor, list[Tensor]]],
    reference_outputs: list[list[tuple[Tensor, list[Tensor]]]],
) -> Tensor:
    """Time-pooled feature matching against each reference clip (EnCodec's relative L1).

    For every scale and layer, features [B, ch, R, N] are averaged over frames; the loss is
    mean |pool(f_out) - pool(f_ref)| / mean |pool(f_ref)|, averaged over layers, scales and
    references. Pooling over time asks the output for the references' texture statistics
    without asking it to copy their time course (there is no true mix to match).
    """
    terms: list[Tensor] = []
    for ref in reference_outputs:
        for (_, f_fake), (_, f_ref) in zip(fake_outputs, ref, strict=True):
            for a, r in zip(f_fake, f_ref, strict=True):
                pa, pr = a.mean(dim=-1), r.detach().mean(dim=-1)
                terms.append((pa - pr).abs().mean() / (pr.abs().mean() + _EPS))
    return torch.stack(terms).mean()


# ----------------------------------------------------------------------- the two dicts


def check_loss_options(cfg: TrainConfig) -> None:
    """Raise ValueError naming the field if a loss option of ``cfg`` is out of range."""
    if cfg.recon_loss not in ("mse", "mrstft"):
        raise ValueError(f"recon_loss must be 'mse' or 'mrstft', got {cfg.recon_loss!r}")
    if not 0.0 <= cfg.novelty_margin < 1.0:
        raise ValueError(f"novelty_margin must be in [0, 1), got {cfg.novelty_margin}")
    if cfg.energy_balance_window < 1:
        raise ValueError(f"energy_balance_window must be >= 1, got {cfg.energy_balance_window}")
    if cfg.energy_balance_local < 0 or cfg.temporal_floor < 0:
        name = "energy_balance_local" if cfg.energy_balance_local < 0 else "temporal_floor"
        raise ValueError(f"{name} must be >= 0, got {getattr(cfg, name)}")


def _mask_losses(
    out: AgentOutput, balance: Tensor, cfg: TrainConfig, agent: CreativeAgent, want: set[str]
) -> dict[str, Tensor]:
    """The terms of ``want`` computed from the masks alone: ``mask_reg``, ``temporal`` and the
    two balance terms on band energies (``energy_balance``, ``coherent_balance``)."""
    losses: dict[str, Tensor] = {}
    m_in, m_tg = out.input_mask, out.target_mask
    powers = (out.input_band_power, out.target_band_power, agent.dsp.band_sizes)
    if "mask_reg" in want:
        losses["mask_reg"] = mask_stats(m_in, m_tg)["mask_reg"]
    if "temporal" in want:
        losses["temporal"] = temporal_loss(m_in, m_tg, cfg.temporal_floor)
    if "energy_balance" in want:
        losses["energy_balance"] = energy_balance_loss(
            m_in, m_tg, *powers, balance,
            window=cfg.energy_balance_window, local=cfg.energy_balance_local,
        )  # fmt: skip
    if "coherent_balance" in want:
        losses["coherent_balance"] = coherent_balance_loss(m_in, m_tg, *powers, balance)
    return losses


def generator_losses(
    out: AgentOutput,
    input: Tensor,
    target: Tensor,
    balance: Tensor,
    cfg: TrainConfig,
    agent: CreativeAgent,
    disc: nn.Module | None = None,
    gan_active: bool = False,
) -> dict[str, Tensor]:
    """All generator-side losses of one batch, by name, plus ``total``.

    out: the agent's forward on (input, target, balance); input, target: Tensor[B, C, T];
    balance: Tensor[B]. Computes each loss of ``LOSS_WEIGHTS`` whose ``cfg`` weight is > 0
    (``balance`` always, as the seed logs it); ``gan`` and ``feature_matching`` only when
    ``gan_active`` (the trainer switches them on after ``cfg.gan_warmup_epochs``) and
    ``disc`` is given. ``total`` = Σ weight · loss over the computed terms.
    """
    b = input.shape[0]
    assert target.shape == input.shape == out.audio.shape, "input, target, output shapes differ"
    assert balance.shape == (b,), f"balance must be Tensor[{b}], got {tuple(balance.shape)}"
    weights = {name: float(getattr(cfg, field)) for name, field in LOSS_WEIGHTS.items()}
    check_loss_options(cfg)
    want = {name for name, w in weights.items() if w > 0} | {"balance"}
    if not (gan_active and disc is not None):
        want -= set(ADVERSARIAL)

    spectral = {"novelty", "corr", "rhythm", "harmony"}
    mags: dict[str, Tensor] = {}
    out_band_power = out.input_band_power  # replaced below when a spectral term needs it
    if want & spectral:
        spec_out = agent.dsp.stft(out.audio)
        mags["out"] = _magnitude(spec_out)
        out_band_power = agent.dsp.band_power(spec_out)
        if want & {"corr", "harmony"}:
            with torch.no_grad():
                mags["in"] = _magnitude(agent.dsp.stft(input))
                mags["tg"] = _magnitude(agent.dsp.stft(target))

    recon = recon_mse if cfg.recon_loss == "mse" else recon_mrstft
    losses: dict[str, Tensor] = {}
    if "recon_input" in want:
        losses["recon_input"] = recon(out.audio, input)
    if "recon_target" in want:
        losses["recon_target"] = recon(out.audio, target)
    losses["balance"] = balance_loss(out.input_mask, out.target_mask, balance)
    if "novelty" in want:
        losses["novelty"] = novelty_loss(
            out_band_power,
            out.input_band_power.detach(),
            out.target_band_power.detach(),
            cfg.novelty_margin,
        )
    if "corr" in want:
        losses["corr"] = corr_loss(mags["out"], mags["in"], mags["tg"])
    if want & set(ADVERSARIAL):
        assert disc is not None
        fake = disc(out.audio)
        if "gan" in want:
            losses["gan"] = gan_generator_loss(fake)
        if "feature_matching" in want:
            with torch.no_grad():
                refs = [disc(input), disc(target)]
            losses["feature_matching"] = feature_matching_loss(fake, refs)
    losses.update(_mask_losses(out, balance, cfg, agent, want))
    if "rhythm" in want:
        losses["rhythm"] = rhythm_loss(out_band_power, out.input_band_power.detach())
    if "harmony" in want:
        sr, n_fft = agent.config.sample_rate, agent.config.n_fft
        losses["harmony"] = harmony_loss(mags["out"], mags["tg"], sr, n_fft)

    total = out.audio.new_zeros(())
    for name, value in losses.items():
        total = total + weights[name] * value
    losses["total"] = total
    return losses


def discriminator_losses(disc: nn.Module, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
    """Hinge loss of the discriminator: ``real`` = mean over scales of
    mean(max(0, 1 - D(x))), ``fake`` = mean over scales of mean(max(0, 1 + D(y))),
    ``total`` = real + fake.

    real: Tensor[B', C, T] clips of real music. There is no true mix to show it, so pass
    the *sources*: ``torch.cat([input, target])`` (both are real recordings; the output
    should sound like music, not like either of them in particular).
    fake: Tensor[B, C, T] the agent's output, detached (``out.audio.detach()``).
    """
    assert real.dim() == 3 and fake.dim() == 3, "real and fake must be [B, C, T]"
    loss_real = torch.stack([F.relu(1.0 - lg).mean() for lg, _ in disc(real)]).mean()
    loss_fake = torch.stack([F.relu(1.0 + lg).mean() for lg, _ in disc(fake)]).mean()
    return {"real": loss_real, "fake": loss_fake, "total": loss_real + loss_fake}
