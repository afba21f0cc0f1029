"""``creative-agent demo-data OUT_DIR --pairs N``: write built-in synthetic clip pairs as WAV.

Pair i is ``generate_pair(cfg, item_seed(seed, i))``, the same as ``SynthPairs(cfg, N,
seed)[i]``; files are ``input_000.wav`` / ``target_000.wav`` ... (32-bit float WAV, so the
samples are exactly the generator's), plus ``manifest.json`` describing them. Every file is
written atomically (``plugin_host.atomic``), so an interrupted run leaves no half-written
file. Files of an earlier demo-data run (a folder with ``manifest.json``) are
replaced; a folder holding same-named files without a manifest is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from plugin_host.atomic import write_text
from training.audio_files import write_audio
from training.data.synth import (
    SynthConfig,
    generate_pair_info,
    item_seed,
    train_config,
    validation_config,
)

PROG = "creative-agent demo-data"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Write built-in synthetic clip pairs (INPUT drums, TARGET harmony) as "
        "32-bit float WAV files plus manifest.json.",
    )
    p.add_argument(
        "out_dir", metavar="OUT_DIR", type=Path, help="folder to write (created if missing)"
    )
    p.add_argument(
        "--pairs", type=int, required=True, metavar="N", help="number of input/target pairs"
    )
    p.add_argument(
        "--seconds", type=float, default=4.0, metavar="S", help="clip length, s (default 4)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="base seed; pair i gets its own seed derived from it (default 0)",
    )
    p.add_argument(
        "--sample-rate", type=int, default=44100, metavar="HZ", help="sample rate (default 44100)"
    )
    p.add_argument(
        "--split",
        choices=("train", "valid"),
        default="train",
        help="generator settings: training ones or the held-out validation ones",
    )
    return p


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """audio float32 [C, T] -> 32-bit float WAV at ``path``, atomically."""
    write_audio(path, audio, sample_rate, overwrite=True)


def pair_names(i: int, pairs: int) -> dict[str, str]:
    """File names of pair ``i`` of ``pairs``: zero-padded to at least 3 digits."""
    width = max(3, len(str(pairs - 1)))
    return {k: f"{k}_{i:0{width}d}.wav" for k in ("input", "target")}


def write_pairs(
    out_dir: Path, cfg: SynthConfig, pairs: int, seed: int, split: str
) -> dict[str, Any]:
    """Write ``pairs`` pairs and ``manifest.json`` into ``out_dir`` (which must exist);
    returns the manifest (per pair: index, seed, file names, peaks and what was drawn)."""
    items = []
    for i in tqdm(range(pairs), desc="demo-data", unit="pair", disable=None):
        s = item_seed(seed, i)
        x, y, info = generate_pair_info(cfg, s)
        names = pair_names(i, pairs)
        write_wav(out_dir / names["input"], x, cfg.sample_rate)
        write_wav(out_dir / names["target"], y, cfg.sample_rate)
        info["input"]["peak"] = round(float(np.abs(x).max()), 4)
        info["target"]["peak"] = round(float(np.abs(y).max()), 4)
        items.append(dict(index=i, seed=s, files=names, **info))
    manifest = dict(split=split, seed=seed, pairs=pairs, config=cfg.to_dict(), items=items)
    text = json.dumps(manifest, indent=1)
    write_text(out_dir / "manifest.json", text + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out: Path = args.out_dir
    if args.pairs < 1:
        print(f"{PROG}: --pairs must be >= 1, got {args.pairs}", file=sys.stderr)
        return 1
    if args.seed < 0:
        print(f"{PROG}: --seed must be >= 0, got {args.seed}", file=sys.stderr)
        return 1
    make = train_config if args.split == "train" else validation_config
    try:
        cfg = make(seconds=args.seconds, sample_rate=args.sample_rate)
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    if out.exists() and not out.is_dir():
        print(f"{PROG}: OUT_DIR {out} exists and is not a directory", file=sys.stderr)
        return 1
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"{PROG}: cannot write to OUT_DIR {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if not os.access(out, os.W_OK | os.X_OK):
        print(f"{PROG}: cannot write to OUT_DIR {out}: Permission denied", file=sys.stderr)
        return 1
    clash = [
        name
        for i in range(args.pairs)
        for name in pair_names(i, args.pairs).values()
        if (out / name).exists()
    ]
    if clash and not (out / "manifest.json").is_file():
        print(
            f"{PROG}: OUT_DIR {out} already holds {clash[0]} not written by demo-data "
            "(no manifest.json); choose another folder",
            file=sys.stderr,
        )
        return 1
    start = time.perf_counter()
    write_pairs(out, cfg, args.pairs, args.seed, args.split)
    took = time.perf_counter() - start
    chans = "stereo" if cfg.channels == 2 else "mono"
    print(
        f"wrote {args.pairs} pairs ({2 * args.pairs} WAV files, {cfg.seconds:g} s, "
        f"{cfg.sample_rate} Hz, {chans}, split {args.split}, seed {args.seed}) and manifest.json "
        f"to {out} in {took:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
