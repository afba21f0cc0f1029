"""The balance terms of the training loss: how the balance knob ``b`` (the input's intended
share, ``Tensor[B]`` in [0, 1]) is held to account.

- ``balance_loss``: the seed's mask means (it constrains mask values, not where their ones
  fall: the seed's failure);
- ``energy_balance_loss``: the input's share of the masked output energy, Σ|M·X|²;
- ``coherent_balance_loss``: the input's least-squares share of the output (what the ear
  follows; it differs from the masked share when a mask is sparse).

Masks and band powers are ``Tensor[B, K, N]`` on the agent's band grid (band powers: mean
|X|² per band), ``band_sizes`` ``Tensor[K]`` (bins per band). Each loss is a 0-dim tensor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from training.torch_measures import energy_share

ENERGY_BALANCE_EPS = 1e-3  # keeps logit(share) finite for a silent source


def balance_loss(input_mask: Tensor, target_mask: Tensor, balance: Tensor) -> Tensor:
    """The seed's mask-mean balance: (mean M_in - b)² + (mean M_tg - (1 - b))².

    masks Tensor[B, K, N] in [0, 1], balance Tensor[B]. With one ``b`` for the whole batch
    the means are over the batch (exactly the seed's formula at b = 0.5); with per-item
    ``b`` each item's means are compared to its own ``b`` and the squares averaged.
    It only constrains mask *values*, not where their ones fall (the seed's failure).
    """
    assert input_mask.shape == target_mask.shape and input_mask.dim() == 3
    assert balance.shape == (input_mask.shape[0],), f"balance {tuple(balance.shape)}"
    m_in, m_tg = input_mask.mean(dim=(1, 2)), target_mask.mean(dim=(1, 2))
    d_in, d_tg = m_in - balance, m_tg - (1.0 - balance)
    if bool((balance == balance[0]).all()):
        return d_in.mean().square() + d_tg.mean().square()
    return (d_in.square() + d_tg.square()).mean()


def _logit_error(share: Tensor, balance: Tensor) -> Tensor:
    """logit(share') - logit(b') with x' = ε + (1 - 2ε)·x (ε = ``ENERGY_BALANCE_EPS``)."""
    eps = ENERGY_BALANCE_EPS
    return torch.logit(eps + (1 - 2 * eps) * share) - torch.logit(eps + (1 - 2 * eps) * balance)


def energy_balance_loss(
    input_mask: Tensor,
    target_mask: Tensor,
    input_band_power: Tensor,
    target_band_power: Tensor,
    band_sizes: Tensor,
    balance: Tensor,
    window: int = 1,
    local: float = 1.0,
) -> Tensor:
    """Output energy share of the input vs the knob, on the logit scale: clip + local terms.

    share = E_in / (E_in + E_tg), the input's share of the output's energy after masking
    (``training.torch_measures.energy_share``; E = Σ|M·X|² over the STFT grid). Error
    e = logit(share') - logit(b') with x' = ε + (1 - 2ε)·x (ε = 1e-3: a silent source gives
    a finite error), i.e. ln(E_in / E_tg) against ln(b / (1 - b)); ρ = Huber (δ = 1):
    e²/2 for |e| < 1, |e| - 1/2 beyond.

    - clip term: mean over items of ρ(e) for the whole clip's share (what the knob means);
    - local term (× ``local``): the same error for windows of ``window`` frames (hop
      ``window // 2``, at least 1), averaged over the windows of an item with weights
      proportional to their unmasked energy (silence does not count), then over items.

    A share right in every window is right for the clip, and it is a rule the per-frame
    mask net can learn from what it sees, so it carries over to unseen material; the
    whole-clip term alone left the share ~0.1 under the knob on held-out kits and
    timbres (docs/losses.md). Tensors [B, K, N], band_sizes [K], balance [B].
    Share 0.4 or 0.6 at b = 0.5 costs 0.082 per term; a source 24 dB louder than the other,
    unmasked, about 5. The logit scale keeps the gradient alive where the share saturates
    (clips ±12 dB apart), which a squared share error would not.

    Unlike ``balance_loss`` this sees *where* the masks pass energy, so it fixes the seed's
    root cause (an input mask of ones where the input is quiet).
    """
    if window < 1:
        raise ValueError(f"energy_balance_window must be >= 1, got {window}")
    share = energy_share(input_mask, target_mask, input_band_power, target_band_power, band_sizes)
    err = _logit_error(share, balance)
    loss = F.huber_loss(err, torch.zeros_like(err), delta=1.0)
    if local <= 0:
        return loss
    w = band_sizes[None, :, None]
    e_in = (input_mask.square() * input_band_power * w).sum(dim=1)  # [B, N]
    e_tg = (target_mask.square() * target_band_power * w).sum(dim=1)
    raw = ((input_band_power + target_band_power) * w).sum(dim=1)
    size = min(window, e_in.shape[-1])
    stride = max(1, size // 2)

    def pool(e: Tensor) -> Tensor:
        return F.avg_pool1d(e[:, None], size, stride)[:, 0]  # [B, W]

    p_in, p_tg, p_raw = pool(e_in), pool(e_tg), pool(raw)
    err_w = _logit_error(p_in / (p_in + p_tg + 1e-12), balance[:, None])
    weight = (p_raw / p_raw.sum(dim=1, keepdim=True).clamp_min(1e-20)).detach()
    huber = F.huber_loss(err_w, torch.zeros_like(err_w), delta=1.0, reduction="none")
    return loss + local * (weight * huber).sum(dim=1).mean()


def coherent_share(
    input_mask: Tensor,
    target_mask: Tensor,
    input_band_power: Tensor,
    target_band_power: Tensor,
    band_sizes: Tensor,
) -> Tensor:
    """The input's least-squares share of the output, from masks: Tensor[B] in [0, 1].

    For out = M_in·X_in + M_tg·X_tg with independent sources, least squares
    out ≈ a·x_in + b·x_tg gives a = Σ M_in |X_in|² / Σ |X_in|² (the source's energy-weighted
    mean mask), likewise b, and share = a² E_in / (a² E_in + b² E_tg) with E the unmasked
    energies: the report's ``share_input`` (what the ear follows). It differs from the
    masked energy share (Σ M²|X|²) when a mask is sparse: a target mask of a few ones in
    a narrow band passes energy without passing the target as a whole.
    Tensors [B, K, N] (band powers: mean |X|² per band), band_sizes [K].
    """
    w = band_sizes[None, :, None]
    e_in = (input_band_power * w).sum(dim=(1, 2))
    e_tg = (target_band_power * w).sum(dim=(1, 2))
    a = (input_mask * input_band_power * w).sum(dim=(1, 2)) / e_in.clamp_min(1e-20)
    b = (target_mask * target_band_power * w).sum(dim=(1, 2)) / e_tg.clamp_min(1e-20)
    c_in, c_tg = a.square() * e_in, b.square() * e_tg
    return c_in / (c_in + c_tg + 1e-12)


def coherent_balance_loss(
    input_mask: Tensor,
    target_mask: Tensor,
    input_band_power: Tensor,
    target_band_power: Tensor,
    band_sizes: Tensor,
    balance: Tensor,
) -> Tensor:
    """Huber(logit(coherent share') - logit(b')), averaged over items (``_logit_error``).

    The companion of ``energy_balance_loss``: that one makes the masked energy share follow
    the knob, this one the least-squares share (``coherent_share``). Together they leave no
    room for a sparse mask that looks balanced by energy while the listener hears one
    source (issue: real instruments, knob 0.5 read 0.68 by least squares, 0.57 masked)."""
    share = coherent_share(input_mask, target_mask, input_band_power, target_band_power, band_sizes)
    err = _logit_error(share, balance)
    return F.huber_loss(err, torch.zeros_like(err), delta=1.0)
