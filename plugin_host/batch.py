"""``creative-agent render-batch MANIFEST.csv``: render many pairs, report each, summarise.

The manifest is CSV with a header: ``input,target,output`` and optional ``balance``,
``chain``, ``fit`` columns (paths relative to the manifest's folder; empty cells take the
defaults). A bad row fails alone: the others still render, failures are listed at the end
and the exit status is 1. ``--workers N`` renders N rows at once in separate processes, each
holding its own ONNX Runtime session.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from plugin_host.render import FITS, RenderCancelled, RenderError, render
from plugin_host.runtime import LoadedModel, ModelLoadError, load_model

log = logging.getLogger(__name__)

REQUIRED = ("input", "target", "output")
OPTIONAL = ("balance", "chain", "fit")


class ManifestError(ValueError):
    """A manifest that cannot be read at all (missing, no header, missing columns)."""


@dataclass
class Row:
    """One manifest line: render() arguments, or the reason it cannot run."""

    line: int
    output: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def read_manifest(path: Path) -> list[Row]:
    """Parse ``path``; row-level problems become ``Row.error`` (the row fails alone)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ManifestError(f"{path}: manifest not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read manifest ({exc})") from exc
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ManifestError(
            f"{path}: header must name {', '.join(REQUIRED)} (optional: {', '.join(OPTIONAL)});"
            f" missing {', '.join(missing)}"
        )
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise ManifestError(f"{path}: unknown column {unknown[0]!r}")
    base = path.parent
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(reader, start=2):
        cells = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        if not any(cells.values()):
            continue
        row = Row(i, cells.get("output", ""))
        rows.append(row)
        empty = [c for c in REQUIRED if not cells.get(c)]
        if empty:
            row.error = f"line {i}: empty {', '.join(empty)}"
            continue
        out = str((base / cells["output"]).resolve())
        if out in seen:
            row.error = f"line {i}: output {cells['output']} already written by line {seen[out]}"
            continue
        seen[out] = i
        kwargs: dict[str, Any] = {
            "input_path": str(base / cells["input"]),
            "target_path": str(base / cells["target"]),
            "output_path": str(base / cells["output"]),
        }
        try:
            if cells.get("balance"):
                kwargs["balance"] = float(cells["balance"])
                if not math.isfinite(kwargs["balance"]):
                    raise ValueError
        except ValueError:
            row.error = f"line {i}: balance {cells['balance']!r} is not a number"
            continue
        if cells.get("fit"):
            if cells["fit"] not in FITS:
                row.error = f"line {i}: fit {cells['fit']!r}; choose one of {', '.join(FITS)}"
                continue
            kwargs["fit"] = cells["fit"]
        if cells.get("chain"):
            kwargs["chain"] = str(base / cells["chain"])
        row.kwargs = kwargs
    return rows


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
    report_path = None
    if common["report"]:
        report_path = str(Path(kwargs["output_path"]).with_suffix(".json"))
    return render(model=model, report_path=report_path, **kwargs,
                  overwrite=common["overwrite"])  # fmt: skip


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
    show_progress: bool = True,
) -> tuple[list[Row], dict[int, dict[str, Any] | str]]:
    """Render every row; returns the rows and, per line number, a report or an error."""
    rows = read_manifest(manifest)
    results: dict[int, dict[str, Any] | str] = {r.line: r.error for r in rows if r.error}
    todo = [r for r in rows if not r.error]
    common = {"overwrite": overwrite, "report": report}
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


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="creative-agent render-batch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("manifest", help="CSV: input,target,output[,balance,chain,fit]")
    p.add_argument("--model", required=True, help="ONNX model for every row")
    p.add_argument("--workers", type=int, default=1, help="rows rendered at once (processes)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--no-report", action="store_true", help="no per-clip JSON beside outputs")
    p.add_argument("--summary", help="also write the summary (all reports) as JSON here")
    p.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error("--workers must be >= 1")
    started = time.perf_counter()
    try:
        rows, results = run_batch(
            Path(args.manifest),
            args.model,
            workers=args.workers,
            overwrite=args.overwrite,
            report=not args.no_report,
            provider=args.provider,
            show_progress=not args.quiet,
        )
    except (ManifestError, ModelLoadError) as exc:
        print(f"creative-agent render-batch: error: {exc}", file=sys.stderr)
        return 2
    print(summary_table(rows, results))
    print(f"total {time.perf_counter() - started:.1f} s")
    if args.summary:
        data = {"manifest": args.manifest, "rows": [
            {"line": r.line, "output": r.output, "result": results.get(r.line)} for r in rows
        ]}  # fmt: skip
        tmp = Path(args.summary).with_name(f".{Path(args.summary).name}.partial")
        tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, args.summary)
    return 0 if all(isinstance(results.get(r.line), dict) for r in rows) else 1
