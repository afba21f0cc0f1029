"""Torch twins of the host's measures (``plugin_host/measures``), for training: batched,
on the device, differentiable where a loss needs it. Constants and the chroma bin layout
come from ``plugin_host.measures`` (the definitions); tests/test_diagnostics.py and
tests/test_losses.py tie every twin to its numpy definition. The verdict takes floats, so
training calls ``plugin_host.measures.verdict`` itself (NaN counts as undefined).

Masks are the band-grid masks ``Tensor[B, K, N]`` in [0, 1]; band powers the mean |X|²
per band ``Tensor[B, K, N]`` (``AgentOutput.*_band_power``); ``band_sizes`` the STFT bins
per band ``Tensor[K]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from plugin_host.measures import ONSET_GAIN, chroma_notes
from plugin_host.measures.constants import CHROMA_FLOOR

# ------------------------------------------------------------------- correlation


def pearson_rows(a: Tensor, b: Tensor, floor: float = 1e-20) -> Tensor:
    """Pearson correlation of each row: a, b Tensor[B, L] -> Tensor[B].

    ``floor`` is added under the root of the denominator: with the default a constant row
    gives 0 (a finite loss where the correlation is undefined); with 0 it gives NaN.
    """
    assert a.shape == b.shape and a.dim() == 2, f"{tuple(a.shape)} vs {tuple(b.shape)}"
    x = a - a.mean(dim=1, keepdim=True)
    y = b - b.mean(dim=1, keepdim=True)
    num = (x * y).sum(dim=1)
    return num / torch.sqrt(x.square().sum(dim=1) * y.square().sum(dim=1) + floor)


def pearson(a: Tensor, b: Tensor, per_item: bool = False) -> Tensor:
    """``plugin_host.measures.pearson`` of flattened waveforms (the seed's
    ``torch.corrcoef`` of ``reshape(-1)``), clipped to [-1, 1]; ``per_item=True``: one
    value per batch item, Tensor[B]. Undefined (a constant signal) is NaN here."""
    if per_item:
        x, y = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    else:
        x, y = a.reshape(1, -1), b.reshape(1, -1)
    r = pearson_rows(x, y, floor=0.0).clamp(-1.0, 1.0)
    return r if per_item else r[0]


# ------------------------------------------------------------------------- masks


def mask_stats(input_mask: Tensor, target_mask: Tensor) -> dict[str, Tensor]:
    """``plugin_host.measures.MaskStats``' statistics of a batch of masks (0-dim tensors,
    differentiable): ``input_mask_mean``, ``target_mask_mean``, ``overlap``
    (mean M_in · M_tg), ``complementarity`` (100 · (1 - overlap), %), ``mask_reg``
    (mean((M_in + M_tg - 1)²) + overlap: 0 for masks that split each cell and are
    disjoint), ``temporal_diversity`` (mean over batch, band and mask of the std over
    frames; 0 for one frame). The masked share is :func:`energy_share`."""
    assert input_mask.shape == target_mask.shape and input_mask.dim() == 3
    overlap = (input_mask * target_mask).mean()
    mask_reg = (input_mask + target_mask - 1.0).square().mean() + overlap
    if input_mask.shape[-1] > 1:
        temporal = 0.5 * (input_mask.std(dim=-1).mean() + target_mask.std(dim=-1).mean())
    else:
        temporal = torch.zeros((), dtype=input_mask.dtype, device=input_mask.device)
    return {
        "input_mask_mean": input_mask.mean(),
        "target_mask_mean": target_mask.mean(),
        "overlap": overlap,
        "complementarity": 100.0 * (1.0 - overlap),
        "mask_reg": mask_reg,
        "temporal_diversity": temporal,
    }


def masked_energies(
    input_mask: Tensor,
    target_mask: Tensor,
    input_band_power: Tensor,
    target_band_power: Tensor,
    band_sizes: Tensor,
) -> tuple[Tensor, Tensor]:
    """E_in = Σ|M_in · X_in|², E_tg = Σ|M_tg · X_tg|² per item: two Tensor[B].

    Exact on the STFT grid because a band mask is constant over its bins:
    Σ_bins |M X|² = M_k² · size_k · mean_power_k (band powers are channel means, so these
    are per-channel energies).
    """
    w = band_sizes[None, :, None]
    e_in = (input_mask.square() * input_band_power * w).sum(dim=(1, 2))
    e_tg = (target_mask.square() * target_band_power * w).sum(dim=(1, 2))
    return e_in, e_tg


def energy_share(
    input_mask: Tensor,
    target_mask: Tensor,
    input_band_power: Tensor,
    target_band_power: Tensor,
    band_sizes: Tensor,
    eps: float = 1e-12,
) -> Tensor:
    """``masked_share_input`` of ``plugin_host.measures.MaskStats`` per item: E_in /
    (E_in + E_tg), Tensor[B] in [0, 1] (0, not undefined, when both are silent: ``eps``).

    This is what the seed's mask-mean balance loss fails to control: masks can average 0.5
    while the input mask's ones sit where the input is quiet.
    """
    e_in, e_tg = masked_energies(
        input_mask, target_mask, input_band_power, target_band_power, band_sizes
    )
    return e_in / (e_in + e_tg + eps)


# --------------------------------------------------------------- rhythm, harmony


def band_onset_envelope(band_power: Tensor) -> Tensor:
    """``plugin_host.measures.band_onset_envelope`` per item: band_power Tensor[B, K, N]
    -> Tensor[B, N], the half-wave rectified frame-to-frame rise of
    log(1 + 100·sqrt(P)) (``ONSET_GAIN``) summed over bands; frame 0 is 0. (A 1e-12 floor
    under the root keeps the gradient finite at 0.)"""
    assert band_power.dim() == 3, f"expected [B, K, N], got {tuple(band_power.shape)}"
    logp = torch.log1p(ONSET_GAIN * torch.sqrt(band_power.clamp_min(0.0) + 1e-12))
    flux = F.relu(logp[..., 1:] - logp[..., :-1]).sum(dim=1)  # [B, N-1]
    return F.pad(flux, (1, 0))


def chroma_matrix(sample_rate: int, n_fft: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Folding matrix Tensor[12, F]: 1 where STFT bin f has pitch class c, else 0 (the bins
    and classes of ``plugin_host.measures.chroma_notes``: 55-5000 Hz, C = 0)."""
    n_freq = n_fft // 2 + 1
    bins, notes = chroma_notes(n_freq, sample_rate, n_fft)
    mat = torch.zeros(12, n_freq, dtype=dtype)
    mat[torch.from_numpy(notes % 12), torch.from_numpy(bins)] = 1.0
    return mat


def chroma(mag: Tensor, sample_rate: int, n_fft: int) -> Tensor:
    """``plugin_host.measures.chroma`` per item: |STFT| Tensor[B, C, F, N] ->
    Tensor[B, 12, N], power |X|² of the chroma bins summed per pitch class and channels."""
    assert mag.dim() == 4, f"expected [B, C, F, N], got {tuple(mag.shape)}"
    power = mag.square().sum(dim=1)  # [B, F, N]
    fold = chroma_matrix(sample_rate, n_fft, power.dtype).to(power.device)
    return torch.einsum("cf,bfn->bcn", fold, power)


def chroma_cosine(chroma_a: Tensor, chroma_b: Tensor) -> Tensor:
    """``plugin_host.measures.ChromaCosine`` per item: chromagrams Tensor[B, 12, N] ->
    Tensor[B], the mean frame-wise cosine over frames where both norms are above
    ``CHROMA_FLOOR`` × the item's largest norm (an item with no such frame gives 0, where
    the numpy measure is undefined)."""
    na, nb = chroma_a.norm(dim=1), chroma_b.norm(dim=1)  # [B, N]
    cos = (chroma_a * chroma_b).sum(dim=1) / (na * nb + 1e-20)
    with torch.no_grad():
        top = torch.maximum(na.amax(dim=1), nb.amax(dim=1)).clamp_min(1e-30)[:, None]
        ok = ((na > CHROMA_FLOOR * top) & (nb > CHROMA_FLOOR * top)).to(cos.dtype)
    return (cos * ok).sum(dim=1) / ok.sum(dim=1).clamp_min(1.0)
