"""The seed's mask statistics and output correlations, in torch (differentiable where it
makes sense). Numpy twins of ``pearson`` and ``verdict`` live in ``plugin_host/metrics.py``
(the host never imports torch); tests/test_diagnostics.py ties the two.

Masks are the band-grid masks ``Tensor[B, K, N]`` in [0, 1]; band powers are the mean
|X|² per band ``Tensor[B, K, N]`` (``AgentOutput.*_band_power``) and ``band_sizes`` the
number of STFT bins per band ``Tensor[K]``.
"""

from __future__ import annotations

import math

import torch

NOISE_BELOW = 0.2
COPY_RATIO = 2.0


def mask_stats(input_mask: torch.Tensor, target_mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Scalar statistics of a batch of masks (each a 0-dim tensor):

    - ``input_mask_mean``, ``target_mask_mean``: mean mask value (the seed's "Input mask",
      "Target mask"; what its balance loss drives to 0.5/0.5);
    - ``overlap``: mean(M_in · M_tg), how much both sources pass at the same place (0.25 for
      two constant 0.5 masks, 0 for disjoint binary masks);
    - ``complementarity``: 100 · (1 - overlap), in % (75 % for constant 0.5 masks);
    - ``mask_reg``: mean((M_in + M_tg - 1)²) + overlap, the regulariser: masks that split
      each time-frequency cell between the sources score 0 when also disjoint;
    - ``temporal_diversity``: mean over batch, band and mask of the std over frames: 0 for
      masks that never change in time.
    """
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
    input_mask: torch.Tensor,
    target_mask: torch.Tensor,
    input_band_power: torch.Tensor,
    target_band_power: torch.Tensor,
    band_sizes: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
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
    input_mask: torch.Tensor,
    target_mask: torch.Tensor,
    input_band_power: torch.Tensor,
    target_band_power: torch.Tensor,
    band_sizes: torch.Tensor,
    eps: float = 1e-12,
) -> torch.Tensor:
    """Share of the input in the output's energy, E_in / (E_in + E_tg): Tensor[B] in [0, 1].

    This is what the seed's mask-mean balance loss fails to control: masks can average 0.5
    while the input mask's ones sit where the input is quiet.
    """
    e_in, e_tg = masked_energies(
        input_mask, target_mask, input_band_power, target_band_power, band_sizes
    )
    return e_in / (e_in + e_tg + eps)


def pearson(a: torch.Tensor, b: torch.Tensor, per_item: bool = False) -> torch.Tensor:
    """Pearson correlation of flattened waveforms, as the seed's ``torch.corrcoef`` of
    ``reshape(-1)``. ``per_item=True``: one value per batch item, Tensor[B]. A constant
    signal gives NaN here (callers report it as undefined)."""
    if per_item:
        x, y = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    else:
        x, y = a.reshape(1, -1), b.reshape(1, -1)
    x = x - x.mean(dim=1, keepdim=True)
    y = y - y.mean(dim=1, keepdim=True)
    r = (x * y).sum(dim=1) / torch.sqrt(x.square().sum(dim=1) * y.square().sum(dim=1))
    r = r.clamp(-1.0, 1.0)
    return r if per_item else r[0]


def verdict(output_input_corr: float, output_target_corr: float) -> str | None:
    """The seed's rules on |corr| (a polarity-inverted source still counts as present):
    ``noise`` if both < 0.2 (checked first); ``copying_target`` if target > 2× input;
    ``copying_input`` if input > 2× target; else ``mixing``. ``None`` if either is NaN
    (or infinite), as the numpy twin."""
    ri, rt = abs(float(output_input_corr)), abs(float(output_target_corr))
    if not (math.isfinite(ri) and math.isfinite(rt)):
        return None
    if ri < NOISE_BELOW and rt < NOISE_BELOW:
        return "noise"
    if rt > COPY_RATIO * ri:
        return "copying_target"
    if ri > COPY_RATIO * rt:
        return "copying_input"
    return "mixing"
