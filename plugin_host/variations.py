"""Variations: one INPUT/TARGET pair rendered for every combination of several balances
and transposes, with one model session, the pair read and analysed once (issue 12, part 5).

The pair is read whole at the model's rate and analysed once
(:func:`plugin_host.render_musical.load_pair`); the musical pre-pass runs once per transpose
value; each balance then streams from those arrays through :func:`plugin_host.renderer.render`
(``prepared=``), so every variation is exactly the render one call with those knobs makes.

Files: ``OUT.wav`` becomes ``OUT.b0.30.wav`` (balance, two decimals), plus ``.tauto``,
``.tnone``, ``.t+2``, ``.t0``, ``.t-3`` before the suffix when several transposes are asked
(``OUT.b0.30.t+2.wav``); each has its report beside it (``OUT.b0.30.wav.json``).

Ranking (:func:`score`): variations that meet the seed's criteria first (input corr > 0.4
and the verdict ``mixing``), then by ``score`` = mean of ``onset_corr_input`` (rhythm kept)
and ``chroma_cos_target`` (harmony taken), highest first; an undefined score ranks last.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin_host.audio_io import AudioFileError
from plugin_host.levels import check_sources
from plugin_host.paths import AllowedRoots
from plugin_host.render_files import check_root, probe_inputs, sidecar_path
from plugin_host.render_musical import MusicalError, check_musical, load_pair, prepare
from plugin_host.renderer import RenderError, render
from plugin_host.runtime import LoadedModel, ModelLoadError, load_model

PathLike = str | os.PathLike[str]
SCORE_DOC = (
    "meets_seed_criteria first, then score = mean(onset_corr_input, chroma_cos_target), "
    "highest first"
)


@dataclass(frozen=True)
class Variation:
    """One combination: balance 0..1, transpose (``none``/``auto``/semitones), its output."""

    balance: float
    transpose: str | int
    output: Path


def transpose_tag(transpose: str | int) -> str:
    """``auto``, ``none``, ``+2``, ``0``, ``-3``: the ``.t`` part of a variation's name."""
    if isinstance(transpose, int):
        return f"{transpose:+d}" if transpose else "0"
    return transpose


def variation_path(output: PathLike, balance: float, transpose: str | int, tag: bool) -> Path:
    """``OUT.wav`` -> ``OUT.b0.30.wav`` (``OUT.b0.30.t+2.wav`` when ``tag``)."""
    p = Path(output)
    t = f".t{transpose_tag(transpose)}" if tag else ""
    return p.with_name(f"{p.stem}.b{balance:.2f}{t}{p.suffix}")


def plan(
    output: PathLike, balances: Sequence[float], transposes: Sequence[str | int]
) -> list[Variation]:
    """Every combination, balances varying fastest within each transpose."""
    if not balances or not transposes:
        raise RenderError("variations: give at least one balance and one transpose")
    parsed = []
    for t in transposes:
        try:
            parsed.append(check_musical("none", t, "auto").transpose)
        except MusicalError as exc:
            raise RenderError(str(exc)) from None
    for name, values in (("balance", list(balances)), ("transpose", parsed)):
        if len(set(values)) != len(values):
            raise RenderError(f"variations: {name} values repeat ({values})")
    tag = len(parsed) > 1
    return [Variation(b, t, variation_path(output, b, t, tag)) for t in parsed for b in balances]


def score(report: dict[str, Any]) -> float | None:
    """Mean of ``onset_corr_input`` and ``chroma_cos_target`` (None when either is)."""
    a, b = report.get("onset_corr_input"), report.get("chroma_cos_target")
    return None if a is None or b is None else (float(a) + float(b)) / 2.0


def rank(results: list[tuple[Variation, dict[str, Any]]]) -> list[tuple[Variation, dict[str, Any]]]:
    """Best first: seed criteria met, then the highest :func:`score` (None last)."""

    def key(item: tuple[Variation, dict[str, Any]]) -> tuple[bool, bool, float]:
        s = score(item[1])
        return (not item[1].get("meets_seed_criteria"), s is None, -(s or 0.0))

    return sorted(results, key=key)


def render_variations(
    input_path: PathLike,
    target_path: PathLike,
    model: PathLike | LoadedModel,
    output_path: PathLike,
    *,
    balances: Sequence[float],
    transposes: Sequence[str | int] = ("none",),
    align: str = "none",
    timeline: str = "auto",
    reports: bool = True,
    plots: bool = False,
    overwrite: bool = False,
    provider: str = "auto",
    allow_roots: AllowedRoots | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    on_report: Callable[[Variation, dict[str, Any]], None] | None = None,
    **render_kwargs: Any,
) -> list[tuple[Variation, dict[str, Any]]]:
    """Render every variation (:func:`plan`); returns them ranked (:func:`rank`).

    ``reports``/``plots``: write ``OUT.b0.30.wav.json``/``.png`` beside each output;
    ``render_kwargs`` go to every :func:`render` (chain, fit, output_gain_db, ...);
    ``on_report(variation, report)`` is called as each one finishes. Every output is
    checked before the first render (an existing one needs ``overwrite``). Raises
    ``RenderError`` for bad input."""
    todo = plan(output_path, balances, transposes)
    try:
        check_musical(align, "none", timeline)
        for v in todo:
            for p in (v.output, sidecar_path(v.output, ".json"), sidecar_path(v.output, ".png")):
                if not overwrite and p.exists():
                    raise RenderError(f"output {p}: exists (pass overwrite / --overwrite)")
        info_in, info_tg = probe_inputs(input_path, target_path, allow_roots)
        if not isinstance(model, LoadedModel):
            check_root(model, "model", allow_roots)
            model = load_model(model, provider=provider)
        sources = check_sources(info_in, info_tg)
        rate = model.metadata.sample_rate
        wants = [check_musical(align, v.transpose, timeline) for v in todo]
        pair = load_pair(info_in, info_tg, rate, any(w.active for w in wants),
                         any(w.aligns for w in wants))  # fmt: skip
    except (AudioFileError, ModelLoadError, MusicalError, ValueError) as exc:
        if isinstance(exc, RenderError):
            raise
        raise RenderError(str(exc)) from exc
    preps = {}
    results = []
    for i, (v, settings) in enumerate(zip(todo, wants, strict=True)):
        if v.transpose not in preps:
            prep = prepare(info_in, info_tg, rate, settings, pair)
            preps[v.transpose] = dataclasses.replace(prep, sources=sources)

        def part(fraction: float, i: int = i) -> None:
            if progress is not None:
                progress((i + fraction) / len(todo))

        report = render(
            input_path, target_path, model, v.output,
            balance=v.balance, align=align, transpose=v.transpose, timeline=timeline,
            prepared=preps[v.transpose], overwrite=overwrite, allow_roots=allow_roots,
            report_path=sidecar_path(v.output, ".json") if reports else None,
            plot_path=sidecar_path(v.output, ".png") if plots else None,
            progress=part, cancel=cancel, **render_kwargs,
        )  # fmt: skip
        results.append((v, report))
        if on_report is not None:
            on_report(v, report)
    return rank(results)


def ranking_json(ranked: list[tuple[Variation, dict[str, Any]]]) -> dict[str, Any]:
    """The machine-readable ranking (``--json``): the score's definition and one row per
    variation, best first, each with its whole report."""
    rows = []
    for n, (v, rep) in enumerate(ranked, 1):
        s = score(rep)
        rows.append({
            "rank": n, "output": str(v.output), "balance": v.balance,
            "transpose": v.transpose, "meets_seed_criteria": bool(rep.get("meets_seed_criteria")),
            "score": None if s is None else round(s, 4), "report": rep,
        })  # fmt: skip
    return {"score": SCORE_DOC, "variations": rows}


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def ranking_table(ranked: list[tuple[Variation, dict[str, Any]]]) -> str:
    """Plain text: one line per variation, best first, and the score's definition."""
    head = ("rank", "output", "balance", "transpose", "seed", "verdict", "onset_in",
            "chroma_tg", "score")  # fmt: skip
    lines: list[tuple[str, ...]] = [head]
    for n, (v, rep) in enumerate(ranked, 1):
        lines.append((
            str(n), v.output.name, f"{v.balance:.2f}", transpose_tag(v.transpose),
            "yes" if rep.get("meets_seed_criteria") else "no", str(rep.get("verdict")),
            _f(rep.get("onset_corr_input")), _f(rep.get("chroma_cos_target")), _f(score(rep)),
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines]
    return "\n".join([*text, f"ranked by: {SCORE_DOC}"])
