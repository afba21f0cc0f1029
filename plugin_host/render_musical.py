"""The musical pre-pass of a render: tempo/key alignment of the TARGET, bar loops for
``fit="loop"``, and the INPUT's bar grid for the timeline (issue 12, parts 1 and 2).

It runs only when a render asks for it (``align="tempo"``, ``transpose`` other than
``"none"``, or ``timeline="bars"``): both sources are read whole at the model's rate
(:class:`plugin_host.audio_io.SourceReader`, the render's own resampler and channel
mapping), analysed once (:func:`plugin_host.musical.analysis.analyse`), the TARGET aligned
(:func:`plugin_host.musical.align.align_pair`), and the aligned TARGET float32 [C, T'] is
then streamed from memory instead of its file. Variations (:mod:`plugin_host.variations`)
read the pair once (:func:`load_pair`) and reuse it and its analyses for every render.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from plugin_host.audio_io import AudioInfo, SourceReader
from plugin_host.levels import SourceCheck
from plugin_host.musical.grid import BarGrid
from plugin_host.resample import resampled_length

if TYPE_CHECKING:
    from plugin_host.musical.analysis import ClipAnalysis

# plugin_host.musical's analysis and alignment are imported when first used (about 50 ms
# of imports that a render without these knobs does not pay).

TIMELINES = ("auto", "bars", "seconds")


class MusicalError(ValueError):
    """A bad ``align``/``transpose``/``timeline`` value (one line naming it)."""


@dataclass(frozen=True)
class MusicalSettings:
    """The checked musical knobs of one render."""

    align: str = "none"
    transpose: str | int = "none"
    timeline: str = "auto"

    @property
    def aligns(self) -> bool:
        """Whether the TARGET goes through ``align_pair`` (read, analysed, aligned)."""
        return self.align != "none" or self.transpose != "none"

    @property
    def active(self) -> bool:
        """Whether anything is read before the stream."""
        return self.aligns or self.timeline == "bars"

    def render_kwargs(self) -> dict[str, Any]:
        """``align`` and ``transpose`` as ``render`` keyword arguments, those not ``none``."""
        return {k: v for k, v in (("align", self.align), ("transpose", self.transpose))
                if v != "none"}  # fmt: skip


def check_musical(align: Any, transpose: Any, timeline: Any) -> MusicalSettings:
    """The three knobs checked; raises :class:`MusicalError` naming a bad one."""
    from plugin_host.musical.align import ALIGN_MODES, parse_transpose

    if align not in ALIGN_MODES:
        raise MusicalError(f"align {align!r}: choose one of {', '.join(ALIGN_MODES)}")
    if timeline not in TIMELINES:
        raise MusicalError(f"timeline {timeline!r}: choose one of {', '.join(TIMELINES)}")
    if isinstance(transpose, bool) or (isinstance(transpose, float) and not transpose.is_integer()):
        raise MusicalError(
            f"transpose {transpose!r}: use none, auto or a whole number of semitones"
        )
    try:
        parsed = parse_transpose(int(transpose) if isinstance(transpose, float) else transpose)
    except ValueError as exc:
        raise MusicalError(str(exc)) from None
    return MusicalSettings(align, parsed, timeline)


@dataclass(frozen=True)
class LoadedPair:
    """Both sources read whole at the model's ``rate`` (Hz) with the INPUT's channel count:
    ``input`` float32 [C, T_in], ``target`` float32 [C, T_tg]; their analyses once made."""

    input: np.ndarray
    target: np.ndarray
    rate: int
    input_analysis: ClipAnalysis | None = None
    target_analysis: ClipAnalysis | None = None


def read_at_rate(info: AudioInfo, rate: int, channels: int) -> np.ndarray:
    """The whole file at ``rate`` Hz over ``channels``: float32 [channels, T] (what the
    streamed render reads, in one piece)."""
    total = resampled_length(info.frames, info.sample_rate, rate)
    reader = SourceReader(info, rate, channels, total, loop=False)
    try:
        return reader.read(total)
    finally:
        reader.close()


def load_pair(
    info_in: AudioInfo, info_tg: AudioInfo, rate: int, analyse_input: bool, analyse_target: bool
) -> LoadedPair:
    """Read both sources at ``rate`` and analyse those asked (once, for every variation)."""
    from plugin_host.musical.analysis import analyse

    x_in = read_at_rate(info_in, rate, info_in.channels)
    x_tg = read_at_rate(info_tg, rate, info_in.channels)
    a_in = analyse(x_in, rate) if analyse_input else None
    a_tg = analyse(x_tg, rate) if analyse_target else None
    return LoadedPair(x_in, x_tg, rate, a_in, a_tg)


@dataclass(frozen=True)
class MusicalPrep:
    """What the pre-pass hands the stream and the report.

    ``input``: the INPUT at the model rate [C, T_in] to stream from memory (None: read the
    file); ``target``: the aligned TARGET [C, T'] at the model rate (None: read the file);
    ``target_grid``: (BPM, first downbeat s) of ``target`` for bar loops (None: loop raw);
    ``grid``: the INPUT's bar grid for the timeline (None: no reliable tempo, or not asked);
    ``alignment``: the report's ``alignment`` (None when nothing was aligned);
    ``rate``: the model's rate (Hz) of the arrays; ``warnings``: sentences for the
    report's ``warnings``; ``sources``: a level check made once for all variations (None:
    the render makes its own)."""

    settings: MusicalSettings = field(default_factory=MusicalSettings)
    rate: int = 0
    input: np.ndarray | None = None
    target: np.ndarray | None = None
    target_grid: tuple[float, float] | None = None
    grid: BarGrid | None = None
    alignment: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    sources: SourceCheck | None = None


def prepare(
    info_in: AudioInfo,
    info_tg: AudioInfo,
    rate: int,
    settings: MusicalSettings,
    pair: LoadedPair | None = None,
) -> MusicalPrep:
    """Run the pre-pass for ``settings`` (nothing is read when it asks nothing). ``pair``:
    the sources already read (and analysed) by :func:`load_pair`."""
    if not settings.active:
        if pair is None:
            return MusicalPrep(settings, rate)
        known = pair.input_analysis
        grid = _input_grid(known, settings, []) if known is not None else None
        return MusicalPrep(settings, rate, pair.input, pair.target, None, grid)
    from plugin_host.musical.align import align_pair
    from plugin_host.musical.analysis import analyse

    if pair is None:
        pair = load_pair(info_in, info_tg, rate, True, settings.aligns)
    a_in = pair.input_analysis or analyse(pair.input, rate)
    warnings: list[str] = []
    grid = _input_grid(a_in, settings, warnings)
    if not settings.aligns:
        return MusicalPrep(settings, rate, pair.input, pair.target, None, grid, None,
                           tuple(warnings))  # fmt: skip
    a_tg = pair.target_analysis or analyse(pair.target, rate)
    target, info = align_pair(pair.input, pair.target, rate, settings.align, settings.transpose,
                              input_analysis=a_in, target_analysis=a_tg)  # fmt: skip
    warnings += [n for n in info.notes if _is_warning(n)]
    alignment = {
        **info.to_report(),
        "input_analysis": a_in.to_report(),
        "target_analysis": a_tg.to_report(),
    }
    tg_grid = None
    if info.grid_bpm is not None and info.grid_downbeat_s is not None:
        tg_grid = (float(info.grid_bpm), float(info.grid_downbeat_s))
    return MusicalPrep(settings, rate, pair.input, target, tg_grid, grid, alignment,
                       tuple(warnings))  # fmt: skip


def pre_pass(
    info_in: AudioInfo,
    info_tg: AudioInfo,
    rate: int,
    settings: MusicalSettings,
    prepared: MusicalPrep | None,
) -> MusicalPrep:
    """The render's pre-pass: :func:`prepare`, or ``prepared`` (variations) when given,
    checked to be made at ``rate`` Hz (MusicalError otherwise)."""
    if prepared is None:
        return prepare(info_in, info_tg, rate, settings)
    if prepared.input is not None and prepared.rate != rate:
        raise MusicalError(
            f"the pre-pass was made at {prepared.rate} Hz, the model runs at {rate} Hz"
        )
    return prepared


def _is_warning(note: str) -> bool:
    """Notes that say something requested was not done (a warning in the report)."""
    return any(w in note for w in ("unclear", "no reliable pulse", "no beats found"))


def _input_grid(
    a_in: ClipAnalysis, settings: MusicalSettings, warnings: list[str]
) -> BarGrid | None:
    """The INPUT's BarGrid, or None (no reliable tempo, or ``timeline="seconds"``)."""
    if settings.timeline == "seconds":
        return None
    db = a_in.first_downbeat_s
    if not a_in.tempo.reliable() or db is None:
        if settings.timeline == "bars":
            warnings.append(
                f"timeline bars: INPUT has no reliable tempo (confidence "
                f"{a_in.tempo.confidence:.2f}); the timeline is per second"
            )
        return None
    return BarGrid(float(a_in.tempo.bpm), max(0.0, float(db)))


def target_length(prep: MusicalPrep) -> int | None:
    """Samples of the TARGET to stream from memory at the model rate (None: its file)."""
    return None if prep.target is None else int(prep.target.shape[1])


def fitted_target(
    prep: MusicalPrep, fit: str, total: int
) -> tuple[np.ndarray | None, dict[str, Any] | None]:
    """The in-memory TARGET made exactly ``total`` samples long: for ``fit="loop"`` looped
    by whole bars when its grid is known (raw otherwise), else padded with silence or cut.
    Returns (float32 [C, total] or None when streamed from its file, loop summary or None)."""
    if prep.target is None:
        return None, None
    x = prep.target
    if fit != "loop" or x.shape[1] >= total:
        out = np.zeros((x.shape[0], total), np.float32)
        n = min(total, x.shape[1])
        out[:, :n] = x[:, :n]
        return out, None
    if prep.target_grid is not None:
        from plugin_host.musical.loop import loop_bars

        bpm, downbeat = prep.target_grid
        looped, plan = loop_bars(x, prep.rate, total, bpm, downbeat)
        if plan.bars > 0:
            return looped, {"by": "bars", "bars": plan.bars,
                            "start_s": round(plan.start / prep.rate, 4),
                            "body_s": round(plan.body_samples / prep.rate, 4)}  # fmt: skip
    reps = math.ceil(total / x.shape[1])
    return np.tile(x, (1, reps))[:, :total], {"by": "samples"}
