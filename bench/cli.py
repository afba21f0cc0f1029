"""``creative-agent bench``: parse the options, run the benchmarks, write the two files.

RTF here is audio seconds / wall seconds (how many times faster than real time); a render
report's ``rtf`` field is the inverse (wall / audio). Times are medians of ``runs`` runs after
``warmup`` warm-up runs, the contenders of a comparison interleaved round by round (order
rotated each round, a short idle before each call) so that load from other processes and
leftover worker threads hit them alike. The sections are listed in ``bench/__init__.py``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from bench.config import SECTIONS, BenchConfig, BenchError
from bench.markdown import to_markdown
from bench.run import run
from plugin_host.atomic import write_json, write_text
from plugin_host.runtime import available_cores

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Measure the project on this machine within one run: the host against PyTorch eager, "
    "against its own streaming path with an identity core and against the bare FFTs of the "
    "same frames, a render end to end with chains, render-batch throughput and a render's "
    "cold start in fresh processes, the OSC render round trip, peak memory per clip length, two DSP baselines, training throughput with 1 and 2 "
    "processes, and the GPU when there is one. Writes OUT/benchmarks.md and OUT/bench.json."
)
EPILOG = "RTF (× real time) is audio seconds / wall seconds; times are medians of the runs."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="creative-agent bench", description=DESCRIPTION, epilog=EPILOG)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("docs"),
        help="folder for benchmarks.md and bench.json, created if missing (default: docs)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 2 s clips, one run, tiny model, 4 batch pairs and 3 OSC renders "
        "of 1 s (figures not meaningful)",
    )
    p.add_argument("--checkpoint", type=Path, help="a trained checkpoint (default: fresh model)")
    p.add_argument(
        "--threads",
        type=int,
        default=available_cores(),
        help="threads for torch, ONNX Runtime and scipy.fft (default: all available cores)",
    )
    p.add_argument("--runs", type=int, help="timed runs per contender (default 7; quick 1)")
    p.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)",
    )
    return p


def parse_config(argv: list[str] | None) -> BenchConfig:
    """The run's config from the command line; argparse's usage error (exit 2) when bad."""
    p = parser()
    args = p.parse_args(argv)
    sections = tuple(x.strip() for x in args.sections.split(",") if x.strip())
    bad = [x for x in sections if x not in SECTIONS]
    if bad or not sections:
        p.error(f"--sections: unknown {bad or sections}; choose from {', '.join(SECTIONS)}")
    if args.threads < 1 or (args.runs is not None and args.runs < 1):
        p.error("--threads and --runs must be >= 1")
    if args.checkpoint is not None and not args.checkpoint.is_file():
        p.error(f"--checkpoint {args.checkpoint}: file not found")
    if args.out.exists() and not args.out.is_dir():
        p.error(f"--out {args.out}: exists and is not a folder")
    kw: dict[str, Any] = {"checkpoint": args.checkpoint, "threads": args.threads}
    kw["sections"] = sections
    if args.runs is not None:
        kw["runs"] = args.runs
    return BenchConfig.quick_config(args.out, **kw) if args.quick else BenchConfig(args.out, **kw)


def main(argv: list[str] | None = None) -> int:
    """``creative-agent bench [--out DIR] [--quick] [--checkpoint CKPT] [--threads N]
    [--runs N] [--sections host,chains,...]``; 0, or 1 with one line on stderr."""
    cfg = parse_config(argv)
    try:
        cfg.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"creative-agent bench: error: --out {cfg.out}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        results = run(cfg)
    except BenchError as exc:
        print(f"creative-agent bench: error: {exc}", file=sys.stderr)
        return 1
    shown = argv if argv is not None else sys.argv[1:]
    results["command"] = " ".join(["creative-agent bench", *shown])
    text = to_markdown(results)
    write_json(cfg.out / "bench.json", results)
    write_text(cfg.out / "benchmarks.md", text)
    print(text)
    print(f"wrote {cfg.out / 'benchmarks.md'} and {cfg.out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
