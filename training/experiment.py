"""The seed-fix experiment: ``creative-agent experiment seed-fix [--out DIR] [--docs DIR]
[--minutes M] [--nproc N] [--configs a,b,...] [--epochs E] [--steps_per_epoch S] ...``

Trains each preset (``seed_baseline``, ``default``, ``seed_fixed``; ``training/presets.py``)
on the built-in synthetic data under torchrun (``--nproc`` processes, gloo on CPU), each
with the same step budget and a wall-clock limit of ``--minutes``; a run stopped by the
limit is evaluated at its last finished epoch (``last.pt``) and marked so. Then, on the
fixed validation set of ``training/validation.py`` (held-out kits, timbres and tempi), it
evaluates every final model and the plain 0.5/0.5 sum at equal level and with the input
±``valid_gain_db`` dB, and writes:

- ``DOCS/experiment-seed-fix.md``: the tables, the computed checks of the seed's claims,
  the machine and its load, the presets' values;
- ``DOCS/experiment-seed-fix.png``: validation correlations per epoch, every config;
- ``DOCS/experiment-seed-fix.json`` and ``OUT/results.json``: every number of the doc.

Each run keeps its own folder ``OUT/<preset>/`` (train.log, metrics.jsonl, checkpoints,
``stdout.log`` of torchrun). This is a benchmark, not a test: it takes minutes per config.

Modules: ``experiment_config`` (what runs), ``experiment_runs`` (training jobs),
``experiment_eval`` (evaluation), ``experiment_checks`` (the claims),
``experiment_report`` (the doc and plot); this one ties them together and holds the CLI.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from plugin_host.atomic import write_text
from training import validation
from training.experiment_checks import checks
from training.experiment_config import DOC_NAME, EXPERIMENTS, ExperimentConfig
from training.experiment_eval import curve, evaluate_run, evaluate_sum
from training.experiment_report import plot_epochs, render_markdown
from training.experiment_runs import read_metrics, run_training
from training.presets import PRESETS, preset_config


def machine_summary(exp: ExperimentConfig) -> dict[str, Any]:
    load = os.getloadavg()
    return dict(
        summary=f"{platform.machine()} CPU, {os.cpu_count()} cores visible, torch "
        f"{torch.__version__}, gloo; load average at the start {load[0]:.2f} / {load[1]:.2f} "
        f"/ {load[2]:.2f} (1/5/15 min; each run's load is in the JSON)",
        cores=os.cpu_count(),
        torch=torch.__version__,
        load_at_start=list(load),
    )


def run_experiment(exp: ExperimentConfig, command: str, train: bool = True) -> dict[str, Any]:
    """Train every config (``train=False``: keep the runs in ``exp.out`` and the training
    facts of its results.json), evaluate, write the doc, plot and JSON."""
    results: dict[str, Any] = dict(
        experiment={k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(exp).items()},
        machine=machine_summary(exp),
        command=command,
        runs={},
    )  # fmt: skip
    previous: dict[str, Any] = {}
    if not train:
        path = exp.out / "results.json"
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
            previous = earlier["runs"]
            results.update(machine=earlier["machine"], command=earlier["command"])
            results["evaluated_again_by"] = command
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"--eval_only needs {path} from an earlier run ({exc})") from exc
    vsets: dict[int, validation.ValidationSet] = {}
    for name in tqdm(exp.configs, desc="seed-fix configs", disable=not sys.stderr.isatty()):
        if train:
            run = run_training(name, exp)
        else:
            keep = ("status", "returncode", "train_seconds", "load_before", "load_after", "command")
            run = {k: previous.get(name, {}).get(k) for k in keep}
        run["preset"] = dict(PRESETS[name])
        records = read_metrics(exp.out / name / "metrics.jsonl")
        run["epochs_done"], run["epochs_planned"] = len(records), exp.epochs
        run["curve"] = curve(records)
        if records:
            last = records[-1]
            run["train_last_epoch"] = {
                k: last.get(f"train/{k}")
                for k in ("input_mask_mean", "target_mask_mean", "energy_share",
                          "output_input_corr", "output_target_corr")
            }  # fmt: skip
        results["runs"][name] = run
        plain_agent = evaluate_run(run, exp.out / name, exp, vsets)
        if plain_agent is not None and "plain_sum" not in results:
            results["plain_sum"] = evaluate_sum(plain_agent, vsets[plain_agent.config.sample_rate])
    if "plain_sum" not in results:
        raise RuntimeError("no config produced a model; see the stdout.log of each run")
    write_outputs(results, exp.out, exp.docs)
    return results


def write_outputs(results: dict[str, Any], out: Path | None, docs: Path) -> None:
    """(Re)compute the checks, then write results.json (to ``out`` if given), the doc, its
    plot and its JSON (to ``docs``)."""
    results["checks"] = checks(results, float(results["experiment"]["valid_gain_db"]))
    text = json.dumps(results, indent=2, default=float)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "results.json", text)
    docs.mkdir(parents=True, exist_ok=True)
    write_text(docs / f"{DOC_NAME}.json", text)
    plot_epochs(results, docs / f"{DOC_NAME}.png")
    write_text(docs / f"{DOC_NAME}.md", render_markdown(results))


DESCRIPTION = (
    "The seed-fix experiment: train each preset with the same budget (torchrun), evaluate "
    "the checkpoints and the plain 0.5/0.5 sum on the fixed validation set, and write the "
    "doc, plot and JSON (DOCS/experiment-seed-fix.*)."
)


def build_parser() -> argparse.ArgumentParser:
    """One flag per ``ExperimentConfig`` field (help from its ``metadata["help"]``), plus
    ``--eval_only`` and ``--from_results``."""
    p = argparse.ArgumentParser(prog="creative-agent experiment", description=DESCRIPTION)
    p.add_argument("name", choices=EXPERIMENTS, help="the experiment to run")
    d = ExperimentConfig()
    types = typing.get_type_hints(ExperimentConfig)
    for f in dataclasses.fields(ExperimentConfig):
        default = getattr(d, f.name)
        typ = types[f.name]
        if f.name == "configs":
            typ, default = str, ",".join(default)
        p.add_argument(
            f"--{f.name}",
            type=typ,
            default=default,
            metavar=f.name.upper() if typ is not Path else "DIR",
            help=f"{f.metadata['help']} (default: {default})",
        )
    p.add_argument(
        "--eval_only",
        action="store_true",
        help="no training: evaluate the checkpoints already in --out (needs its results.json)",
    )
    p.add_argument(
        "--from_results",
        type=Path,
        metavar="FILE",
        default=None,
        help="no training: re-render the doc, plot and JSON from an earlier results.json",
    )
    return p


def parse_args(argv: Sequence[str]) -> tuple[ExperimentConfig, Path | None, bool]:
    """(the experiment, the results.json to re-render or None, whether to only evaluate)."""
    a = build_parser().parse_args(list(argv))
    kwargs = {k: v for k, v in vars(a).items() if k not in ("name", "from_results", "eval_only")}
    kwargs["configs"] = tuple(c.strip() for c in a.configs.split(",") if c.strip())
    return ExperimentConfig(**kwargs), a.from_results, a.eval_only


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        exp, from_results, eval_only = parse_args(args)
        # the preset + overrides must make a valid TrainConfig before minutes are spent
        for name in exp.configs:
            preset_config(name, **exp.train_overrides())
    except ValueError as exc:
        print(f"creative-agent experiment: {exc}", file=sys.stderr)
        return 1
    if from_results is not None:
        try:
            results = json.loads(from_results.read_text(encoding="utf-8"))
            write_outputs(results, None, exp.docs)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"creative-agent experiment: {from_results}: {exc}", file=sys.stderr)
            return 1
    else:
        try:
            results = run_experiment(
                exp, "creative-agent experiment " + " ".join(args), not eval_only
            )
        except ValueError as exc:
            print(f"creative-agent experiment: {exc}", file=sys.stderr)
            return 1
    for c in results["checks"]:
        print(f"{'PASS' if c['passed'] else 'FAIL'}  {c['name']}: {c['detail']}")
    print(f"wrote {exp.docs / (DOC_NAME + '.md')}, {exp.docs / (DOC_NAME + '.png')}")
    failed = [n for n, r in results["runs"].items() if r["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
