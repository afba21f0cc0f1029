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
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from plugin_host.audio_io import AudioInfo
from plugin_host.chain import Chain
from plugin_host.measures import ClipAccumulator, ClipMeasures
from plugin_host.measures.clip import FrameTrace
from plugin_host.pipeline import FrameBlock
from plugin_host.render_files import RenderPaths
from plugin_host.runtime import LoadedModel
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


@dataclass(frozen=True)
class FoldedFrames:
    """A :class:`FrameBlock` reduced to what the report keeps, in arrays of its own (safe to
    hand to another thread: the block's arrays are the agent's buffers): frames
    ``[start, stop)``; ``chroma`` float64 [3, n, 12] and ``band`` float32 [3, n, K] of
    (output, input, target); the masks [n, K]."""

    start: int
    stop: int
    chroma: np.ndarray
    band: np.ndarray
    input_mask: np.ndarray
    target_mask: np.ndarray


class ReportAccumulator(ClipAccumulator):
    """Everything the report measures, fed while the render streams: ``add_samples`` with
    each finished span (output, input, target at the model rate, the agent's own inputs
    after their chains) and ``add_frames`` with each chunk of frames (or ``fold`` it where
    the block is valid and ``add_folded`` later, on any thread); ``measures()`` at the end."""

    def add_samples(self, output: np.ndarray, input: np.ndarray, target: np.ndarray) -> None:
        """output, input, target: float32 [C, n] over the same samples."""
        self.update_samples(output, input, target)

    def fold_block(self, block: FrameBlock) -> FoldedFrames:
        """The block's chroma and copies of its band powers and masks (reads its spectra:
        call it while the block is valid)."""
        n = block.stop - block.start
        if block.band_in.shape[0] != n or block.power_out.shape[-2] != n:
            raise ValueError(f"frame block [{block.start}, {block.stop}) has other shapes")
        chroma = self.fold(block.power_out, block.power_in, block.power_tg)
        band = np.stack([block.band_out, block.band_in, block.band_tg])
        return FoldedFrames(block.start, block.stop, chroma, band,
                            np.array(block.input_mask), np.array(block.target_mask))  # fmt: skip

    def add_folded(self, f: FoldedFrames) -> FrameTrace:
        """One chunk of the agent's frames (:meth:`fold_block`); returns what the report kept
        of them, masked energies included (the timeline's share)."""
        trace = self.update_folded(f.chroma, *f.band)
        energy = self.update_masks(f.input_mask, f.target_mask, f.band[1], f.band[2])
        return FrameTrace(trace.onset, trace.chroma, energy)

    def add_frames(self, block: FrameBlock) -> FrameTrace:
        """One chunk of the agent's frames: spectra, band powers and masks."""
        return self.add_folded(self.fold_block(block))

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


def _rate(hz: float) -> int | float:
    """A sample rate for the report: an int when whole (every common rate)."""
    return int(hz) if float(hz).is_integer() else float(hz)


def describe_render(
    model: LoadedModel,
    info_in: AudioInfo,
    info_tg: AudioInfo,
    paths: RenderPaths,
    chain: Chain,
    balance: float,
    fit: str,
    channels: int,
    out_frames: int,
    acc: ReportAccumulator,
) -> dict[str, Any]:
    """The report of a finished render (everything but the renderer's own additions:
    ``timeline``, ``warnings``, ``alignment``, timings...): what was rendered from what, how,
    and ``acc``'s measures."""
    meta = model.metadata
    measures = acc.measures()
    return {
        "schema": SCHEMA,
        "output": str(paths.output),
        "input": str(info_in.path),
        "target": str(info_tg.path),
        "report_path": str(paths.report) if paths.report else None,
        "plot_path": str(paths.plot) if paths.plot else None,
        **{k: v for k, v in measures.items() if k not in ("masks", "undefined")},
        "masks": measures["masks"],
        "undefined": measures["undefined"],
        "measured_at": "agent: its output vs its inputs after their chains, before the "
        "output chain, at the model rate",
        "balance": balance,
        "fit": fit,
        "chain": None if chain.is_empty() else chain.to_dict(),
        "provider": model.provider,
        "model": {
            "path": str(model.path),
            "metadata_hash": metadata_hash(meta),
            "sample_rate": _rate(meta.sample_rate),
            "size": meta.config.get("size"),
        },
        "channels": channels,
        "sample_rates": {
            "input": _rate(info_in.sample_rate),
            "target": _rate(info_tg.sample_rate),
            "model": _rate(meta.sample_rate),
            "output": _rate(info_in.sample_rate),
        },
        "durations_s": {
            "input": info_in.duration,
            "target": info_tg.duration,
            "output": out_frames / info_in.sample_rate,
        },
    }
