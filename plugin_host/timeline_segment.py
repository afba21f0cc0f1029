"""One segment (bar or second) of the report's timeline: its measures, accumulated from what
the whole-clip report already computed (:mod:`plugin_host.timeline` routes it here).

A segment keeps the running moments of its samples and, per frame, what the whole-clip
accumulator kept of its frames (:class:`plugin_host.measures.clip.FrameTrace`): onset
envelope values, the chroma cosine's per-frame parts and the masked energies. Each measure
is then the whole-clip report's definition applied to the segment's samples and frames
(the same Pearson, chroma cosine and share functions, the same reasons when undefined), so
nothing is computed twice per frame: a segment's onset envelope is the clip's, except its
first frame, which is 0 as for any clip's first frame.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from plugin_host.levels import SILENT_BELOW_DB
from plugin_host.measures.chroma import ChromaCosine
from plugin_host.measures.clip import (
    SHARE_UNDEFINED,
    FrameTrace,
    chroma_reason,
    onset_reason,
    seed_verdict,
)
from plugin_host.measures.correlation import pearson
from plugin_host.measures.onset import BandOnsetEnvelope
from plugin_host.measures.waveform import INPUT, OUTPUT, TARGET, WaveformMoments

# the measures of each segment (names and definitions of the whole-clip report's keys;
# ``masked_share_input`` is the report's ``masks.masked_share_input``)
SEGMENT_MEASURES = (
    "output_input_corr",
    "output_target_corr",
    "verdict",
    "masked_share_input",
    "onset_corr_input",
    "chroma_cos_target",
)
# A source counts as silent in a segment when its mean power is below this fraction of the
# output's there: SILENT_BELOW_DB, as for whole files (plugin_host.levels).
SILENT_SHARE = 10.0 ** (-SILENT_BELOW_DB / 10.0)
_BELOW = f"{SILENT_BELOW_DB:g} dB below"


class Segment(TypedDict):
    """One bar or second: ``index`` (bar number, 0 = pickup; or second from 0), its span in
    seconds on the output's timeline, the measures of :data:`SEGMENT_MEASURES` (``None``
    when undefined, with a reason in ``undefined``), and ``silent``: the sources (``input``,
    ``target``) silent in it (mean power 40 dB below the output's)."""

    index: int
    start_s: float
    end_s: float
    output_input_corr: float | None
    output_target_corr: float | None
    verdict: str | None
    masked_share_input: float | None
    onset_corr_input: float | None
    chroma_cos_target: float | None
    silent: list[str]
    undefined: dict[str, str]


class SegmentAccumulator:
    """One segment's samples (``moments``: add each span's :class:`WaveformMoments`) and
    frames (:meth:`add_trace`, in order); :meth:`compute` at its end."""

    def __init__(self) -> None:
        self.moments = WaveformMoments()
        self._onset = (BandOnsetEnvelope(), BandOnsetEnvelope())  # output, input
        self._chroma = ChromaCosine()  # output vs target
        self._energy = np.zeros(2)  # masked energy of input, target
        self._masked = False  # masks were fed
        self._frames = 0

    def add_trace(self, trace: FrameTrace) -> None:
        """Frames of this segment, in order (a part of the whole-clip report's trace)."""
        first = self._frames == 0
        self._frames += trace.onset.shape[1]
        self._onset[0].add(trace.onset[OUTPUT], first)
        self._onset[1].add(trace.onset[INPUT], first)
        self._chroma.add(trace.chroma[1])  # output vs target
        if trace.energy is not None:
            self._energy += trace.energy.sum(axis=1)
            self._masked = True

    def compute(self, unit: str, index: int, start_s: float, end_s: float) -> Segment:
        """The segment's measures. A source silent in the segment (mean power below
        ``SILENT_SHARE`` × the output's) leaves its spectral measure (``chroma_cos_target``,
        ``onset_corr_input``) undefined: only the frames straddling the boundary see it."""
        mo, why = self.moments, dict[str, str]()
        r_in, r_tg, v = seed_verdict(mo, why)
        env_out, env_in = (e.compute() for e in self._onset)
        onset = pearson(env_out, env_in) if env_out.size else None
        if onset is None:
            why["onset_corr_input"] = onset_reason(env_out, env_in, "input")
        chroma = self._chroma.compute()
        if chroma is None:
            why["chroma_cos_target"] = chroma_reason("target")
        energy = float(self._energy.sum())
        share = float(self._energy[0]) / energy if energy > 0 else None
        if share is None:
            why["masked_share_input"] = SHARE_UNDEFINED if self._masked else "no frame"
        power = np.diag(mo.gram) / max(mo.n, 1)  # mean x² per signal
        silent = [name for name, i in (("input", INPUT), ("target", TARGET))
                  if power[OUTPUT] > 0 and not power[i] > SILENT_SHARE * power[OUTPUT]]  # fmt: skip
        if "input" in silent:
            onset = None
            why["onset_corr_input"] = f"input is silent in this {unit} ({_BELOW} the output)"
        if "target" in silent:
            chroma = None
            why["chroma_cos_target"] = f"target is silent in this {unit} ({_BELOW} the output)"
        return Segment(
            index=int(index),
            start_s=float(start_s),
            end_s=float(end_s),
            output_input_corr=r_in,
            output_target_corr=r_tg,
            verdict=v,
            masked_share_input=share,
            onset_corr_input=onset,
            chroma_cos_target=chroma,
            silent=silent,
            undefined=why,
        )
