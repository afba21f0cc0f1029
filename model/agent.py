"""The creative agent: DSP (model/dsp.py) around the learned core (model/core.py)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from model.config import AgentConfig
from model.core import MaskCore
from model.dsp import AgentDSP


class AgentOutput(NamedTuple):
    """What one forward pass returns.

    audio: Tensor[B, C, T], the mix, same length and channels as the inputs.
    input_mask, target_mask: Tensor[B, K, N] in [0, 1] on the band grid (K bands,
        N = 1 + T // hop frames); expand with ``agent.dsp.expand`` for [B, F, N].
    input_band_power, target_band_power: Tensor[B, K, N], mean |X|² per band (for the
        energy-share diagnostics and losses; ``band_sizes`` turns means into sums).
    """

    audio: torch.Tensor
    input_mask: torch.Tensor
    target_mask: torch.Tensor
    input_band_power: torch.Tensor
    target_band_power: torch.Tensor


def _as_balance(
    balance: torch.Tensor | float, batch: int, frames: int, like: torch.Tensor
) -> torch.Tensor:
    """A float, Tensor[B] (one knob per clip) or Tensor[B, N] (one per frame) as given,
    checked; a float becomes Tensor[B]."""
    if not isinstance(balance, torch.Tensor):
        balance = torch.tensor(float(balance))
    balance = balance.to(dtype=like.dtype, device=like.device)
    if balance.dim() == 0:
        balance = balance.expand(batch)
    if balance.shape not in ((batch,), (batch, frames)):
        raise ValueError(
            f"balance must be a float, Tensor[B] or Tensor[B, N] with B = {batch}, "
            f"N = {frames}, got {tuple(balance.shape)}"
        )
    return balance


class CreativeAgent(nn.Module):
    """Mixes INPUT (rhythm, structure) and TARGET (harmony) through two predicted masks.

    ``CreativeAgent(AgentConfig.preset("small"))``; the config is the whole constructor.
    """

    def __init__(self, config: AgentConfig | None = None) -> None:
        super().__init__()
        self.config = config or AgentConfig()
        self.dsp = AgentDSP(self.config)
        self.core = MaskCore(self.config)

    def forward(
        self, input: torch.Tensor, target: torch.Tensor, balance: torch.Tensor | float = 0.5
    ) -> AgentOutput:
        """input, target: Tensor[B, C, T] at ``config.sample_rate`` (C = 1 or 2, same shape);
        balance: float, Tensor[B] or Tensor[B, N] (per STFT frame, N = 1 + T // hop) in
        [0, 1], the input's intended share (0.5 = 50/50)."""
        if input.dim() != 3 or input.shape != target.shape:
            raise ValueError(
                f"input and target must both be [B, C, T] of one shape, got "
                f"{tuple(input.shape)} and {tuple(target.shape)}"
            )
        if input.shape[1] not in (1, 2):
            raise ValueError(f"1 or 2 channels supported, got {input.shape[1]}")
        b, _, t = input.shape
        bal = _as_balance(balance, b, 1 + t // self.config.hop, input)
        spec_in, spec_tg = self.dsp.stft(input), self.dsp.stft(target)
        pow_in, pow_tg = self.dsp.band_power(spec_in), self.dsp.band_power(spec_tg)
        m_in, m_tg = self.core(self.dsp.log_features(pow_in), self.dsp.log_features(pow_tg), bal)
        audio = self.dsp.istft(self.dsp.mix(spec_in, spec_tg, m_in, m_tg), length=t)
        return AgentOutput(audio, m_in, m_tg, pow_in, pow_tg)

    @torch.inference_mode()
    def inference(
        self, input_audio: torch.Tensor, target_audio: torch.Tensor, balance: float = 0.5
    ) -> torch.Tensor:
        """The seed's quick-test call: plain tensors [T], [C, T] or [B, C, T] in, same out.

        The target is looped or trimmed to the input's length.
        """
        if input_audio.dim() > 3 or target_audio.dim() != input_audio.dim():
            raise ValueError("input_audio and target_audio must both be [T], [C, T] or [B, C, T]")
        rank = input_audio.dim()
        x, y = input_audio, target_audio
        while x.dim() < 3:
            x, y = x.unsqueeze(0), y.unsqueeze(0)
        if y.shape[1] != x.shape[1]:
            y = (
                y.mean(dim=1, keepdim=True).expand(-1, x.shape[1], -1)
                if x.shape[1] == 2
                else y.mean(1, keepdim=True)
            )
        t = x.shape[-1]
        if y.shape[-1] < t:
            reps = -(-t // y.shape[-1])
            y = y.repeat(1, 1, reps)
        y = y[..., :t].contiguous()
        out = self(x.float(), y.float(), balance).audio
        while out.dim() > rank:
            out = out.squeeze(0)
        return out
