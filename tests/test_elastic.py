"""Real torchrun jobs (issue 14): a SIGKILLed rank under ``--max_restarts 1`` resumes from
the newest step checkpoint and ends with bit-identical weights, and two launchers acting
as two nodes train the same weights as one launcher with two processes.

Bit-identical (``torch.equal``), no tolerance: on CPU/gloo with the same world size every
reduction runs in the same order, and the data and draws are functions of (seed, step)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bench.faults import worker_pid
from training.checkpoint import read_checkpoint

pytestmark = pytest.mark.slow

TRAIN_FLAGS = [
    "--preset", "seed_fixed", "--model_size", "tiny", "--epochs", "2", "--steps_per_epoch", "6",
    "--batch_size", "2", "--crop_seconds", "0.25", "--train_pairs", "12", "--valid_pairs", "1",
    "--valid_seconds", "0.5", "--gan_warmup_epochs", "1", "--balance_mode", "uniform",
    "--device", "cpu", "--no_progress", "--checkpoint_every", "2", "--keep_checkpoints", "2",
]  # fmt: skip
TIMEOUT = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _train_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "training.train", *TRAIN_FLAGS, "--out", str(out), *extra]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    model: dict[str, torch.Tensor] = read_checkpoint(run / "last.pt")["model"]
    return model


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One launcher, two processes, no fault."""
    out = tmp_path_factory.mktemp("reference") / "run"
    proc = subprocess.run(
        _train_cmd(out, "--nproc", "2"), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_sigkilled_rank_resumes_with_identical_weights(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = _train_cmd(out, "--nproc", "2", "--max_restarts", "1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = out / "checkpoints" / "step_00000002.pt"
    deadline = time.monotonic() + TIMEOUT
    while not first.exists():  # mid-epoch 1: step 2 of 6 is saved
        assert proc.poll() is None and time.monotonic() < deadline, "run ended before step 2"
        time.sleep(0.02)
    pid = worker_pid(out, 1)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=TIMEOUT)
    (tmp_path / "stderr.txt").write_text(stderr)  # the whole story, for a failure
    assert proc.returncode == 0, stderr[-3000:]
    log = (out / "train.log").read_text()
    assert "after restart 1" in log, log
    assert "resumed at epoch 1 step" in log or "resumed at epoch 2 step" in log
    # steps 2, 4, 8, 10 saved (6 and 12 end an epoch: last.pt); the newest 2 kept
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "step_00000008.pt", "step_00000010.pt",
    ]  # fmt: skip
    _assert_same(_weights(out), _weights(reference))


def test_two_launchers_as_two_nodes_match_one_launcher(reference: Path, tmp_path: Path) -> None:
    port = free_port()
    procs = []
    for node in (0, 1):  # each node its own run folder; rank 0 alone writes
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
            "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{port}", "--rdzv_id=two-nodes",
            "-m", "training.train", *TRAIN_FLAGS, "--out", str(tmp_path / f"node{node}"),
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    for p in procs:
        _, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, err[-3000:]
    written = [
        tmp_path / f"node{n}" for n in (0, 1) if (tmp_path / f"node{n}" / "last.pt").exists()
    ]
    assert len(written) == 1  # the node that got rank 0
    metrics = read_checkpoint(written[0] / "last.pt")["metrics"]
    assert metrics["world_size"] == 2 and metrics["step"] == 12
    _assert_same(_weights(written[0]), _weights(reference))
