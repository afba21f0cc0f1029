"""Starting training processes: ``creative-agent train --nproc N`` and the experiment both
launch through :func:`train_launch` (one command line, one environment)."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass

from training import distrib

log = logging.getLogger(__name__)


LAUNCH_ONLY = ("--nproc", "--max_restarts")  # flags for the launcher, not the workers


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in LAUNCH_ONLY:
            skip = True
        elif not a.startswith(tuple(f"{f}=" for f in LAUNCH_ONLY)):
            out.append(a)
    return out


TRAIN_MODULE = "training.train"  # what a launched process runs (``python -m``)


def torchrun_command(nproc: int, argv: list[str], max_restarts: int = 0) -> list[str]:
    """The torchrun command line that re-runs ``argv`` (minus ``--nproc`` and
    ``--max_restarts``) with ``nproc`` processes on this machine (``--standalone``: a free
    local rendezvous port); torchrun restarts the group up to ``max_restarts`` times when a
    worker fails (the workers then resume from the run folder's newest checkpoint)."""
    restarts = [f"--max-restarts={max_restarts}"] if max_restarts > 0 else []
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", *restarts,
        f"--nproc_per_node={nproc}", "-m", TRAIN_MODULE, *_without_nproc(argv),
    ]  # fmt: skip


@dataclass(frozen=True)
class Launch:
    """A training job to start: its command line and its environment."""

    command: list[str]
    env: dict[str, str]


def train_launch(nproc: int, argv: list[str], max_restarts: int = 0) -> Launch:
    """How to run ``creative-agent train argv`` (minus ``--nproc``) with ``nproc`` processes
    on this machine: torchrun (``torchrun_command``) for more than one, plain python for
    one (torchrun for one too when ``max_restarts`` > 0); the environment is ``distrib.launch_env()`` (``OMP_WAIT_POLICY=PASSIVE``) either
    way. Every launcher (``--nproc``, the experiment) starts training through this."""
    if nproc > 1 or max_restarts > 0:
        cmd = torchrun_command(nproc, argv, max_restarts)
    else:
        cmd = [sys.executable, "-m", TRAIN_MODULE, *_without_nproc(argv)]
    return Launch(cmd, distrib.launch_env())


def launch_torchrun(nproc: int, argv: list[str], max_restarts: int = 0) -> int:
    """Run ``train_launch(nproc, argv, max_restarts)`` and return its exit code."""
    job = train_launch(nproc, argv, max_restarts)
    log.info("launching: %s", " ".join(job.command))
    return subprocess.call(job.command, env=job.env)
