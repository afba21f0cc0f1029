"""The report over time: the whole-clip measures per bar (when a :class:`BarGrid` is known)
or per second, accumulated while the render streams, and the weakest segments for the
summary line.

Segments cover the output's timeline at the model rate: bars from ``BarGrid.bars`` (bar 0 =
the pickup before the first downbeat), or seconds ``[k, k + 1)`` (index ``k`` from 0; the
last one may be short). A segment starts at sample ``round(start_s · rate)``.

The timeline is fed exactly what the whole-clip report gets (:mod:`plugin_host.render_stream`):
every ``Emitted`` span of samples is split at the segment boundaries, and every STFT frame
goes to the segment that holds its centre (frame ``i`` is centred on sample ``i · hop``:
``HostDSP`` pads ``n_fft / 2`` zeros each side). Each segment has its own
:class:`plugin_host.timeline_segment.SegmentAccumulator` (the report's measures, not a copy
of them), made when the stream reaches the segment and computed as soon as samples and
frames have passed its end, so only the segments the stream is in hold accumulators (memory
stays flat for any clip length). Nothing is measured twice: a span's samples are measured
once per segment part, and the whole-clip report adds those moments up; a frame's chroma,
onset and masked energy are the whole-clip report's (its :class:`FrameTrace`), routed to the
segment. A frame near a boundary still sees ``n_fft / 2`` samples of the next segment, so a
segment's spectral measures differ slightly from the same bar rendered alone; its waveform
correlations are exactly those of its samples.

Weak segments (named by :func:`weak_ranges` in the summary line) use the seed's own
thresholds: harmony is lost where ``chroma_cos_target`` is below ``HARMONY_WEAK_BELOW``
or the target is silent in that segment while the output is not; rhythm is lost where
``onset_corr_input`` is below ``RHYTHM_WEAK_BELOW``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from plugin_host.block_queue import Emitted
from plugin_host.measures import ClipAccumulator, WaveformMoments
from plugin_host.measures.clip import FrameTrace
from plugin_host.measures.constants import SUCCESS_INPUT_CORR
from plugin_host.musical.grid import BarGrid
from plugin_host.pipeline import FrameBlock
from plugin_host.timeline_segment import (
    Segment,
    SegmentAccumulator,
)

UNITS = ("bar", "second")
# A segment is weak in harmony below this chroma cosine with the target: the cosine between a
# triad's chroma (3 pitch classes) and a flat one (12, broadband noise or drums) is
# 3 / sqrt(3 · 12) = 0.5, so below it the output is further from the target's harmony than
# noise is from a chord.
HARMONY_WEAK_BELOW = 3.0 / math.sqrt(3.0 * 12.0)
# A segment is weak in rhythm below this onset correlation with the input: the seed's success
# threshold on a correlation, ``SUCCESS_INPUT_CORR`` (0.4).
RHYTHM_WEAK_BELOW = SUCCESS_INPUT_CORR
# Segments shorter than this fraction of a full one (the clip's last, cut short) are
# reported but never named weak: a few frames give no stable correlation.
MIN_WEAK_FRACTION = 0.5


class Timeline(TypedDict):
    """The report's ``timeline``: ``unit`` ``"bar"`` or ``"second"``, ``bpm`` of the grid
    (``None`` per second), ``segments`` in time order."""

    unit: str
    bpm: float | None
    segments: list[Segment]


@dataclass(frozen=True)
class Segments:
    """Segment spans of a clip of ``total`` samples at ``sample_rate`` Hz: ``index``,
    ``start_s``, ``end_s`` per segment and ``bounds`` int64 [S + 1], the first sample of each
    segment and ``total`` last."""

    unit: str
    bpm: float | None
    index: tuple[int, ...]
    start_s: tuple[float, ...]
    end_s: tuple[float, ...]
    bounds: np.ndarray

    @classmethod
    def of(cls, total: int, sample_rate: int, grid: BarGrid | None) -> Segments:
        """Bars of ``grid`` over the clip, or seconds when ``grid`` is None."""
        if total < 1:
            raise ValueError(f"a timeline needs >= 1 sample, got {total}")
        duration = total / sample_rate
        if grid is not None:
            spans = grid.bars(duration)
            unit, bpm = "bar", float(grid.bpm)
        else:
            n = math.ceil(duration)
            spans = [(k, float(k), min(k + 1.0, duration)) for k in range(n)]
            unit, bpm = "second", None
        starts = [int(round(s * sample_rate)) for _, s, _ in spans]
        keep = [i for i in range(len(spans)) if starts[i] < total and
                (i + 1 == len(spans) or starts[i + 1] > starts[i])]  # fmt: skip
        bounds = np.array([starts[i] for i in keep] + [total], np.int64)
        bounds[0] = 0
        return cls(
            unit,
            bpm,
            tuple(spans[i][0] for i in keep),
            tuple(float(bounds[j]) / sample_rate for j in range(len(keep))),
            tuple(float(bounds[j + 1]) / sample_rate for j in range(len(keep))),
            bounds,
        )


class TimelineAccumulator:
    """Per-segment :class:`SegmentAccumulator` s fed alongside the whole-clip report:
    ``add_samples`` with each :class:`Emitted` span (returns the span's moments, which the
    whole-clip report adds instead of measuring the samples again), ``add_trace`` with what
    the whole-clip report kept of each chunk of frames (``add_frames`` computes that itself,
    for use without a report); ``compute`` at the end. ``hop``: samples between frame
    centres; ``band_sizes``: STFT bins per band."""

    def __init__(
        self, segments: Segments, sample_rate: int, n_fft: int, hop: int, band_sizes: np.ndarray
    ) -> None:
        self.segments, self.hop = segments, hop
        self._make = (sample_rate, n_fft, band_sizes)
        self._tracer: ClipAccumulator | None = None  # add_frames' own (no report given)
        # live accumulators of the segments the stream is in; finished ones are computed
        # as soon as samples and frames have passed their end, so memory stays flat
        self._live: dict[int, SegmentAccumulator] = {}
        self._done: dict[int, Segment] = {}
        self._samples_end = 0  # samples fed so far
        self._frames_end = 0  # sample position of the next frame centre to come

    @property
    def live_segments(self) -> int:
        """Segments holding an accumulator now (the stream is in them)."""
        return len(self._live)

    def _acc(self, k: int) -> SegmentAccumulator:
        if k not in self._live:
            self._live[k] = SegmentAccumulator()
        return self._live[k]

    def _finish(self, k: int) -> None:
        s = self.segments
        acc = self._live.pop(k, None) or SegmentAccumulator()
        self._done[k] = acc.compute(s.unit, s.index[k], s.start_s[k], s.end_s[k])

    def _retire(self) -> None:
        """Compute the segments both streams have left behind."""
        passed = min(self._samples_end, self._frames_end)
        for k in sorted(self._live):
            if self.segments.bounds[k + 1] <= passed:
                self._finish(k)

    def _runs(self, positions: np.ndarray) -> list[tuple[int, int, int]]:
        """(segment, lo, hi): consecutive items [lo, hi) of sorted sample ``positions``
        that fall in one segment."""
        seg = np.searchsorted(self.segments.bounds, positions, side="right") - 1
        seg = np.clip(seg, 0, len(self.segments.index) - 1)
        cuts = np.flatnonzero(np.diff(seg)) + 1
        edges = [0, *cuts.tolist(), positions.size]
        return [(int(seg[a]), a, b) for a, b in itertools.pairwise(edges)]

    def add_samples(self, span: Emitted) -> WaveformMoments:
        """Output, input and target samples of one span, split at segment boundaries;
        returns the moments of the whole span (the sum of its parts')."""
        whole = WaveformMoments()
        n = span.output.shape[-1]
        if n == 0:
            return whole
        b = self.segments.bounds
        lo = max(int(np.searchsorted(b, span.start, side="right")) - 1, 0)
        hi = min(int(np.searchsorted(b, span.start + n, side="left")), len(self.segments.index))
        for k in range(lo, hi):
            a, z = max(b[k], span.start) - span.start, min(b[k + 1], span.start + n) - span.start
            if z > a:
                part = WaveformMoments()
                for views in span.aligned(a, z):  # the fed blocks' views: no copy
                    part.update(*views)
                self._acc(k).moments.add(part)
                whole.add(part)
        self._samples_end = max(self._samples_end, span.start + n)
        self._retire()
        return whole

    def add_trace(self, start: int, stop: int, trace: FrameTrace) -> None:
        """Frames ``[start, stop)`` (what the whole-clip report kept of them, masked energies
        included) to the segments holding their centres (``i · hop``)."""
        centres = np.arange(start, stop, dtype=np.int64) * self.hop
        for k, a, b in self._runs(centres):
            self._acc(k).add_trace(trace.frames(a, b))
        self._frames_end = max(self._frames_end, stop * self.hop)
        self._retire()

    def add_frames(self, block: FrameBlock) -> None:
        """:meth:`add_trace` of a block, measured here (a render feeds the report's trace)."""
        if self._tracer is None:
            self._tracer = ClipAccumulator(*self._make)
        trace = self._tracer.update_frames(block.power_out, block.power_in, block.power_tg,
                                           block.band_out, block.band_in, block.band_tg)  # fmt: skip
        energy = self._tracer.update_masks(block.input_mask, block.target_mask,
                                           block.band_in, block.band_tg)  # fmt: skip
        self.add_trace(block.start, block.stop, FrameTrace(trace.onset, trace.chroma, energy))

    def compute(self) -> Timeline:
        """Every segment's measures (a segment nothing reached has its measures undefined)."""
        for k in range(len(self.segments.index)):
            if k not in self._done:
                self._finish(k)
        s = self.segments
        return Timeline(
            unit=s.unit, bpm=s.bpm, segments=[self._done[k] for k in range(len(s.index))]
        )


@dataclass(frozen=True)
class WeakRange:
    """Consecutive weak segments of one kind (``harmony`` or ``rhythm``): first and last
    index, span in seconds, the lowest value among them (``None`` when every one is weak
    because its source is silent) and the measure's name."""

    kind: str
    first: int
    last: int
    start_s: float
    end_s: float
    worst: float | None
    measure: str


_KINDS = (
    ("harmony", "chroma_cos_target", HARMONY_WEAK_BELOW, "target"),
    ("rhythm", "onset_corr_input", RHYTHM_WEAK_BELOW, "input"),
)


def _weak(seg: Mapping[str, Any], measure: str, below: float, source: str | None) -> bool:
    """``measure`` below ``below``, or ``source`` (None: none counts) silent in ``seg``."""
    value = seg.get(measure)
    if source is not None and source in seg.get("silent", ()):
        return True
    return value is not None and value < below


def weak_ranges(timeline: Mapping[str, Any]) -> list[WeakRange]:
    """The timeline's weak segments, consecutive ones merged, harmony first then rhythm.

    A segment is weak in harmony when its target is silent (while the output is not) or its
    ``chroma_cos_target`` < ``HARMONY_WEAK_BELOW``; in rhythm likewise with the input and
    ``onset_corr_input`` < ``RHYTHM_WEAK_BELOW``. A source silent in every segment is not
    a local loss (the report's ``warnings`` say so), so its silence counts nowhere then.
    Segments shorter than ``MIN_WEAK_FRACTION`` of the longest are skipped (too few
    frames)."""
    segs: Sequence[Mapping[str, Any]] = timeline.get("segments") or []
    if not segs:
        return []
    full = max(s["end_s"] - s["start_s"] for s in segs)
    out: list[WeakRange] = []
    for kind, measure, below, source in _KINDS:
        everywhere = all(source in seg.get("silent", ()) for seg in segs)
        counted = None if everywhere else source
        run: list[Mapping[str, Any]] = []
        for seg in [*segs, None]:
            ok = seg is not None and seg["end_s"] - seg["start_s"] >= MIN_WEAK_FRACTION * full
            if ok and seg is not None and _weak(seg, measure, below, counted):
                run.append(seg)
                continue
            if run:
                values = [r[measure] for r in run if r[measure] is not None]
                out.append(WeakRange(kind, run[0]["index"], run[-1]["index"], run[0]["start_s"],
                                     run[-1]["end_s"], min(values) if values else None,
                                     measure))  # fmt: skip
                run = []
    return out


MAX_NAMED = 3  # weak ranges named per kind in the summary line (the lowest; "+N more")
_SHORT = {"chroma_cos_target": "chroma tg", "onset_corr_input": "onset in"}
_SOURCE = {"harmony": "target", "rhythm": "input"}


def _span_text(r: WeakRange, unit: str) -> str:
    if unit == "bar":
        where = f"{r.first}" if r.first == r.last else f"{r.first}–{r.last}"
    else:
        where = f"{r.start_s:.4g}–{r.end_s:.4g} s"
    why = f"{_SOURCE[r.kind]} silent" if r.worst is None else f"{_SHORT[r.measure]} {r.worst:.2f}"
    return f"{where} ({why})"


def weak_text(timeline: Mapping[str, Any] | None) -> str:
    """The weakest segments in words, e.g. ``harmony lost in bars 5–8 (chroma tg 0.41)`` or
    ``rhythm lost at 3–5 s (onset in 0.30)`` (value: the lowest in the range; parts joined
    by ``; ``); at most ``MAX_NAMED`` ranges per kind, the lowest ones, in time order.
    ``""`` when no segment is weak (or no timeline)."""
    if not timeline:
        return ""
    ranges = weak_ranges(timeline)
    unit = timeline.get("unit", "second")
    parts = []
    for kind in ("harmony", "rhythm"):
        mine = [r for r in ranges if r.kind == kind]
        if not mine:
            continue
        named = sorted(mine, key=lambda r: -1.0 if r.worst is None else r.worst)[:MAX_NAMED]
        spans = [_span_text(r, unit) for r in mine if r in named]
        more = f", +{len(mine) - len(named)} more" if len(mine) > len(named) else ""
        if unit == "bar":
            one = len(mine) == 1 and mine[0].first == mine[0].last
            where = f"in bar{'' if one else 's'} "
        else:
            where = "at "
        parts.append(f"{kind} lost {where}{', '.join(spans)}{more}")
    return "; ".join(parts)
