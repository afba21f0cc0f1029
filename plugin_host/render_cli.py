"""``creative-agent render``: render one INPUT/TARGET pair; prints a one-line summary (or
the report JSON with ``--json``) and writes the report JSON beside the output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from plugin_host.render import FITS, RenderCancelled, RenderError, render
from plugin_host.report_text import summary_line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="creative-agent render",
        description="Mix INPUT's rhythm with TARGET's harmony through an exported agent, "
        "between optional pedalboard effect chains.",
    )
    p.add_argument("--input", required=True, help="the clip that gives rhythm/structure")
    p.add_argument("--target", required=True, help="the clip that gives harmony")
    p.add_argument("--model", required=True, help="an ONNX file from 'creative-agent export'")
    p.add_argument(
        "-o", "--output", required=True, help="output audio (.wav .flac .aiff .ogg .mp3)"
    )
    p.add_argument("--chain", help="chain JSON with input_chain/target_chain/output_chain")
    p.add_argument("--balance", type=float, default=0.5, help="input's share, 0..1 (default 0.5)")
    p.add_argument("--fit", choices=FITS, default="loop",
                   help="length mismatch: loop the target (default), pad or trim")  # fmt: skip
    p.add_argument("--report", help="report JSON path (default: OUTPUT with .json)")
    p.add_argument("--no-report", action="store_true", help="write no report file")
    p.add_argument("--plot", help="PNG with spectrograms and masks")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--provider", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--json", action="store_true", help="print the report JSON to stdout")
    p.add_argument("--progress", action="store_true", help="show a progress bar on stderr")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    report_path = None
    if not args.no_report:
        report_path = args.report or str(Path(args.output).with_suffix(".json"))
    bar = None
    if args.progress:
        from tqdm import tqdm

        bar = tqdm(total=100, unit="%", file=sys.stderr, leave=False)

    def on_progress(fraction: float) -> None:
        if bar is not None:
            bar.update(round(100 * fraction) - bar.n)

    try:
        report = render(
            args.input,
            args.target,
            args.model,
            args.output,
            chain=args.chain,
            balance=args.balance,
            fit=args.fit,
            report_path=report_path,
            plot_path=args.plot,
            overwrite=args.overwrite,
            progress=on_progress,
            provider=args.provider,
        )
    except RenderError as exc:
        print(f"creative-agent render: error: {exc}", file=sys.stderr)
        return 1
    except (RenderCancelled, KeyboardInterrupt):
        print("creative-agent render: cancelled; nothing written", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    print(json.dumps(report, indent=2) if args.json else summary_line(report))
    return 0
