"""Reference mixes to hold the agent against, and the report's measures on whole clips.

Numpy only (no torch), so the same functions serve benchmarks and notebooks:

- :func:`plain_sum` (from :mod:`plugin_host.mixers`): ``balance · input + (1 - balance) · target`` — what any DAW does;
- :func:`channel_vocoder`: the input's band envelopes imposed on the target's bands (the
  classic re-synthesis whose onsets follow the input and whose pitches follow the target);
- :func:`stft_roundtrip`: STFT → unit masks → iSTFT of the pair with the host's own DSP
  (``plugin_host.dsp.HostDSP``), i.e. input + target up to float32 rounding (the benchmark's
  floor streams the same through ``plugin_host.pipeline`` instead: ``bench.floor``);
Scores come from :func:`plugin_host.measures.measure_clip`, the report's own accumulators fed
the whole clips, so the agent and the baselines are scored by one function.

Audio is float32 ``[C, T]`` at ``sample_rate`` Hz throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plugin_host.dsp import HostDSP
from plugin_host.mixers import check_pair


@dataclass(frozen=True)
class VocoderConfig:
    """A channel vocoder on an STFT filter bank.

    n_fft, hop: STFT size and hop in samples (periodic Hann, as the agent's DSP);
    n_bands: log-spaced analysis/synthesis bands between ``f_min`` Hz and Nyquist (the first
    band also holds DC); max_gain_db: ceiling of the per-band gain (dB), so a band where
    the target is nearly silent is not blown up into noise.
    """

    n_fft: int = 2048
    hop: int = 512
    n_bands: int = 16
    f_min: float = 60.0
    max_gain_db: float = 60.0


def vocoder_edges(sample_rate: int, cfg: VocoderConfig) -> list[int]:
    """K+1 STFT bin edges of ``cfg.n_bands`` log-spaced bands (each at least one bin)."""
    n_freq = cfg.n_fft // 2 + 1
    bin_hz = sample_rate / cfg.n_fft
    lo, hi = math.log(cfg.f_min), math.log(sample_rate / 2)
    edges = [0]
    for i in range(1, cfg.n_bands):
        edge = round(math.exp(lo + (hi - lo) * i / cfg.n_bands) / bin_hz)
        edges.append(min(max(edge, edges[-1] + 1), n_freq - (cfg.n_bands - i)))
    edges.append(n_freq)
    return edges


def channel_vocoder(
    input: np.ndarray, target: np.ndarray, sample_rate: int, cfg: VocoderConfig | None = None
) -> np.ndarray:
    """The target's spectrum with each band rescaled, frame by frame, to the input's band
    energy: ``Y = X_tg · sqrt(P_in / P_tg)`` per band (P: mean |X|² over the band's bins and
    both channels), the gain capped at ``max_gain_db``. float32 [C, T] in and out."""
    check_pair(input, target)
    cfg = cfg or VocoderConfig()
    dsp = HostDSP(cfg.n_fft, cfg.hop, vocoder_edges(sample_rate, cfg))
    spec = dsp.stft(np.stack([input, target]).astype(np.float32))  # [2, C, F, N]
    power = dsp.band_power(spec).astype(np.float64)  # [2, K, N]
    cap = 10.0 ** (cfg.max_gain_db / 20.0)
    floor = max(float(power[1].mean()), 1e-30) * cap**-2  # P_tg below this counts as silent
    gain = np.minimum(np.sqrt(power[0] / np.maximum(power[1], floor)), cap)  # [K, N]
    out = dsp.expand(gain[None].astype(np.float32))[:, None] * spec[1:2]  # [1, C, F, N]
    return dsp.istft(out, input.shape[-1])[0]


def stft_roundtrip(input: np.ndarray, target: np.ndarray, dsp: HostDSP) -> np.ndarray:
    """``iSTFT(1 · STFT(input) + 1 · STFT(target))`` (unit masks) with ``dsp``'s
    :meth:`~plugin_host.dsp.HostDSP.stft` and :meth:`~plugin_host.dsp.HostDSP.istft` on the
    whole clips: ``input + target`` up to float32 rounding. float32 [C, T] in and out."""
    check_pair(input, target)
    spec = dsp.stft(np.stack([input, target]).astype(np.float32))  # [2, C, F, N]
    return dsp.istft(spec[0] + spec[1], input.shape[-1])
