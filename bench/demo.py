"""``creative-agent demo``: the main job on the built-in data, end to end.

1. train a ``small`` agent with the ``default`` preset on the synthetic pairs (one
   process; a few minutes on 2 CPU cores);
2. export its core to ONNX with the parity check;
3. write a held-out clip pair (drums as INPUT, chords as TARGET) and a chain file;
4. render the pair through the host (input_chain → agent ← target_chain; agent →
   output_chain) and print the per-clip report.

Everything lands in ``--out`` (default ``runs/demo``); a second run reuses the trained
checkpoint unless ``--retrain`` is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from plugin_host.atomic import write_json

log = logging.getLogger(__name__)

DESCRIPTION = (
    "The main job on the built-in data, end to end: train a small agent, export its core to "
    "ONNX with the parity check, write a held-out clip pair and a chain file, render the pair "
    "through the host and print the report. Everything lands in --out; a second run reuses "
    "the trained checkpoint unless --retrain is given."
)

DEMO_CHAIN: dict[str, Any] = {
    "input_chain": [{"plugin": "Compressor", "params": {"threshold_db": -18.0, "ratio": 3.0}}],
    "target_chain": [{"plugin": "Reverb", "params": {"room_size": 0.4, "wet_level": 0.2}}],
    "output_chain": [{"plugin": "Limiter", "params": {"threshold_db": -1.0}}],
}


def _step(n: int, text: str) -> None:
    print(f"\n=== [{n}/4] {text}", flush=True)


def write_demo_pair(folder: Path, seconds: float, seed: int) -> tuple[Path, Path]:
    """A held-out pair (validation generator settings) as 44.1 kHz stereo 16-bit WAVs."""
    from bench.audio import write_audio
    from training.data.synth import generate_pair, validation_config

    cfg = validation_config(seconds=seconds)
    x, y = generate_pair(cfg, seed)
    paths = folder / "input.wav", folder / "target.wav"
    for path, audio in zip(paths, (x, y), strict=True):
        write_audio(path, audio, cfg.sample_rate, bit_depth=16)
    return paths


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="creative-agent demo", description=DESCRIPTION)
    p.add_argument("--out", default="runs/demo", help="run folder (default runs/demo)")
    p.add_argument("--epochs", type=int, default=6, help="training epochs (default 6)")
    p.add_argument("--steps_per_epoch", type=int, default=40, help="steps per epoch (default 40)")
    p.add_argument(
        "--seconds", type=float, default=8.0, help="length of the demo clips in s (default 8)"
    )
    p.add_argument(
        "--balance", type=float, default=0.5, help="the balance knob for the render (default 0.5)"
    )
    p.add_argument("--retrain", action="store_true", help="train again even if a checkpoint exists")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    from export import onnx_export
    from plugin_host import render_cli
    from training import train

    run_dir = out / "train"
    ckpt = run_dir / "best_model.pt"
    _step(1, f"train a small agent (preset default, {args.epochs}×{args.steps_per_epoch} steps)")
    if ckpt.is_file() and not args.retrain:
        print(f"reusing {ckpt} (pass --retrain to train again)")
    else:
        rc = train.main(
            [
                *("--preset", "default", "--model_size", "small"),
                *("--epochs", str(args.epochs), "--steps_per_epoch", str(args.steps_per_epoch)),
                *("--out", str(run_dir), "--no_progress"),
            ]
        )
        if rc != 0:
            return rc

    model = out / "agent.onnx"
    _step(2, f"export the core to ONNX with the parity check -> {model}")
    rc = onnx_export.main([str(ckpt), "-o", str(model)])
    if rc != 0:
        return rc

    _step(3, "write a held-out clip pair and an effect chain")
    inp, tgt = write_demo_pair(out, args.seconds, seed=7)
    chain = out / "chain.json"
    write_json(chain, DEMO_CHAIN)
    print(f"INPUT  {inp}  (drums, {args.seconds:g} s)\nTARGET {tgt}  (chords, {args.seconds:g} s)")
    print(f"chain  {chain}: Compressor -> agent <- Reverb; agent -> Limiter")

    _step(4, "render through the host and report")
    mix = out / "mix.wav"
    report = out / "mix.json"
    rc = render_cli.main(
        [
            *("--input", str(inp), "--target", str(tgt), "--model", str(model)),
            *("--chain", str(chain), "--balance", str(args.balance), "-o", str(mix)),
            *("--report", str(report), "--plot", str(out / "mix.png"), "--overwrite"),
        ]
    )
    if rc != 0:
        return rc
    rep = json.loads(report.read_text())
    keys = ["output_input_corr", "output_target_corr", "verdict", "share_input"]
    keys += ["onset_corr_input", "chroma_cos_target", "provider", "rtf"]
    print("\nreport (" + str(report) + "):")
    for key in keys:
        print(f"  {key:<20} {_show(_find(rep, key))}")
    print(f"\ndemo finished in {time.perf_counter() - started:.0f} s; listen to {mix}")
    return 0


def _find(report: dict[str, Any], key: str) -> Any:
    """A report value by key, searched one level deep (the report groups its fields)."""
    if key in report:
        return report[key]
    for value in report.values():
        if isinstance(value, dict) and key in value:
            return value[key]
    return None


def _show(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
