"""The agent in the host: numpy DSP (plugin_host/dsp.py) around the ONNX core.

``process`` renders one whole clip pair at the model's sample rate. It is the numpy twin of
``model.agent.CreativeAgent.forward`` and the code the export parity check runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plugin_host.runtime import LoadedModel


@dataclass
class PipelineResult:
    """audio: float32 [C, T]; input_mask, target_mask: [K, N];
    spec_in, spec_tg, spec_out: complex64 [C, F, N] (reused by the report's metrics)."""

    audio: np.ndarray
    input_mask: np.ndarray
    target_mask: np.ndarray
    spec_in: np.ndarray
    spec_tg: np.ndarray
    spec_out: np.ndarray


def process(
    model: LoadedModel, input: np.ndarray, target: np.ndarray, balance: float = 0.5
) -> PipelineResult:
    """input, target: float32 [C, T] (same shape, C = 1 or 2) at ``model.metadata.sample_rate``."""
    if input.ndim != 2 or input.shape != target.shape or input.shape[0] not in (1, 2):
        raise ValueError(
            f"input and target must be [C, T] with C in (1, 2) and one shape, got {input.shape} and {target.shape}"
        )
    dsp = model.dsp
    t = input.shape[-1]
    spec_in = dsp.stft(np.asarray(input, np.float32)[None])
    spec_tg = dsp.stft(np.asarray(target, np.float32)[None])
    feat_in = dsp.log_features(dsp.band_power(spec_in))
    feat_tg = dsp.log_features(dsp.band_power(spec_tg))
    m_in, m_tg = model.core(feat_in, feat_tg, np.array([balance], np.float32))
    spec_out = dsp.mix(spec_in, spec_tg, m_in, m_tg)
    audio = dsp.istft(spec_out, t)[0]
    return PipelineResult(audio, m_in[0], m_tg[0], spec_in[0], spec_tg[0], spec_out[0])
