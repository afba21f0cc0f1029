"""The checkpoints of a run folder: periodic step checkpoints, their rotation, and the
newest complete one (what an elastic restart resumes from).

Layout: ``OUT/last.pt`` (end of the newest epoch), ``OUT/best_model.pt`` and
``OUT/checkpoints/step_NNNNNNNN.pt`` (every ``checkpoint_every`` global steps, the last
``keep_checkpoints`` kept). Every file is written atomically
(``training.checkpoint.save_checkpoint``), so a kill at any moment leaves the previous
files complete; a file that still fails to load is skipped with a warning.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from training.checkpoint import CheckpointError, read_train_state

log = logging.getLogger(__name__)

STEP_DIR = "checkpoints"
STEP_NAME = re.compile(r"^step_(\d+)\.pt$")
RESTART_ENV = "TORCHELASTIC_RESTART_COUNT"  # set by torchrun: 0 first, then 1, 2, ...


def step_path(run_dir: Path, step: int) -> Path:
    """Where the checkpoint after global step ``step`` goes."""
    return run_dir / STEP_DIR / f"step_{step:08d}.pt"


def step_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every step checkpoint in ``run_dir``, oldest first."""
    folder = run_dir / STEP_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := STEP_NAME.match(p.name))]
    return sorted(found)


def prune(run_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` step checkpoints; returns what was deleted."""
    old = [p for _, p in step_checkpoints(run_dir)][: -keep if keep > 0 else None]
    for p in old:
        p.unlink(missing_ok=True)
    return old


def newest_checkpoint(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The loadable training checkpoint of ``run_dir`` with the highest global step
    (``last.pt`` or a step checkpoint; ``last.pt`` wins a tie) and its payload; None when
    there is none."""
    candidates = [(s, 1, p) for s, p in step_checkpoints(run_dir)]
    last = run_dir / "last.pt"
    if last.is_file():
        try:
            payload = read_train_state(last)
            candidates.append((int(payload["step"]), 2, last))
        except CheckpointError as exc:
            log.warning("skipping %s", exc)
    for _, _, path in sorted(candidates, reverse=True):
        try:
            return path, read_train_state(path)
        except CheckpointError as exc:
            log.warning("skipping %s", exc)
    return None


def restart_count(environ: dict[str, str] | None = None) -> int:
    """How many times torchrun restarted this worker group (0 outside torchrun)."""
    value = (os.environ if environ is None else environ).get(RESTART_ENV, "0") or "0"
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"environment variable {RESTART_ENV}={value!r} is not an integer") from exc
