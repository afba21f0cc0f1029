"""The per-clip render report: its schema (a ``TypedDict``) and the accumulator that
measures a render while it streams.

The measures are ``plugin_host.measures.ClipAccumulator``'s (this module only feeds it the
agent's :class:`FrameBlock` s): accumulated chunk by chunk (memory stays flat: running
sums, plus a few floats per STFT frame), reusing the agent's own spectra (no extra STFT).
``plugin_host.measures.measure_clip`` feeds the same accumulator one whole clip, so the
streamed report and the whole-clip measures are one definition. Presentation (the summary
line) is in ``plugin_host/report_text.py``.

Undefined values are ``None`` with a reason under ``undefined``, never NaN.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

import numpy as np

from plugin_host.measures import ClipAccumulator, ClipMeasures
from plugin_host.pipeline import FrameBlock
from plugin_host.timeline import Timeline

SCHEMA = "creative-agent/render-report/1"


class ModelInfo(TypedDict):
    """The model that rendered: ONNX file, :func:`metadata_hash`, rate (Hz), size preset."""

    path: str
    metadata_hash: str
    sample_rate: int
    size: str | None


class SampleRates(TypedDict):
    """Sample rates in Hz (integers): of the two sources, the model, the output file."""

    input: int
    target: int
    model: int
    output: int


class Durations(TypedDict):
    """Durations in seconds of the two sources and the output file."""

    input: float
    target: float
    output: float


class RenderReport(ClipMeasures):
    """The render report (schema ``creative-agent/render-report/1``), a JSON object on disk
    and a plain dict in code: the measure fields of :class:`ClipMeasures` (measured on the
    agent's output vs its inputs after their chains, before the output chain, at the model
    rate) plus what was rendered, how, and how fast. ``warnings``: human-readable warnings
    (e.g. a silent source), appended by the renderer; ``output_gain_db``: the final gain
    after the output chain (dB); ``timings_s``: seconds per stage."""

    schema: str
    output: str
    input: str
    target: str
    report_path: str | None
    plot_path: str | None
    warnings: list[str]
    measured_at: str
    balance: float
    balance_curve: dict[str, Any] | None
    share_calibration: dict[str, float] | None  # plugin_host.share_calibration settings
    output_gain_db: float
    fit: str
    chain: dict[str, Any] | None
    provider: str
    model: ModelInfo
    channels: int
    sample_rates: SampleRates
    durations_s: Durations
    render_seconds: float
    rtf: float
    timings_s: dict[str, float]
    timeline: Timeline
    alignment: dict[str, Any] | None  # the musical pre-pass (plugin_host.render_musical)


class ReportAccumulator(ClipAccumulator):
    """Everything the report measures, fed while the render streams: ``add_samples`` with
    each finished span (output, input, target at the model rate, the agent's own inputs
    after their chains) and ``add_frames`` with each chunk of frames; ``measures()`` at
    the end."""

    def add_samples(self, output: np.ndarray, input: np.ndarray, target: np.ndarray) -> None:
        """output, input, target: float32 [C, n] over the same samples."""
        self.update_samples(output, input, target)

    def add_frames(self, block: FrameBlock) -> None:
        """One chunk of the agent's frames: spectra, band powers and masks."""
        n = block.stop - block.start
        if block.band_in.shape[0] != n or block.power_out.shape[-2] != n:
            raise ValueError(f"frame block [{block.start}, {block.stop}) has other shapes")
        self.update_frames(block.power_out, block.power_in, block.power_tg,
                           block.band_out, block.band_in, block.band_tg)  # fmt: skip
        self.update_masks(block.input_mask, block.target_mask, block.band_in, block.band_tg)

    def measures(self) -> ClipMeasures:
        """The measure fields of the report, with ``undefined`` reasons for every None."""
        return self.compute()


def metadata_hash(meta: Any) -> str:
    """First 16 hex digits of the SHA-256 of a model's metadata (canonical JSON)."""
    import hashlib

    fields = {
        "format_version": meta.format_version,
        "sample_rate": meta.sample_rate,
        "n_fft": meta.n_fft,
        "hop": meta.hop,
        "window": meta.window,
        "band_edges": list(meta.band_edges),
        "config": meta.config,
        "extra": dict(meta.extra),
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
