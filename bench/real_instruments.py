"""``creative-agent experiment-real``: the real-instrument ablation behind the bundled model.

Trains every recipe of :mod:`bench.recipes` (reusing finished runs), exports each last
checkpoint, and judges each model with ``creative-agent evaluate`` on three pair sets:
sampled-instrument pairs of held-out instruments (``dev``, where the bundled recipe is
picked, and ``test``, where it is reported) and the built-in synthetic validation. Writes
``DOCS/experiment-real-instruments.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from bench import recipes
from bench.real_tables import ablation_markdown
from plugin_host.atomic import write_json, write_text

log = logging.getLogger(__name__)

GAINS_DB = (0.0, 12.0, -12.0)  # the input levels: natural, +12 dB, -12 dB
SETS = ("dev", "test", "synthetic")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="creative-agent experiment-real",
        description=(
            "Train every recipe (synthetic only, plus sampled instruments, plus the "
            "least-squares balance term), export each, and evaluate each on held-out "
            "sampled-instrument pairs and on synthetic pairs. About 15 minutes of 2-core CPU "
            "per recipe; finished runs are reused."
        ),
    )
    p.add_argument("--runs", type=Path, default=Path("runs/experiment-real"),
                   help="folder for the runs, models and pairs (default: runs/experiment-real)")  # fmt: skip
    p.add_argument("--docs", type=Path, default=Path("docs"),
                   help="folder for experiment-real-instruments.md and .json (default: docs)")  # fmt: skip
    p.add_argument("--recipes", default=",".join(r.name for r in recipes.RECIPES),
                   help="comma-separated recipes to run (default: all)")  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true", help="log each step")
    return p


def run(runs: Path, names: list[str]) -> dict[str, Any]:
    """Train, export and evaluate each recipe in ``names``; returns the JSON-ready result."""
    started = time.time()
    sets = recipes.PairSets(runs / "pairs").make()
    results: dict[str, Any] = {"recipes": {}, "sets": {k: str(v) for k, v in sets.items()}}
    baselines: dict[str, Any] = {}
    for name in names:
        r = recipes.recipe(name)
        ckpt = recipes.train(r, runs / name)
        onnx_path = recipes.export(ckpt, runs / name / "model.onnx")
        per_set = {}
        for set_name in SETS:
            gains = GAINS_DB if set_name != "synthetic" else (0.0,)
            per_set[set_name] = recipes.evaluate(onnx_path, sets[set_name], gains)
        results["recipes"][name] = {"what": r.what, "flags": list(r.flags), "evaluate": per_set}
        baselines = baselines or per_set  # the sums' rows do not depend on the model
    results["baselines"] = baselines
    results["budget"] = list(recipes.BUDGET)
    results["machine"] = recipes.environment_note()
    results["commit"] = recipes.code_commit()
    results["minutes"] = round((time.time() - started) / 60.0, 1)
    return results


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.verbose:
        logging.getLogger().setLevel(logging.INFO)
    names = [n.strip() for n in args.recipes.split(",") if n.strip()]
    try:
        for n in names:
            recipes.recipe(n)
        result = run(args.runs, names)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"creative-agent experiment-real: {exc}", file=sys.stderr)
        return 1
    args.docs.mkdir(parents=True, exist_ok=True)
    write_json(args.docs / "experiment-real-instruments.json", result)
    write_text(args.docs / "experiment-real-instruments.md", ablation_markdown(result))
    print(f"wrote {args.docs / 'experiment-real-instruments.md'} ({result['minutes']} min)")
    return 0
