"""Presentation of a render report for people (computation is in ``plugin_host/report.py``
and ``plugin_host/measures``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugin_host.timeline import weak_text


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def summary_line(report: Mapping[str, Any]) -> str:
    """One line: verdict, correlations, shares, rhythm/harmony, speed (a ``RenderReport``),
    then the weakest bars or seconds of its ``timeline`` when any is weak
    (:func:`plugin_host.timeline.weak_text`)."""
    name = Path(str(report.get("output", "output"))).name
    return (
        f"{name}: {report.get('verdict') or 'undefined'} | corr in "
        f"{_fmt(report.get('output_input_corr'))} tg {_fmt(report.get('output_target_corr'))}"
        f" | share in {_fmt(report.get('share_input'))} resid {_fmt(report.get('residual'))}"
        f" | onset in {_fmt(report.get('onset_corr_input'))}"
        f" | chroma tg {_fmt(report.get('chroma_cos_target'))}"
        f" | {report['durations_s']['output']:.1f} s in {report['render_seconds']:.2f} s"
        f" (RTF {_fmt(report.get('rtf'), '.3f')}, {report.get('provider')})"
        + (f" | {weak}" if (weak := weak_text(report.get("timeline"))) else "")
    )
