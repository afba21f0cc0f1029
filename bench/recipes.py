"""Training recipes for the real-instrument experiment and the bundled default model, and the
steps that turn a recipe into a measured ONNX model: train (torchrun), export (parity
checked), evaluate (the host's ``creative-agent evaluate`` code).

Every step runs the project's own commands in child processes (``python -m
plugin_host.cli ...``), as a user would, so what is measured is what ships. A step whose
result already exists for the same recipe (``recipe.json`` beside it says which) is reused,
so an interrupted experiment continues where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from plugin_host.atomic import write_json

log = logging.getLogger(__name__)

# The training budget of every recipe: the `default` preset with 2 gloo processes on this
# 2-core CPU, 8 epochs of 100 steps of 4 clips per process (6,400 clips of 2 s), about
# 15 minutes each here (the first epoch renders and caches the sampled-instrument pairs).
BUDGET: tuple[str, ...] = (
    "--preset", "default", "--nproc", "2", "--epochs", "8", "--steps_per_epoch", "100",
    "--batch_size", "4", "--seed", "0",
)  # fmt: skip
CHECKPOINT = "last.pt"  # never best_model.pt: that one is picked on the synthetic validation


@dataclass(frozen=True)
class Recipe:
    """A named change to the training run: ``flags`` are added to :data:`BUDGET`."""

    name: str
    what: str
    flags: tuple[str, ...]


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "synthetic",
        "`default` preset on the built-in synthetic pairs only",
        ("--data", "synthetic"),
    ),
    Recipe("mix", "+ half of the pool from sampled instruments (`--data mix`)", ("--data", "mix")),
    Recipe(
        "mix+coherent",
        "+ the least-squares share as a second balance term (`--coherent_balance_weight 1`)",
        ("--data", "mix", "--coherent_balance_weight", "1.0"),
    ),
)
# The recipe `make default-model` ships: picked on the `dev` real-instrument pairs (see
# docs/experiment-real-instruments.md), reported on the `test` pairs.
BUNDLED = "mix+coherent"


def recipe(name: str) -> Recipe:
    for r in RECIPES:
        if r.name == name:
            return r
    raise ValueError(f"unknown recipe {name!r}; choose from {', '.join(r.name for r in RECIPES)}")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "plugin_host.cli", *args]


def _run(cmd: list[str], log_path: Path) -> None:
    """Run ``cmd``, its output to ``log_path``; one-line error naming the log on failure."""
    log.info("running %s (log: %s)", " ".join(cmd[2:]), log_path)
    with open(log_path, "w", encoding="utf-8") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    if rc != 0:
        raise RuntimeError(f"creative-agent {cmd[3]} failed (exit {rc}); see {log_path}")


def _stamp(r: Recipe) -> dict[str, Any]:
    return {"recipe": asdict(r), "budget": list(BUDGET)}


def _fresh(folder: Path, r: Recipe, product: str) -> bool:
    """Whether ``folder/product`` exists and was made from this recipe and budget."""
    stamp = folder / "recipe.json"
    if not ((folder / product).is_file() and stamp.is_file()):
        return False
    return bool(json.loads(stamp.read_text(encoding="utf-8")) == _stamp(r))


def train(r: Recipe, run_dir: Path) -> Path:
    """Train ``r`` into ``run_dir`` (reused when done before); returns its checkpoint."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if _fresh(run_dir, r, CHECKPOINT):
        log.info("%s: reusing %s", r.name, run_dir / CHECKPOINT)
        return run_dir / CHECKPOINT
    _run(_cli("train", *BUDGET, *r.flags, "--out", str(run_dir)), run_dir / "train.log")
    write_json(run_dir / "recipe.json", _stamp(r))
    return run_dir / CHECKPOINT


def export(checkpoint: Path, onnx_path: Path) -> Path:
    """``creative-agent export CKPT -o ONNX`` (with its parity check)."""
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = onnx_path.with_name(onnx_path.name + ".export.log")
    _run(_cli("export", str(checkpoint), "-o", str(onnx_path), "--quiet"), log_path)
    return onnx_path


def evaluate(onnx_path: Path, pairs_dir: Path, gains_db: tuple[float, ...]) -> dict[str, Any]:
    """The ``creative-agent evaluate`` result for the three knobs and ``gains_db``, on the
    model's own masks (``--no-share-calibration``: recipes and models are compared, not the
    host's correction, docs/share-calibration.md)."""
    from plugin_host.evaluate import EvaluateConfig
    from plugin_host.evaluate import evaluate as run_evaluate

    return run_evaluate(
        pairs_dir, onnx_path, EvaluateConfig(input_gains_db=gains_db, share_calibration=False)
    )


@dataclass(frozen=True)
class PairSets:
    """Where the evaluation pairs are written: ``dev`` (recipes are picked on it) and ``test``
    (numbers are reported on it) are sampled-instrument pairs of the held-out validation
    instruments with different seeds; ``synthetic`` the built-in generator's held-out
    settings. 10 pairs of 8 s each."""

    root: Path
    pairs: int = 10
    seconds: float = 8.0

    def folder(self, name: str) -> Path:
        return self.root / name

    def make(self) -> dict[str, Path]:
        seeds = {"dev": 101, "test": 202, "synthetic": 303}
        out = {}
        for name, seed in seeds.items():
            folder = self.folder(name)
            command = "real-pairs" if name != "synthetic" else "demo-data"
            if not (folder / "manifest.json").is_file():
                args = [command, "--pairs", str(self.pairs), "--seconds", str(self.seconds),
                        "--seed", str(seed), "--split", "valid", str(folder)]  # fmt: skip
                self.root.mkdir(parents=True, exist_ok=True)
                _run(_cli(*args), self.root / f"{name}.log")
            out[name] = folder
        return out


def code_commit() -> str:
    """The git commit of the code that runs (``unknown`` outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        log.info("no git commit to record: %s", exc)
        return "unknown"
    return out.stdout.strip()


def environment_note() -> str:
    """One line on where the numbers were measured (cores, load)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return f"{os.cpu_count()} CPU cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
