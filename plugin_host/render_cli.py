"""``creative-agent render``: render one INPUT/TARGET pair; prints a one-line summary (or
the report JSON with ``--json``) and writes the report JSON beside the output
(``OUTPUT.json`` after the whole file name, e.g. ``mix.wav.json``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator

from plugin_host.audio_io import AudioFileError, probe
from plugin_host.balance_curve import BalanceCurve, BalanceCurveError, parse_balances
from plugin_host.bundled import NoBundledModelError, resolve_model
from plugin_host.musical.align import ALIGN_MODES, parse_transpose
from plugin_host.render_files import sidecar_path
from plugin_host.render_musical import TIMELINES
from plugin_host.renderer import FITS, OUTPUT_GAIN_RANGE_DB, RenderCancelled, RenderError, render
from plugin_host.report_text import summary_line
from plugin_host.runtime import add_provider_argument

PROG = "creative-agent render"


def _floats(text: str) -> list[float]:
    """``0.3,0.5,0.7`` -> [0.3, 0.5, 0.7] (argparse type)."""
    try:
        return parse_balances(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _transposes(text: str) -> list[str | int]:
    """``auto,0,+2`` -> ['auto', 0, 2] (argparse type)."""
    try:
        return [parse_transpose(x) for x in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Mix INPUT's rhythm with TARGET's harmony through an exported agent, "
        "between optional pedalboard effect chains. Errors are one line on stderr with exit "
        "status 1; usage errors exit 2.",
    )
    p.add_argument("--input", required=True, help="the clip that gives rhythm/structure")
    p.add_argument("--target", required=True, help="the clip that gives harmony")
    p.add_argument(
        "--model",
        help="an ONNX file from 'creative-agent export' (default: the bundled model, "
        "docs/model-card.md)",
    )
    p.add_argument(
        "-o", "--output", required=True, help="output audio (.wav .flac .aiff .ogg .mp3)"
    )
    p.add_argument("--chain", help="chain JSON with input_chain/target_chain/output_chain")
    p.add_argument(
        "--balance",
        type=_floats,
        default=[0.5],
        metavar="B[,B...]",
        help="input's share, 0..1 (default 0.5); a comma list renders variations",
    )
    p.add_argument("--balance-curve", metavar="FILE",
                   help="balance automation: CSV (time,value rows; header bars,value for bars) "
                   "or JSON ({\"unit\": \"s\"|\"bars\", \"points\": [[t, v], ...]}); "
                   "excludes --balance")  # fmt: skip
    p.add_argument("--share-calibration", action=argparse.BooleanOptionalAction, default=True,
                   help="correct the two masks so the input's share of the masked energy "
                   "follows the balance (a slow, limited gain after the model; default on)")  # fmt: skip
    p.add_argument(
        "--align",
        choices=ALIGN_MODES,
        default="none",
        help="tempo: stretch TARGET to INPUT's tempo and downbeat (default none)",
    )
    p.add_argument(
        "--transpose",
        type=_transposes,
        default=["none"],
        metavar="T[,T...]",
        help="none (default), auto (INPUT's key) or semitones; a comma list renders variations",
    )
    p.add_argument(
        "--timeline",
        choices=TIMELINES,
        default="auto",
        help="report timeline: auto, bars (analyse INPUT's bars) or seconds",
    )
    p.add_argument("--fit", choices=FITS, default="loop",
                   help="length mismatch: loop the target (default), pad or trim")  # fmt: skip
    lo, hi = OUTPUT_GAIN_RANGE_DB
    p.add_argument("--output-gain-db", type=float, default=0.0, metavar="DB",
                   help=f"final gain after the output chain, {lo:g}..{hi:g} dB (default 0)")  # fmt: skip
    p.add_argument("--report", help="report JSON path (default: OUTPUT.json, e.g. mix.wav.json)")
    p.add_argument("--no-report", action="store_true", help="write no report file")
    p.add_argument("--plot", nargs="?", const="", metavar="PNG",
                   help="PNG with spectrograms and masks (default name: OUTPUT.png)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_provider_argument(p)
    p.add_argument("--json", action="store_true", help="print the report JSON to stdout")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr in seconds of audio (default: on when "
                   "stderr is a terminal)")  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true", help="log INFO lines on stderr")
    return p


def _output_seconds(args: argparse.Namespace) -> float | None:
    """The output's length in seconds for the progress bar (None if a file is unusable:
    the render then reports it)."""
    try:
        d_in, d_tg = probe(args.input).duration, probe(args.target).duration
    except AudioFileError:
        return None
    return {"loop": d_in, "trim": min(d_in, d_tg), "pad": max(d_in, d_tg)}[args.fit]


@contextlib.contextmanager
def _progress_bar(seconds: float | None) -> Iterator[Callable[[float], None] | None]:
    """A tqdm bar in seconds of audio on stderr; log lines go through ``tqdm.write`` so
    none lands on the bar."""
    if seconds is None:
        yield None
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    fmt = "{l_bar}{bar}| {n:.1f}/{total:.1f} s of audio [{elapsed}<{remaining}]"
    with tqdm(total=round(seconds, 1), file=sys.stderr, leave=False, bar_format=fmt) as bar:

        def update(fraction: float) -> None:
            bar.update(round(fraction * seconds, 1) - bar.n)

        with logging_redirect_tqdm():
            yield update


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.no_report and args.report:
        parser.error("--no-report and --report exclude each other")
    if args.balance_curve and args.balance != parser.get_default("balance"):
        parser.error("--balance-curve and --balance exclude each other")
    if args.verbose:
        logging.getLogger().setLevel(logging.INFO)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    if len(args.balance) > 1 or len(args.transpose) > 1:
        if args.balance_curve:
            parser.error("--balance-curve takes one render: no comma lists with it")
        if args.report or args.plot:  # --plot without a PATH: one beside each output
            parser.error("variations write OUT.b0.30.wav.json (.png) beside each output; "
                         "--report/--plot PATH take one render")  # fmt: skip
        return _variations(args, show)
    report_path = None if args.no_report else (args.report or sidecar_path(args.output, ".json"))
    plot_path = None if args.plot is None else (args.plot or sidecar_path(args.output, ".png"))
    try:
        model, label = resolve_model(args.model)
    except NoBundledModelError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    if args.model is None:
        print(f"{PROG}: model: {label}", file=sys.stderr)
    balance: float | BalanceCurve = args.balance[0]
    try:
        if args.balance_curve:
            balance = BalanceCurve.from_file(args.balance_curve)
    except BalanceCurveError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    try:
        with _progress_bar(_output_seconds(args) if show else None) as on_progress:
            report = render(
                args.input,
                args.target,
                model,
                args.output,
                chain=args.chain,
                balance=balance,
                fit=args.fit,
                align=args.align,
                transpose=args.transpose[0],
                timeline=args.timeline,
                share_calibration=args.share_calibration,
                output_gain_db=args.output_gain_db,
                report_path=report_path,
                plot_path=plot_path,
                overwrite=args.overwrite,
                progress=on_progress,
                provider=args.provider,
            )
    except RenderError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except (RenderCancelled, KeyboardInterrupt):
        print(f"{PROG}: cancelled; nothing written", file=sys.stderr)
        return 130
    print(json.dumps(report, indent=2) if args.json else summary_line(report))
    return 0


def _variations(args: argparse.Namespace, show: bool) -> int:
    """Every combination of ``--balance`` and ``--transpose``: one model, ranked table."""
    from plugin_host.variations import ranking_json, ranking_table, render_variations

    seconds = _output_seconds(args) if show else None
    count = len(args.balance) * len(args.transpose)
    try:
        model, label = resolve_model(args.model)
        if args.model is None:
            print(f"{PROG}: model: {label}", file=sys.stderr)
        with _progress_bar(None if seconds is None else seconds * count) as on_progress:
            ranked = render_variations(
                args.input, args.target, model, args.output,
                balances=args.balance, transposes=args.transpose, align=args.align,
                timeline=args.timeline, reports=not args.no_report, plots=args.plot is not None,
                overwrite=args.overwrite,
                provider=args.provider, chain=args.chain, fit=args.fit,
                output_gain_db=args.output_gain_db, progress=on_progress,
                share_calibration=args.share_calibration,
            )  # fmt: skip
    except (RenderError, NoBundledModelError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except (RenderCancelled, KeyboardInterrupt):
        print(f"{PROG}: cancelled; variations not yet written are not written", file=sys.stderr)
        return 130
    print(json.dumps(ranking_json(ranked), indent=2) if args.json else ranking_table(ranked))
    return 0
