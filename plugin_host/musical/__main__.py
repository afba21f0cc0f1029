"""``python -m plugin_host.musical FILE...``: print each file's tempo, downbeat and key.

``--pair INPUT TARGET`` prints instead what ``align_pair`` would do to TARGET under INPUT
(``--align``, ``--transpose``), as the report's JSON. Reads only; writes nothing.
Errors: one line on stderr, exit 1 (argparse usage errors: exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from pedalboard.io import AudioFile

from plugin_host.audio_io import AudioFileError, probe
from plugin_host.musical.align import ALIGN_MODES, align_pair, parse_transpose
from plugin_host.musical.analysis import analyse


def read(path: str) -> tuple[np.ndarray, int]:
    """A checked audio file as float32 [C, T] and its rate (Hz, rounded)."""
    info = probe(path)
    with AudioFile(str(info.path)) as f:
        audio = f.read(f.frames)
    return np.asarray(audio, np.float32), int(round(info.sample_rate))


def _table(paths: list[str]) -> None:
    rows = [analyse(*read(p)).to_report() for p in paths]  # all read before printing
    print(
        f"{'file':<24} {'bpm':>7} {'conf':>5} {'downbeat s':>10} {'conf':>5}  {'key':<9} {'conf':>6}"
    )
    for p, r in zip(paths, rows, strict=True):
        db = "-" if r["first_downbeat_s"] is None else f"{r['first_downbeat_s']:.3f}"
        dbc = "-" if r["downbeat_confidence"] is None else f"{r['downbeat_confidence']:.2f}"
        print(
            f"{p[-24:]:<24} {r['bpm']:>7.2f} {r['tempo_confidence']:>5.2f} {db:>10} {dbc:>5}  "
            f"{r['key']:<9} {r['key_confidence']:>6.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m plugin_host.musical", description=__doc__.splitlines()[0]
    )
    ap.add_argument("files", nargs="*", help="audio files to analyse")
    ap.add_argument(
        "--pair", nargs=2, metavar=("INPUT", "TARGET"), help="show the alignment of TARGET to INPUT"
    )
    ap.add_argument("--align", choices=ALIGN_MODES, default="tempo")
    ap.add_argument("--transpose", default="auto", help="none, auto or semitones (default auto)")
    args = ap.parse_args(argv)
    if not args.files and not args.pair:
        ap.error("give audio files, or --pair INPUT TARGET")
    try:
        transpose = parse_transpose(args.transpose)
        if args.files:
            _table(args.files)
        if args.pair:
            (x_in, sr_in), (x_tg, sr_tg) = read(args.pair[0]), read(args.pair[1])
            if sr_in != sr_tg:
                raise ValueError(
                    f"{args.pair[1]}: {sr_tg} Hz, INPUT has {sr_in} Hz (resample first)"
                )
            _, info = align_pair(x_in, x_tg, sr_in, args.align, transpose)
            print(json.dumps(info.to_report(), indent=1))
    except (AudioFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
