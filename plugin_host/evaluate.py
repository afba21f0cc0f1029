"""``creative-agent evaluate``: judge a model on a folder of INPUT/TARGET pairs.

Every pair is rendered through the host's real render path (:func:`plugin_host.renderer.render`
with one loaded ONNX session) at every knob (``--balance``) and every input level
(``--input-gain-db``, applied to the INPUT as a float WAV before rendering); each render's
report gives the agent's row. Two baselines per pair are measured beside it on the very
signals the agent saw (model rate, channels matched, target looped): a plain 0.5/0.5 sum and
a loudness-matched sum (:mod:`plugin_host.mixers`).

The result is a JSON-ready dict (schema :data:`SCHEMA`): per condition (input gain, knob) one
row per pair and the means. ``plugin_host/evaluate_table.py`` prints it as tables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plugin_host.evaluate_pairs import EvaluateError, Pair, agent_inputs, find_pairs, gained_copy
from plugin_host.measures import measure_clip
from plugin_host.mixers import loudness_matched_sum, plain_sum
from plugin_host.runtime import LoadedModel, add_provider_argument

SCHEMA = "creative-agent/evaluate/1"
HONEST_WITHIN = 0.1  # the target: |share - knob| <= 0.1
PLAIN_SUM_BALANCE = 0.5  # the seed's plain 0.5/0.5 sum
MIXERS = ("agent", "plain_sum", "loudness_matched_sum")
# measures of every row (agent and baselines); the mask ones are None for baselines
NUMERIC = (
    "output_input_corr",
    "output_target_corr",
    "share_input",
    "residual",
    "masked_share_input",
    "target_mask_mean",
    "onset_corr_input",
    "onset_corr_target",
    "chroma_cos_input",
    "chroma_cos_target",
)
COUNTED = ("meets_seed_criteria", "share_honest", "masked_share_honest")
BALANCE_RANGE = (0.0, 1.0)  # the knob: the input's intended share
GAIN_RANGE_DB = (-60.0, 60.0)  # input gains, dB


@dataclass(frozen=True)
class EvaluateConfig:
    """balances: knob settings in [0, 1]; input_gains_db: gains (dB) applied to every INPUT,
    one condition each; provider: ONNX Runtime provider (``auto``, ``cpu``, ``cuda``);
    share_calibration: render with the host's share calibration (the render default;
    False judges the model's own masks, :mod:`plugin_host.share_calibration`)."""

    balances: tuple[float, ...] = (0.25, 0.5, 0.75)
    input_gains_db: tuple[float, ...] = (0.0,)
    provider: str = "auto"
    share_calibration: bool = True

    def __post_init__(self) -> None:
        _check_values("balance", self.balances, BALANCE_RANGE, EvaluateError)
        _check_values("input-gain-db", self.input_gains_db, GAIN_RANGE_DB, EvaluateError)


def _check_values(
    what: str, values: Sequence[float], bounds: tuple[float, float], error: type[Exception]
) -> None:
    """At least one value, each finite and within ``bounds``, no repeats; else ``error``."""
    if not values:
        raise error(f"{what}: give at least one value")
    for v in values:
        if not (math.isfinite(v) and bounds[0] <= v <= bounds[1]):
            raise error(f"{what} {v:g}: must be between {bounds[0]:g} and {bounds[1]:g}")
    if len(set(values)) != len(values):
        raise error(f"{what}: a value is repeated in {', '.join(f'{v:g}' for v in values)}")


def _measure_baseline(
    output: np.ndarray, input: np.ndarray, target: np.ndarray, model: LoadedModel
) -> dict[str, Any]:
    """The render report's measures of a baseline ``output`` against ``input`` and ``target``
    (float32 [C, T], model rate), on the model's STFT and bands: the report's own
    accumulators fed the whole clips (:func:`plugin_host.measures.measure_clip`)."""
    return dict(measure_clip(output, input, target, model.dsp, model.metadata.sample_rate))


def _agent_measures(report: dict[str, Any]) -> dict[str, Any]:
    """A render report's fields that a row shows (the mask ones from ``report['masks']``)."""
    mask_keys = ("masked_share_input", "target_mask_mean")
    keys = ("verdict", "meets_seed_criteria", *NUMERIC)
    out = {k: report[k] for k in keys if k not in mask_keys}
    masks = report["masks"]  # {} only for a render without frames
    out.update({k: masks.get(k) for k in mask_keys})
    return out


def _baseline_measures(
    x_in: np.ndarray, x_tg: np.ndarray, model: LoadedModel, pair: Pair
) -> dict[str, dict[str, Any]]:
    """Measures of the two baselines of one pair (no masks: those fields are None)."""
    try:
        mixes = {
            "plain_sum": plain_sum(x_in, x_tg, PLAIN_SUM_BALANCE),
            "loudness_matched_sum": loudness_matched_sum(x_in, x_tg),
        }
    except ValueError as exc:
        raise EvaluateError(f"pair {pair.name!r} ({pair.input.name}): {exc}") from exc
    none = {"masked_share_input": None, "target_mask_mean": None}
    return {k: {**_measure_baseline(y, x_in, x_tg, model), **none} for k, y in mixes.items()}


def _with_honesty(measures: dict[str, Any], knob: float) -> dict[str, Any]:
    """``measures`` plus ``share_honest`` / ``masked_share_honest``: |share − knob| ≤
    :data:`HONEST_WITHIN` (None where the share is undefined)."""
    out = dict(measures)
    for share, flag in (
        ("share_input", "share_honest"),
        ("masked_share_input", "masked_share_honest"),
    ):
        value = measures.get(share)
        out[flag] = None if value is None else bool(abs(value - knob) <= HONEST_WITHIN)
    return out


def mean_row(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means of :data:`NUMERIC` over the rows where each is defined (None if nowhere), counts
    of True for :data:`COUNTED` (None if undefined everywhere), verdict counts, ``pairs``."""
    out: dict[str, Any] = {"pairs": len(rows)}
    for key in NUMERIC:
        values = [float(r[key]) for r in rows if r.get(key) is not None]
        out[key] = float(np.mean(values)) if values else None
    for key in COUNTED:
        flags = [r.get(key) for r in rows]
        out[key] = None if all(f is None for f in flags) else sum(f is True for f in flags)
    verdicts: dict[str, int] = {}
    for r in rows:
        v = r.get("verdict") or "undefined"
        verdicts[v] = verdicts.get(v, 0) + 1
    out["verdicts"] = dict(sorted(verdicts.items()))
    return out


def evaluate(
    pairs_dir: str | os.PathLike[str],
    model: str | os.PathLike[str] | LoadedModel,
    config: EvaluateConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Render and measure every pair at every (input gain, knob); returns the JSON-ready
    result. progress(done, total) is called after each render."""
    from plugin_host.renderer import render
    from plugin_host.runtime import load_model

    cfg = config or EvaluateConfig()
    pairs = find_pairs(pairs_dir)
    loaded = model if isinstance(model, LoadedModel) else load_model(model, cfg.provider)
    rate = loaded.metadata.sample_rate
    total, done = len(pairs) * len(cfg.balances) * len(cfg.input_gains_db), 0
    started = time.perf_counter()
    conditions = []
    with tempfile.TemporaryDirectory(prefix="creative-agent-evaluate-") as tmp:
        scratch = Path(tmp)
        for gain in cfg.input_gains_db:
            rows: dict[float, list[dict[str, Any]]] = {b: [] for b in cfg.balances}
            for pair in pairs:
                source = pair.input if gain == 0.0 else gained_copy(pair.input, gain, scratch)
                x_in, x_tg = agent_inputs(source, pair.target, rate)
                baselines = _baseline_measures(x_in, x_tg, loaded, pair)
                for knob in cfg.balances:
                    report = render(source, pair.target, loaded, scratch / "render.wav",
                                    balance=knob, overwrite=True,
                                    share_calibration=cfg.share_calibration)  # fmt: skip
                    row: dict[str, Any] = {
                        "pair": pair.name,
                        "input": str(pair.input),
                        "target": str(pair.target),
                    }
                    row["agent"] = _with_honesty(_agent_measures(report), knob)
                    for name, m in baselines.items():
                        row[name] = _with_honesty(m, knob)
                    rows[knob].append(row)
                    done += 1
                    if progress is not None:
                        progress(done, total)
                if source != pair.input:
                    source.unlink()
            for knob in cfg.balances:
                means = {m: mean_row([r[m] for r in rows[knob]]) for m in MIXERS}
                conditions.append(
                    {"input_gain_db": gain, "balance": knob, "rows": rows[knob], "means": means}
                )
    return {
        "schema": SCHEMA,
        "model": str(loaded.path),
        "provider": loaded.provider,
        "pairs_dir": str(pairs_dir),
        "pairs": [p.name for p in pairs],
        "balances": list(cfg.balances),
        "input_gains_db": list(cfg.input_gains_db),
        "share_calibration": cfg.share_calibration,
        "plain_sum_balance": PLAIN_SUM_BALANCE,
        "honest_within": HONEST_WITHIN,
        "seconds": round(time.perf_counter() - started, 3),
        "conditions": conditions,
    }


def _float_list(bounds: tuple[float, float]) -> Callable[[str], tuple[float, ...]]:
    """An argparse type: comma-separated numbers checked by :func:`_check_values`."""

    def parse(text: str) -> tuple[float, ...]:
        try:
            values = tuple(float(v) for v in text.split(",") if v.strip())
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a comma-separated list of numbers"
            ) from exc
        _check_values("value", values, bounds, argparse.ArgumentTypeError)
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="creative-agent evaluate",
        description="Render every NAME_input/NAME_target pair of a folder through a model at "
        "each knob and print the measures per pair, their means, and the means of a plain "
        "0.5/0.5 sum and a loudness-matched sum of the same pairs.",
    )
    p.add_argument(
        "--pairs", required=True, help="folder of NAME_input.EXT / NAME_target.EXT files"
    )
    p.add_argument(
        "--model",
        help="an ONNX file from 'creative-agent export' (default: the bundled model, "
        "docs/model-card.md)",
    )
    p.add_argument("--balance", type=_float_list(BALANCE_RANGE), default=(0.25, 0.5, 0.75),
                   help="knob settings, comma-separated (default 0.25,0.5,0.75)")  # fmt: skip
    p.add_argument("--input-gain-db", type=_float_list(GAIN_RANGE_DB), default=(0.0,),
                   help="gains applied to every INPUT before rendering, dB, comma-separated "
                   "(default 0; e.g. 0,12,-12)")  # fmt: skip
    p.add_argument("--share-calibration", action=argparse.BooleanOptionalAction, default=True,
                   help="render with the host's share calibration (as render's flag; "
                   "--no-share-calibration judges the model's own masks)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON, not tables")
    p.add_argument("--out", help="also write the result JSON to this file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    add_provider_argument(p)
    return p


def _check_out(out: str | None, overwrite: bool) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if not path.parent.is_dir():
        raise EvaluateError(f"out {path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise EvaluateError(f"out {path}: is a directory")
    if path.exists() and not overwrite:
        raise EvaluateError(f"out {path}: exists (pass --overwrite to replace it)")
    return path


def main(argv: list[str]) -> int:
    from plugin_host.atomic import write_json
    from plugin_host.audio_io import AudioFileError
    from plugin_host.bundled import NoBundledModelError, resolve_model
    from plugin_host.evaluate_table import format_tables
    from plugin_host.renderer import RenderError
    from plugin_host.runtime import ModelLoadError

    args = build_parser().parse_args(argv)
    from tqdm import tqdm

    bar = tqdm(unit="render", file=sys.stderr, leave=False, disable=not sys.stderr.isatty())

    def on_progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        out = _check_out(args.out, args.overwrite)
        cfg = EvaluateConfig(tuple(args.balance), tuple(args.input_gain_db), args.provider,
                             args.share_calibration)  # fmt: skip
        model, _ = resolve_model(args.model)
        result = evaluate(args.pairs, model, cfg, on_progress)
        if out is not None:
            write_json(out, result, overwrite=args.overwrite)
    except (EvaluateError, RenderError, ModelLoadError, AudioFileError, NoBundledModelError) as exc:
        print(f"creative-agent evaluate: error: {exc}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    print(json.dumps(result, indent=2, allow_nan=False) if args.json else format_tables(result))
    return 0
