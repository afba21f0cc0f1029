"""``creative-agent diagnose CHECKPOINT --input IN --target TG``: the seed's "Quick Test
(Before Full Training)".

Loads the checkpoint (``load_checkpoint``), reads both files with
``pedalboard.io.AudioFile`` (resampled to the model's rate; more than two channels keep
the first two), runs ``model.inference(input, target, balance)`` in PyTorch and prints the
seed's lines::

    Output→Input: 0.114
    Output→Target: 0.862
    ❌ PROBLEM CONFIRMED: Output copying target

Correlations are the seed's: Pearson of the flattened waveforms (the target looped or
trimmed to the input's length and matched to its channels, as ``inference`` does). The
verdict follows the seed's alert rules on |corr| (``plugin_host.measures.verdict``). Exit
code 0 whatever the verdict; 1 (one line on stderr) for a bad file, checkpoint or output.
``--json`` prints one JSON object instead; ``--output FILE`` also writes the output audio
under render's rules: the format its extension names (``WRITE_FORMATS``), never one of the
inputs or the checkpoint, an existing file only with ``--overwrite``, atomically.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pedalboard.io import AudioFile

from plugin_host.audio_io import WRITE_FORMATS
from plugin_host.measures import meets_seed_criteria, verdict
from training.audio_files import write_audio
from training.checkpoint import CheckpointError, load_checkpoint
from training.torch_measures import pearson

VERDICT_LINES: dict[str | None, str] = {
    "copying_target": "❌ PROBLEM CONFIRMED: Output copying target",
    "copying_input": "❌ PROBLEM: Output copying input (input corr > 2× target corr)",
    "noise": "❌ PROBLEM: Output is random noise (both correlations < 0.2)",
    "mixing": "✓ Output mixing both sources",
    None: "❌ Correlations undefined (a silent clip?)",
}


class AudioReadError(ValueError):
    """An audio file that cannot be read."""


class OutputPathError(ValueError):
    """An ``--output`` that must not be written (one-line message naming it)."""


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """float32 [C, T] at ``sample_rate`` Hz (C <= 2: extra channels dropped)."""
    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"{path}: audio file not found")
    try:
        with AudioFile(str(path)) as f:
            if int(round(f.samplerate)) == sample_rate:
                audio = f.read(f.frames)
            else:
                with f.resampled_to(float(sample_rate)) as r:
                    audio = r.read(r.frames)
    except (OSError, RuntimeError, ValueError) as exc:
        raise AudioReadError(f"{path}: cannot read audio ({exc})") from exc
    audio = np.asarray(audio, dtype=np.float32)[:2]
    if audio.shape[-1] == 0:
        raise AudioReadError(f"{path}: no audio frames")
    return audio


def match_target(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The target [C', T'] as ``CreativeAgent.inference`` uses it against x [C, T]:
    channels averaged (and duplicated for stereo), looped or trimmed to T."""
    if y.shape[0] != x.shape[0]:
        y = y.mean(dim=0, keepdim=True).expand(x.shape[0], -1)
    t = x.shape[-1]
    if y.shape[-1] < t:
        y = y.repeat(1, -(-t // y.shape[-1]))
    return y[:, :t].contiguous()


def _finite(v: torch.Tensor) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None


def diagnose(
    checkpoint: str | Path, input_path: str | Path, target_path: str | Path, balance: float = 0.5
) -> tuple[dict[str, Any], torch.Tensor, int]:
    """Run the quick test: (report dict, output Tensor[C, T], sample rate in Hz)."""
    model = load_checkpoint(checkpoint)
    sr = model.config.sample_rate
    x = torch.from_numpy(read_audio(input_path, sr))
    y = match_target(x, torch.from_numpy(read_audio(target_path, sr)))
    out = model.inference(x, y, balance=balance)
    ri, rt = _finite(pearson(out, x)), _finite(pearson(out, y))
    report = {
        "checkpoint": str(checkpoint),
        "input": str(input_path),
        "target": str(target_path),
        "balance": balance,
        "sample_rate": sr,
        "seconds": x.shape[-1] / sr,
        "output_input_corr": ri,
        "output_target_corr": rt,
        "verdict": None if ri is None or rt is None else verdict(ri, rt),
        "meets_seed_criteria": meets_seed_criteria(ri, rt),
    }
    return report, out, sr


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same resolved path, or (hard links) the
    same inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: they cannot be one file
        return False


def check_output(output: str | Path, sources: dict[str, str | Path], overwrite: bool) -> Path:
    """The ``--output`` path, checked before any work: a format the host writes, not one of
    ``sources`` (what -> path: the input, target and checkpoint), not a folder, not an
    existing file unless ``overwrite``. Raises OutputPathError naming the file."""
    path = Path(output)
    if path.suffix.lower() not in WRITE_FORMATS:
        raise OutputPathError(
            f"output {path}: cannot write {path.suffix or 'files without an extension'}; "
            f"use one of {', '.join(WRITE_FORMATS)}"
        )
    for what, src in sources.items():
        if _same_file(path, Path(src)):
            raise OutputPathError(
                f"output {path}: same file as the {what}; refusing to overwrite it"
            )
    if path.is_dir():
        raise OutputPathError(f"output {path}: is a directory")
    if path.exists() and not overwrite:
        raise OutputPathError(f"output {path}: exists (pass --overwrite to replace it)")
    return path


def format_report(report: dict[str, Any]) -> str:
    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    met = "met" if report["meets_seed_criteria"] else "not met"
    return "\n".join(
        [
            f"Output→Input: {num(report['output_input_corr'])}",
            f"Output→Target: {num(report['output_target_corr'])}",
            VERDICT_LINES[report["verdict"]],
            f"Seed success criteria (input corr > 0.4, neither > 2× the other): {met}",
        ]
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="creative-agent diagnose",
        description="The seed's quick test: a checkpoint's output correlations with its sources.",
    )
    p.add_argument("checkpoint", help="a .pt checkpoint (e.g. runs/train/best_model.pt)")
    p.add_argument("--input", required=True, help="INPUT audio file (rhythm)")
    p.add_argument("--target", required=True, help="TARGET audio file (harmony)")
    p.add_argument("--balance", type=float, default=0.5, help="balance knob in [0, 1]")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--output",
        metavar="FILE",
        help=f"also write the output audio; the extension names the format "
        f"({', '.join(e[1:] for e in WRITE_FORMATS)}); never an input or the checkpoint",
    )
    p.add_argument("--overwrite", action="store_true", help="let --output replace an existing file")
    return p


def _fail(message: str) -> int:
    print(f"creative-agent diagnose: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0.0 <= args.balance <= 1.0:
        parser.error(f"--balance must be in [0, 1], got {args.balance}")
    sources = {"input": args.input, "target": args.target, "checkpoint": args.checkpoint}
    try:
        output = check_output(args.output, sources, args.overwrite) if args.output else None
        report, out, sr = diagnose(args.checkpoint, args.input, args.target, args.balance)
        if output is not None:
            write_audio(output, out.numpy(), sr, args.overwrite)
            report["output"] = str(output)
    except (CheckpointError, AudioReadError, OutputPathError) as exc:
        return _fail(str(exc))
    except FileExistsError:  # another process created it since the check
        return _fail(f"output {args.output}: exists (pass --overwrite to replace it)")
    except (OSError, RuntimeError) as exc:  # cannot write (permissions, encoder)
        return _fail(f"output {args.output}: cannot write ({exc})")
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
