"""``creative-agent render-batch MANIFEST.csv``: render many pairs, report each, summarise.

The manifest is CSV with a header: ``input,target,output`` and optional ``balance``,
``balance_curve`` (a curve file, plugin_host/balance_curve.py), ``chain``, ``fit``,
``output_gain_db``, ``align``, ``transpose`` columns (paths relative to the manifest's folder;
empty cells take the defaults). Blank lines and lines starting with ``#`` are skipped; line
numbers in messages are the file's physical lines. A missing output folder is created. A bad
row fails alone: the others still render, failures are listed at the end and the exit
status is 1. ``--workers N`` renders N rows at once in separate processes, each holding its
own ONNX Runtime session.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from plugin_host.atomic import write_json
from plugin_host.balance_curve import BalanceCurve, BalanceCurveError
from plugin_host.bundled import NoBundledModelError, resolve_model
from plugin_host.render_files import sidecar_path
from plugin_host.render_musical import MusicalError, check_musical
from plugin_host.renderer import FITS, RenderCancelled, RenderError, render
from plugin_host.runtime import (
    LoadedModel,
    ModelLoadError,
    add_provider_argument,
    load_model,
)

log = logging.getLogger(__name__)

REQUIRED = ("input", "target", "output")
OPTIONAL = ("balance", "balance_curve", "chain", "fit", "output_gain_db", "align", "transpose")
NUMBERS = ("balance", "output_gain_db")  # optional columns holding a finite float


class ManifestError(ValueError):
    """A manifest that cannot be read at all (missing, no header, missing columns)."""


@dataclass
class Row:
    """One manifest line: render() arguments, or the reason it cannot run (one line, without
    the ``line N:`` prefix that the summary adds)."""

    line: int
    output: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, its cells) for each non-empty CSV record.

    Blank lines, lines of empty cells and ``#`` comment lines are skipped but counted.
    """
    lines = ("\n" if ln.lstrip().startswith("#") else ln for ln in io.StringIO(text, newline=""))
    reader = csv.reader(lines)
    start = 1
    for cells in reader:
        if any(c.strip() for c in cells):
            yield start, [c.strip() for c in cells]
        start = reader.line_num + 1


def read_manifest(path: Path) -> list[Row]:
    """Parse ``path``; row-level problems become ``Row.error`` (the row fails alone)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ManifestError(f"{path}: manifest not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read manifest ({exc})") from exc
    records = _records(text)
    header = next(records, (0, []))[1]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ManifestError(
            f"{path}: header must name {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)});"
            f" missing {', '.join(missing)}"
        )
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise ManifestError(f"{path}: unknown column {unknown[0]!r}")
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, values in records:
        cells = dict(zip(header, values, strict=False))  # extra cells ignored, missing empty
        row = Row(line, cells.get("output", ""))
        rows.append(row)
        row.error = _parse_row(cells, path.parent, row, seen)
    return rows


def _parse_row(cells: dict[str, str], base: Path, row: Row, seen: dict[str, int]) -> str | None:
    """Fill ``row.kwargs`` from a row's cells; return the row's error, if any.

    ``seen`` maps each resolved output path to the line that writes it."""
    empty = [c for c in REQUIRED if not cells.get(c)]
    if empty:
        return f"empty {', '.join(empty)}"
    out = str((base / cells["output"]).resolve())
    if out in seen:
        return f"output {cells['output']} already written by line {seen[out]}"
    seen[out] = row.line
    kwargs: dict[str, Any] = {
        "input_path": str(base / cells["input"]),
        "target_path": str(base / cells["target"]),
        "output_path": str(base / cells["output"]),
    }
    for name in NUMBERS:
        if cells.get(name):
            try:
                kwargs[name] = float(cells[name])
            except ValueError:
                kwargs[name] = math.nan
            if not math.isfinite(kwargs[name]):
                return f"{name} {cells[name]!r} is not a number"
    if cells.get("fit"):
        if cells["fit"] not in FITS:
            return f"fit {cells['fit']!r}; choose one of {', '.join(FITS)}"
        kwargs["fit"] = cells["fit"]
    if cells.get("chain"):
        kwargs["chain"] = str(base / cells["chain"])
    if cells.get("balance_curve"):
        if cells.get("balance"):
            return "balance and balance_curve exclude each other"
        try:
            kwargs["balance"] = BalanceCurve.from_file(base / cells["balance_curve"])
        except BalanceCurveError as exc:
            return str(exc)
    try:  # align none|tempo, transpose none|auto|N (plugin_host.render_musical)
        musical = check_musical(cells.get("align") or "none", cells.get("transpose") or "none",
                                "auto")  # fmt: skip
    except MusicalError as exc:
        return str(exc)
    kwargs.update(musical.render_kwargs())
    row.kwargs = kwargs
    return None


# One loaded model per worker process, set by the pool initializer (the standard pattern
# for process pools: the session cannot be pickled, so each worker opens its own).
_WORKER_MODEL: LoadedModel | None = None


def _init_worker(model_path: str, provider: str, threads: int) -> None:
    global _WORKER_MODEL
    logging.basicConfig(level=logging.WARNING)
    _WORKER_MODEL = load_model(model_path, provider=provider, threads=threads)


def _render_row(kwargs: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    assert _WORKER_MODEL is not None, "worker not initialised"
    return _render_with(_WORKER_MODEL, kwargs, common)


def _render_with(
    model: LoadedModel, kwargs: dict[str, Any], common: dict[str, Any]
) -> dict[str, Any]:
    """Render one row: its cells over the batch's ``common`` settings (``overwrite``,
    ``report``, ``output_gain_db``, ``share_calibration``); a missing output folder is created first."""
    args = dict(kwargs)
    output = Path(args["output_path"])
    gain = args.pop("output_gain_db", common["output_gain_db"])
    if gain != 0.0:  # render's default (0 dB) is left to render
        args["output_gain_db"] = gain
    report_path = str(sidecar_path(output, ".json")) if common["report"] else None
    make_folder(output, "output")
    return render(model=model, report_path=report_path, overwrite=common["overwrite"],
                  share_calibration=common["share_calibration"], **args)  # fmt: skip


def make_folder(path: Path, what: str) -> None:
    """Create ``path``'s folder (and its parents) if missing; RenderError if impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(
            f"{what} {path}: cannot create folder {path.parent} ({exc.strerror or exc})"
        ) from None


def _fmt(x: Any) -> str:
    return f"{x:.2f}" if isinstance(x, float) else ("-" if x is None else str(x))


def summary_table(rows: list[Row], results: dict[int, dict[str, Any] | str]) -> str:
    """A plain-text table: one line per row, failures with their one-line reason below."""
    head = ("line", "output", "status", "verdict", "corr_in", "corr_tg", "share_in", "rtf")
    lines: list[tuple[str, ...]] = [head]
    failures = []
    for row in rows:
        res = results.get(row.line, "not run")
        if isinstance(res, dict):
            lines.append(
                (str(row.line), row.output, "ok", _fmt(res.get("verdict")),
                 _fmt(res.get("output_input_corr")), _fmt(res.get("output_target_corr")),
                 _fmt(res.get("share_input")), f"{res.get('rtf', 0.0):.3f}")
            )  # fmt: skip
        else:
            lines.append((str(row.line), row.output, "FAILED", "-", "-", "-", "-", "-"))
            failures.append(f"  line {row.line}: {res}")
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines]
    ok = sum(isinstance(results.get(r.line), dict) for r in rows)
    text.append(f"{ok} of {len(rows)} rendered, {len(rows) - ok} failed")
    if failures:
        text += ["failures:", *failures]
    return "\n".join(text)


def run_batch(
    manifest: Path,
    model_path: str,
    *,
    workers: int = 1,
    overwrite: bool = False,
    report: bool = True,
    provider: str = "auto",
    output_gain_db: float = 0.0,
    show_progress: bool = True,
    share_calibration: bool = True,
) -> tuple[list[Row], dict[int, dict[str, Any] | str]]:
    """Render every row; returns the rows and, per line number, a report or an error.

    output_gain_db: gain (dB) after the output chain for rows without their own cell;
    share_calibration: every row's masked share follows its knob (render's option)."""
    rows = read_manifest(manifest)
    results: dict[int, dict[str, Any] | str] = {r.line: r.error for r in rows if r.error}
    todo = [r for r in rows if not r.error]
    common = {"overwrite": overwrite, "report": report, "output_gain_db": output_gain_db,
              "share_calibration": share_calibration}  # fmt: skip
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="clip", file=sys.stderr, disable=not show_progress)
    model = load_model(model_path, provider=provider)  # a bad model fails the whole batch here
    try:
        if workers <= 1:
            for row in todo:
                results[row.line] = _outcome(lambda r=row: _render_with(model, r.kwargs, common))
                bar.update(1)
        else:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
            threads = max(1, cores // workers)
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(model_path, provider, threads),
            ) as pool:
                futures: dict[Future[dict[str, Any]], Row] = {
                    pool.submit(_render_row, row.kwargs, common): row for row in todo
                }
                for fut in as_completed(futures):
                    results[futures[fut].line] = _outcome(fut.result)
                    bar.update(1)
    finally:
        bar.close()
    return rows, results


def _outcome(call: Any) -> dict[str, Any] | str:
    """A row's report, or its one-line error (render errors and crashes of one row)."""
    try:
        result: dict[str, Any] = call()
        return result
    except (RenderError, RenderCancelled, ModelLoadError) as exc:
        return str(exc)
    except Exception as exc:  # one row's unexpected failure must not stop the batch
        log.exception("row failed unexpectedly")
        return f"{type(exc).__name__}: {exc}"


DESCRIPTION = """\
Render many INPUT/TARGET pairs listed in a CSV manifest through one model,
write a report beside each output and print a summary table."""

EPILOG = """\
The manifest is CSV with a header naming input,target,output and optionally balance,
balance_curve (a CSV/JSON curve file, as render's --balance-curve), chain, fit,
output_gain_db, align (none|tempo), transpose (none|auto|N). Paths are relative to the
manifest's folder; an empty cell
takes the command's default. Blank lines and lines starting with # are skipped; messages
give the file's line numbers. Missing output folders are created.

A bad row fails alone: the other rows still render, the failures are listed after the
table and the exit status is 1. Each row's report is its output's name plus .json
(renders/a.wav -> renders/a.wav.json)."""


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``creative-agent render-batch``."""
    p = argparse.ArgumentParser(prog="creative-agent render-batch", description=DESCRIPTION,
                                epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("manifest", help="the CSV manifest (its columns are described below)")
    p.add_argument(
        "--model", help="ONNX model for every row (default: the bundled model, docs/model-card.md)"
    )
    p.add_argument("--workers", type=int, default=1, help="rows rendered at once (processes)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--no-report", action="store_true", help="no per-clip JSON beside outputs")
    p.add_argument("--summary", help="also write the summary (all reports) as JSON here")
    p.add_argument("--output-gain-db", type=float, default=0.0, metavar="DB",
                   help="gain after the output chain, for rows without an output_gain_db "
                        "cell (default 0)")  # fmt: skip
    add_provider_argument(p)
    p.add_argument("--share-calibration", action=argparse.BooleanOptionalAction, default=True,
                   help="every row's masked share follows its balance (as render's flag; "
                   "default on)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str]) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error("--workers must be >= 1")
    if not math.isfinite(args.output_gain_db):
        p.error(f"--output-gain-db {args.output_gain_db}: not a finite number")
    started = time.perf_counter()
    try:
        given = args.model
        args.model, label = resolve_model(given)
        if given is None:
            print(f"creative-agent render-batch: model: {label}", file=sys.stderr)
        if args.summary:
            _check_summary(Path(args.summary), Path(args.manifest), Path(args.model))
        rows, results = run_batch(
            Path(args.manifest),
            args.model,
            workers=args.workers,
            overwrite=args.overwrite,
            report=not args.no_report,
            provider=args.provider,
            output_gain_db=args.output_gain_db,
            share_calibration=args.share_calibration,
            show_progress=not args.quiet,
        )
    except (ManifestError, ModelLoadError, RenderError, NoBundledModelError) as exc:
        print(f"creative-agent render-batch: error: {exc}", file=sys.stderr)
        return 1
    print(summary_table(rows, results))
    print(f"total {time.perf_counter() - started:.1f} s")
    if args.summary:
        data = {"manifest": args.manifest, "rows": [
            {"line": r.line, "output": r.output, "result": results.get(r.line)} for r in rows
        ]}  # fmt: skip
        write_json(args.summary, data)
    return 0 if all(isinstance(results.get(r.line), dict) for r in rows) else 1


def _check_summary(summary: Path, *inputs: Path) -> None:
    """Refuse a summary path that is one of the inputs; create its folder if missing."""
    real = os.path.realpath(summary)
    for path in inputs:
        if real == os.path.realpath(path):
            raise RenderError(f"summary {summary}: same file as {path}; refusing to overwrite it")
    make_folder(summary, "summary")
