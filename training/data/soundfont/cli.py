"""``creative-agent real-pairs OUT_DIR --pairs N``: write SoundFont pairs (sampled drum kits
and GM instruments) as ``NAME_input.wav`` / ``NAME_target.wav`` plus ``manifest.json``.

Pair i is ``render_pair_info(cfg, item_seed(seed, i))``, the same as ``SoundFontPairs(cfg,
N, seed)[i]``; NAME is ``<split>_<i>`` (zero-padded to at least 3 digits). Files are 32-bit
float WAV (the renderer's samples exactly), each written through
:mod:`plugin_host.atomic`. A folder holding same-named files but no ``manifest.json`` is
refused; files of an earlier real-pairs run are replaced. Errors are one line on stderr,
exit 1 (a missing SoundFont names the package to install); argparse usage errors exit 2.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from pedalboard.io import AudioFile

from plugin_host.atomic import write_bytes, write_json
from training.data.soundfont.dataset import config_hash
from training.data.soundfont.fonts import SPLITS, MissingSoundFontError
from training.data.soundfont.pairs import SoundFontConfig, render_pair_info
from training.data.soundfont.sequencer import FontBank
from training.data.synth import item_seed

PROG = "creative-agent real-pairs"
log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Write pairs rendered with sampled instruments (SoundFonts): INPUT drums, "
        "TARGET chords/bass/arpeggio, as NAME_input.wav / NAME_target.wav + manifest.json.",
    )
    p.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="folder (created if missing)")
    p.add_argument("--pairs", type=int, required=True, help="number of pairs")
    p.add_argument("--seconds", type=float, default=8.0, help="clip length, s (default 8)")
    p.add_argument("--seed", type=int, default=0, help="set seed (default 0)")
    p.add_argument("--sample-rate", type=int, default=44100, help="Hz (default 44100)")
    p.add_argument(
        "--split",
        choices=SPLITS,
        default="valid",
        help="instruments: the held-out validation ones (default) or the training ones",
    )
    return p


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """float32 [C, T] -> the bytes of a 32-bit float WAV file."""
    buf = io.BytesIO()
    with AudioFile(buf, "w", sample_rate, audio.shape[0], bit_depth=32, format="wav") as f:
        f.write(audio)
    return buf.getvalue()


def pair_name(split: str, i: int, pairs: int) -> str:
    return f"{split}_{i:0{max(3, len(str(pairs - 1)))}d}"


def write_pairs(out_dir: Path, cfg: SoundFontConfig, pairs: int, seed: int) -> dict[str, Any]:
    """Render and write ``pairs`` pairs and ``manifest.json`` into ``out_dir`` (existing);
    returns the manifest (per pair: name, seed, what was drawn, peaks)."""
    bank = FontBank(cfg.sample_rate)
    items = []
    for i in range(pairs):
        s = item_seed(seed, i)
        x, y, info = render_pair_info(cfg, s, bank)
        name = pair_name(cfg.split, i, pairs)
        write_bytes(out_dir / f"{name}_input.wav", wav_bytes(x, cfg.sample_rate))
        write_bytes(out_dir / f"{name}_target.wav", wav_bytes(y, cfg.sample_rate))
        info["input"]["peak"] = round(float(np.abs(x).max()), 4)
        info["target"]["peak"] = round(float(np.abs(y).max()), 4)
        items.append(dict(name=name, index=i, seed=s, **info))
        log.info("%s: %s / %s", name, info["input"]["kit"], info["target"]["chords_by"])
    manifest = dict(
        source="soundfont",
        split=cfg.split,
        seed=seed,
        pairs=pairs,
        config=cfg.to_dict(),
        config_hash=config_hash(cfg),
        items=items,
    )
    write_json(out_dir / "manifest.json", manifest)
    return manifest


def _fail(msg: str) -> int:
    print(f"{PROG}: {msg}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    out: Path = args.out_dir
    if args.pairs < 1:
        parser.error(f"--pairs must be >= 1, got {args.pairs}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    try:
        cfg = SoundFontConfig(seconds=args.seconds, sample_rate=args.sample_rate, split=args.split)
    except ValueError as exc:
        parser.error(str(exc))
    if out.exists() and not out.is_dir():
        return _fail(f"OUT_DIR {out} exists and is not a directory")
    names = [pair_name(cfg.split, i, args.pairs) for i in range(args.pairs)]
    clash = [f"{n}_{k}.wav" for n in names for k in ("input", "target")]
    clash = [c for c in clash if (out / c).exists()]
    if clash and not (out / "manifest.json").is_file():
        return _fail(f"OUT_DIR {out} already holds {clash[0]} not written by real-pairs")
    start = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_pairs(out, cfg, args.pairs, args.seed)
    except (MissingSoundFontError, ModuleNotFoundError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write to OUT_DIR {out}: {exc.strerror or exc}")
    took = time.perf_counter() - start
    print(
        f"wrote {args.pairs} pairs ({cfg.seconds:g} s, {cfg.sample_rate} Hz, stereo, split "
        f"{cfg.split}, seed {args.seed}) and manifest.json to {out} in {took:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
