"""``creative-agent demo``: the main job on the built-in data, end to end.

1. write a held-out clip pair (drums as INPUT, chords as TARGET) and a chain file;
2. render the pair through the host with the bundled model (input_chain → agent ←
   target_chain; agent → output_chain) and print the per-clip report: seconds after install;
3. train a ``small`` agent with the ``default`` preset on the synthetic pairs (one
   process; a few minutes on 2 CPU cores);
4. export its core to ONNX with the parity check;
5. render the pair with the model just trained and print its report.

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
    "The main job on the built-in data, end to end: write a held-out clip pair and a chain "
    "file, render it with the bundled model, then train a small agent, export its core to "
    "ONNX with the parity check, render the pair with it and print the report. Everything "
    "lands in --out; a second run reuses the trained checkpoint unless --retrain is given."
)

DEMO_CHAIN: dict[str, Any] = {
    "input_chain": [{"plugin": "Compressor", "params": {"threshold_db": -18.0, "ratio": 3.0}}],
    "target_chain": [{"plugin": "Reverb", "params": {"room_size": 0.4, "wet_level": 0.2}}],
    "output_chain": [{"plugin": "Limiter", "params": {"threshold_db": -1.0}}],
}


def _step(n: int, text: str) -> None:
    print(f"\n=== [{n}/5] {text}", flush=True)


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
    p.add_argument(
        "--bundled-only",
        action="store_true",
        help="stop after rendering with the bundled model (seconds; no training)",
    )
    return p


def _render(
    inp: Path, tgt: Path, chain: Path, model: Path | None, mix: Path, balance: float
) -> int:
    """Render the pair through the host CLI (``model`` None: the bundled one) and print the
    report's headline measures."""
    from plugin_host import render_cli

    report = Path(f"{mix}.json")
    args = ["--input", str(inp), "--target", str(tgt), "--chain", str(chain)]
    args += ["--balance", str(balance), "-o", str(mix), "--report", str(report)]
    args += ["--plot", f"{mix}.png", "--overwrite", "--no-progress"]
    rc = render_cli.main(args if model is None else [*args, "--model", str(model)])
    if rc != 0:
        return rc
    rep = json.loads(report.read_text())
    keys = ["output_input_corr", "output_target_corr", "verdict", "share_input"]
    keys += ["onset_corr_input", "chroma_cos_target", "provider", "rtf"]
    print("report (" + str(report) + "):")
    for key in keys:
        print(f"  {key:<20} {_show(_find(rep, key))}")
    return 0


def _train_and_export(out: Path, args: argparse.Namespace) -> Path | int:
    """Steps 3 and 4: train a small agent (reused unless --retrain), export it; returns the
    ONNX path or a non-zero exit status."""
    from export import onnx_export
    from training import train

    run_dir = out / "train"
    ckpt = run_dir / "best_model.pt"
    _step(3, f"train a small agent (preset default, {args.epochs}×{args.steps_per_epoch} steps)")
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
            return int(rc)
    model = out / "agent.onnx"
    _step(4, f"export the core to ONNX with the parity check -> {model}")
    rc = onnx_export.main([str(ckpt), "-o", str(model)])
    return model if rc == 0 else int(rc)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    _step(1, "write a held-out clip pair and an effect chain")
    inp, tgt = write_demo_pair(out, args.seconds, seed=7)
    chain = out / "chain.json"
    write_json(chain, DEMO_CHAIN)
    print(f"INPUT  {inp}  (drums, {args.seconds:g} s)\nTARGET {tgt}  (chords, {args.seconds:g} s)")
    print(f"chain  {chain}: Compressor -> agent <- Reverb; agent -> Limiter")

    _step(2, "render with the bundled model (docs/model-card.md): no training needed")
    rc = _render(inp, tgt, chain, None, out / "mix-bundled.wav", args.balance)
    if rc != 0:
        return rc
    if args.bundled_only:
        print(f"\ndemo finished in {time.perf_counter() - started:.0f} s")
        return 0

    model = _train_and_export(out, args)
    if isinstance(model, int):
        return model
    _step(5, "render with the model you just trained")
    mix = out / "mix.wav"
    rc = _render(inp, tgt, chain, model, mix, args.balance)
    if rc != 0:
        return rc
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
