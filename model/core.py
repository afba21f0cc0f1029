"""The learned core of the agent: band features of both clips + balance -> two band masks.

This is the part exported to ONNX (inputs ``feat_in`` [B, K, N], ``feat_tg`` [B, K, N],
``balance`` [B, N]; outputs ``input_mask``, ``target_mask``). It only looks ``cfg.receptive_frames`` frames to each
side, so a long clip can be processed in overlapping chunks with the same result.
"""

from __future__ import annotations

import torch
from torch import nn

from model.config import AgentConfig

# Contract with plugin_host/runtime.py (ONNX input and output names).
INPUT_NAMES = ("feat_in", "feat_tg", "balance")
OUTPUT_NAMES = ("input_mask", "target_mask")


class ResBlock(nn.Module):
    """h + W2 · GELU(W1 ⋆ h): a dilated temporal conv (kernel k) then a 1×1 conv."""

    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        pad = (kernel_size // 2) * dilation
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation, padding=pad)
        self.mix = nn.Conv1d(channels, channels, 1)
        self.act = nn.GELU()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.mix(self.act(self.conv(h)))


class MaskCore(nn.Module):
    """Predicts ``input_mask`` and ``target_mask`` in [0, 1] on the band grid.

    Features are made level-invariant per frame: both clips' log band powers are taken
    relative to the log of their joint mean power in that frame, so a common gain on both
    clips leaves the masks unchanged (the output then scales with the input) while their
    relative level stays visible. ``balance`` (one value per clip, or one per frame for
    automation) enters as an input channel and as a learned bias ``± scale · logit(balance)``
    on the mask logits of each frame, so the knob acts from the first step of training.
    """

    def __init__(self, cfg: AgentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        k, h = cfg.n_bands, cfg.hidden
        self.inp = nn.Conv1d(2 * k + 1, h, 1)
        self.blocks = nn.ModuleList(ResBlock(h, cfg.kernel_size, 2**i) for i in range(cfg.n_layers))
        self.out = nn.Conv1d(h, 2 * k, 1)
        self.balance_scale = nn.Parameter(torch.tensor(1.0))
        nn.init.zeros_(self.out.weight)
        assert self.out.bias is not None
        nn.init.zeros_(self.out.bias)

    def forward(
        self, feat_in: torch.Tensor, feat_tg: torch.Tensor, balance: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """feat_in, feat_tg: Tensor[B, K, N] (log band power); balance: Tensor[B, N] in
        [0, 1] (per frame), or Tensor[B] (one value per clip, the same as repeating it N times).

        Returns (input_mask, target_mask), each Tensor[B, K, N] in [0, 1].
        """
        k = self.cfg.n_bands
        if balance.dim() == 1:
            balance = balance[:, None].expand(-1, feat_in.shape[-1])
        assert balance.dim() == 2 and balance.shape[-1] == feat_in.shape[-1], (
            f"balance must be [B] or [B, N], got {tuple(balance.shape)} for N = {feat_in.shape[-1]}"
        )
        # joint per-frame level: log mean of exp(features) over bands and both clips
        both = torch.cat([feat_in, feat_tg], dim=1)  # [B, 2K, N]
        ref = torch.logsumexp(both, dim=1, keepdim=True)  # [B, 1, N]
        x = (both - ref) / 10.0
        b = balance.clamp(0.0, 1.0)
        b_chan = b[:, None, :] - 0.5  # [B, 1, N]
        h = self.inp(torch.cat([x, b_chan], dim=1))
        for block in self.blocks:
            h = block(h)
        logits = self.out(h)  # [B, 2K, N]
        bias = self.balance_scale * torch.logit(b.clamp(0.02, 0.98))[:, None, :]
        input_mask = torch.sigmoid(logits[:, :k] + bias)
        target_mask = torch.sigmoid(logits[:, k:] - bias)
        return input_mask, target_mask
