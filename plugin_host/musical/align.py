"""Align the TARGET to the INPUT musically before mixing: tempo, downbeat and key.

``align_pair(input, target, sample_rate, align, transpose)`` returns the TARGET float32
[C, T'] stretched to the INPUT's tempo (Rubber Band through ``pedalboard.time_stretch``),
shifted so its first downbeat lands on the INPUT's, and pitch-shifted, plus an
:class:`AlignInfo` for the report.

- Tempo octave: the TARGET's tempo is matched as ``target_bpm · 2**octave_error`` with the
  octave that brings the stretch factor nearest 1 (within [1/√2, √2]): a 140 BPM pattern
  under a 90 BPM input is slowed to 90 as a 70 BPM half-time feel would be sped up, whichever
  stretches less. ``octave_error`` reports that choice (0: tempi matched as estimated).
- Offset: after the stretch, the TARGET is delayed (leading silence, ``offset_s`` > 0) or
  advanced (its start dropped, ``offset_s`` < 0) so that its first downbeat falls on the
  INPUT's first downbeat.
- Key: ``transpose="auto"`` shifts by the smallest interval (-6..+5 semitones) that gives the
  TARGET the INPUT's pitch set (relative-major tonics compared, so A minor under C major is
  0); it does nothing, with a note, when either key's confidence is under
  ``KeyConfig.min_confidence`` (drums). An int shifts by that many semitones.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from plugin_host.musical.analysis import AnalysisConfig, ClipAnalysis, analyse
from plugin_host.musical.config import StretchConfig

ALIGN_MODES = ("none", "tempo")
TRANSPOSE_MODES = ("none", "auto")
MAX_SHIFT = 12  # |semitones| accepted for an explicit --transpose N

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlignInfo:
    """What ``align_pair`` measured and did. Times in seconds, tempi in BPM, shifts in
    semitones; ``None`` where a value was not measured (nothing requested).

    ``input_downbeat_s``/``target_downbeat_s``: first downbeats in each source as read.
    ``offset_s``: delay applied to the stretched TARGET (negative: its start dropped).
    ``grid_bpm``/``grid_downbeat_s``: the returned TARGET's own beat grid (its tempo and
    first downbeat in the returned audio), what :func:`plugin_host.musical.loop.loop_bars`
    needs for ``--fit loop``; ``None`` when the TARGET has no reliable pulse (loop raw).
    ``notes``: why something requested was not done, or how it was done.
    """

    align: str
    transpose: str | int
    input_bpm: float | None
    target_bpm: float | None
    octave_error: int
    stretch_factor: float
    offset_s: float
    input_downbeat_s: float | None
    target_downbeat_s: float | None
    input_key: str | None
    input_key_confidence: float | None
    target_key: str | None
    target_key_confidence: float | None
    shift_semitones: int
    grid_bpm: float | None
    grid_downbeat_s: float | None
    notes: tuple[str, ...]

    def to_report(self) -> dict[str, Any]:
        """JSON-ready dict (0.01 BPM, 1 ms, 4-decimal factor, 3-decimal confidences)."""

        def r(v: float | None, nd: int) -> float | None:
            return None if v is None else round(v, nd)

        return {
            "align": self.align,
            "transpose": self.transpose,
            "input_bpm": r(self.input_bpm, 2),
            "target_bpm": r(self.target_bpm, 2),
            "octave_error": self.octave_error,
            "stretch_factor": round(self.stretch_factor, 4),
            "offset_s": round(self.offset_s, 3),
            "input_downbeat_s": r(self.input_downbeat_s, 3),
            "target_downbeat_s": r(self.target_downbeat_s, 3),
            "input_key": self.input_key,
            "input_key_confidence": r(self.input_key_confidence, 3),
            "target_key": self.target_key,
            "target_key_confidence": r(self.target_key_confidence, 3),
            "shift_semitones": self.shift_semitones,
            "grid_bpm": r(self.grid_bpm, 2),
            "grid_downbeat_s": r(self.grid_downbeat_s, 3),
            "notes": list(self.notes),
        }


def parse_transpose(value: str | int) -> str | int:
    """``"none"``, ``"auto"`` or a semitone count (int or text such as ``"-2"``, ``"+3"``)."""
    if isinstance(value, str) and value.strip().lower() in TRANSPOSE_MODES:
        return value.strip().lower()
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"transpose {value!r}: use none, auto or a whole number of semitones"
        ) from None
    if abs(n) > MAX_SHIFT:
        raise ValueError(f"transpose {n}: at most {MAX_SHIFT} semitones either way")
    return n


def smallest_shift(from_tonic: int, to_tonic: int) -> int:
    """Semitones in -6..+5 that move pitch class ``from_tonic`` to ``to_tonic``."""
    return (to_tonic - from_tonic + 6) % 12 - 6


def tempo_match(input_bpm: float, target_bpm: float) -> tuple[float, int]:
    """(stretch factor for the TARGET, octave): factor = input / (target · 2**octave), the
    octave chosen so the factor lies in [1/√2, √2]."""
    octave = round(math.log2(input_bpm / target_bpm))
    return input_bpm / (target_bpm * 2.0**octave), int(octave)


def _plan_tempo(
    a_in: ClipAnalysis, a_tg: ClipAnalysis, cfg: AnalysisConfig, notes: list[str]
) -> tuple[float, int] | None:
    """(stretch factor, octave), or ``None`` (with a note) when a clip has no pulse."""
    for name, a in (("INPUT", a_in), ("TARGET", a_tg)):
        if not a.tempo.reliable(cfg.tempo):
            notes.append(
                f"align tempo: {name} has no reliable pulse (tempo confidence "
                f"{a.tempo.confidence:.2f} < {cfg.tempo.min_confidence}); not stretched"
            )
            return None
    factor, octave = tempo_match(a_in.tempo.bpm, a_tg.tempo.bpm)
    if octave:
        notes.append(
            f"align tempo: TARGET matched as {a_tg.tempo.bpm * 2.0**octave:.2f} BPM (octave {octave:+d})"
        )
    return factor, octave


def _plan_shift(
    transpose: str | int,
    a_in: ClipAnalysis | None,
    a_tg: ClipAnalysis | None,
    cfg: AnalysisConfig,
    notes: list[str],
) -> int:
    if isinstance(transpose, int):
        return transpose
    if transpose == "none" or a_in is None or a_tg is None:
        return 0
    for name, a in (("INPUT", a_in), ("TARGET", a_tg)):
        if not a.key.reliable(cfg.key):
            notes.append(
                f"transpose auto: {name} key unclear ({a.key.name}, confidence "
                f"{a.key.confidence:.2f} < {cfg.key.min_confidence}); no shift"
            )
            return 0
    shift = smallest_shift(a_tg.key.relative_major, a_in.key.relative_major)
    if shift == 0 and a_tg.key.mode != a_in.key.mode:
        notes.append(
            f"transpose auto: TARGET {a_tg.key.name} has INPUT {a_in.key.name}'s notes (relative keys); no shift"
        )
        return 0
    notes.append(
        f"transpose auto: TARGET {a_tg.key.name} -> {shift:+d} semitones to fit INPUT {a_in.key.name}"
    )
    return shift


def _apply_offset(audio: np.ndarray, offset_s: float, sample_rate: int) -> np.ndarray:
    """Delay (offset > 0: leading zeros) or advance (offset < 0: drop the start) [C, T]."""
    n = int(round(offset_s * sample_rate))
    if n > 0:
        return np.concatenate([np.zeros((audio.shape[0], n), np.float32), audio], axis=1)
    return audio[:, -n:] if n < 0 else audio


def align_pair(
    input: np.ndarray,
    target: np.ndarray,
    sample_rate: int,
    align: str = "none",
    transpose: str | int = "none",
    *,
    input_analysis: ClipAnalysis | None = None,
    target_analysis: ClipAnalysis | None = None,
    cfg: AnalysisConfig | None = None,
    stretch: StretchConfig | None = None,
) -> tuple[np.ndarray, AlignInfo]:
    """Stretch, shift and transpose ``target`` [C, T] to fit ``input`` [C, T] (both at
    ``sample_rate`` Hz); returns (target float32 [C, T'], AlignInfo). Pass analyses from
    :func:`analyse` to reuse them (variations); they are computed here otherwise, and only
    when something is requested. Raises ValueError naming a bad ``align``/``transpose``."""
    if align not in ALIGN_MODES:
        raise ValueError(f"align {align!r}: choose one of {', '.join(ALIGN_MODES)}")
    transpose = parse_transpose(transpose)
    cfg = cfg or AnalysisConfig()
    tg = np.asarray(target, np.float32)
    if tg.ndim != 2:
        raise ValueError(f"target must be [C, T], got shape {tg.shape}")
    if align == "none" and transpose == "none":
        return tg, _info(align, transpose, None, None, cfg, None, 0.0, 0, [])
    a_in = input_analysis or analyse(input, sample_rate, cfg)
    a_tg = target_analysis or analyse(tg, sample_rate, cfg)
    notes: list[str] = []
    plan = _plan_tempo(a_in, a_tg, cfg, notes) if align == "tempo" else None
    factor = plan[0] if plan else 1.0
    shift = _plan_shift(transpose, a_in, a_tg, cfg, notes)
    out = _stretch(tg, sample_rate, factor, shift, stretch or StretchConfig())
    offset = _offset(a_in, a_tg, factor, notes) if plan else 0.0
    out = _apply_offset(out, offset, sample_rate)
    info = _info(align, transpose, a_in, a_tg, cfg, plan, offset, shift, notes)
    log.info("align_pair: %s", info.to_report())
    return out, info


def _stretch(
    tg: np.ndarray, sample_rate: int, factor: float, shift: int, st: StretchConfig
) -> np.ndarray:
    """Rubber Band time stretch / pitch shift of [C, T] (the input itself when neither)."""
    if factor == 1.0 and shift == 0:
        return tg
    import pedalboard  # deferred: 0.4 s to import, needed only when stretching

    out = pedalboard.time_stretch(
        tg,
        float(sample_rate),
        stretch_factor=float(factor),
        pitch_shift_in_semitones=float(shift),
        high_quality=st.high_quality,
        transient_mode=st.transient_mode,
        preserve_formants=st.preserve_formants,
    )
    return np.ascontiguousarray(out, np.float32)


def _offset(a_in: ClipAnalysis, a_tg: ClipAnalysis, factor: float, notes: list[str]) -> float:
    """Seconds to delay the stretched TARGET so its first downbeat meets the INPUT's."""
    db_in, db_tg = a_in.first_downbeat_s, a_tg.first_downbeat_s
    if db_in is None or db_tg is None:
        notes.append("align tempo: no beats found in INPUT or TARGET; downbeats not aligned")
        return 0.0
    return db_in - db_tg / factor


def _info(
    align: str,
    transpose: str | int,
    a_in: ClipAnalysis | None,
    a_tg: ClipAnalysis | None,
    cfg: AnalysisConfig,
    plan: tuple[float, int] | None,
    offset: float,
    shift: int,
    notes: list[str],
) -> AlignInfo:
    """The record of one alignment; ``plan`` is (factor, octave) when the tempo was matched."""
    factor, octave = plan or (1.0, 0)
    if a_tg is None or not a_tg.tempo.reliable(cfg.tempo):
        grid_bpm, grid_db = None, None
    elif plan is not None and a_in is not None:
        grid_bpm, grid_db = a_tg.tempo.bpm * factor, a_in.first_downbeat_s
    else:
        grid_bpm, grid_db = a_tg.tempo.bpm, a_tg.first_downbeat_s
    return AlignInfo(
        align=align,
        transpose=transpose,
        input_bpm=a_in.tempo.bpm if a_in else None,
        target_bpm=a_tg.tempo.bpm if a_tg else None,
        octave_error=octave,
        stretch_factor=float(factor),
        offset_s=offset,
        input_downbeat_s=a_in.first_downbeat_s if a_in else None,
        target_downbeat_s=a_tg.first_downbeat_s if a_tg else None,
        input_key=a_in.key.name if a_in else None,
        input_key_confidence=a_in.key.confidence if a_in else None,
        target_key=a_tg.key.name if a_tg else None,
        target_key_confidence=a_tg.key.confidence if a_tg else None,
        shift_semitones=shift,
        grid_bpm=grid_bpm,
        grid_downbeat_s=grid_db,
        notes=tuple(notes),
    )
