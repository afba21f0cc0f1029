"""Step checkpoints and data order (issue 14): the order is a function of (seed, global
step) with disjoint items per rank, rotation keeps the newest K, and a SIGKILL in the
middle of a checkpoint write leaves the previous checkpoint loadable."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from plugin_host.atomic import write_bytes
from tests.helpers import make_tiny_agent
from training.audio_files import write_audio
from training.checkpoint import read_train_state, save_checkpoint
from training.data.folder import FolderPairs
from training.data.synth import SynthPairs, item_seed, train_config
from training.launch import torchrun_command
from training.order import StepBatches, step_indices, step_seed
from training.run_checkpoints import newest_checkpoint, prune, restart_count, step_path


@pytest.mark.parametrize(("n", "world", "batch"), [(16, 2, 2), (13, 3, 4), (8, 4, 1)])
def test_ranks_get_disjoint_indices_every_step(n: int, world: int, batch: int) -> None:
    per_sweep = n // (world * batch)
    for step in range(3 * per_sweep):
        got = [step_indices(n, 7, step, r, world, batch) for r in range(world)]
        flat = [i for g in got for i in g]
        assert all(len(g) == batch for g in got)
        assert len(set(flat)) == len(flat), (step, got)  # disjoint across ranks
        assert all(0 <= i < n for i in flat)
    # one sweep covers world * batch * per_sweep distinct items, and sweeps differ
    sweep0 = {
        i
        for s in range(per_sweep)
        for r in range(world)
        for i in step_indices(n, 7, s, r, world, batch)
    }
    assert len(sweep0) == per_sweep * world * batch
    a = [step_indices(n, 7, s, 0, world, batch) for s in range(per_sweep)]
    b = [step_indices(n, 7, s + per_sweep, 0, world, batch) for s in range(per_sweep)]
    assert a != b


def test_order_is_a_function_of_seed_and_step() -> None:
    # a sampler started at step 5 (a resumed run) yields what the full one yields from 5 on
    full = list(StepBatches(32, 3, 1, 2, 4, 0, 12))
    assert list(StepBatches(32, 3, 1, 2, 4, 5, 12)) == full[5:]
    assert len(StepBatches(32, 3, 1, 2, 4, 5, 12)) == 7
    assert list(StepBatches(32, 4, 1, 2, 4, 0, 12)) != full  # another seed, another order
    seeds = {step_seed(0, s, r) for s in range(50) for r in range(4)}
    assert len(seeds) == 200 and step_seed(0, 3, 1) == step_seed(0, 3, 1)
    with pytest.raises(ValueError, match="fewer than the global batch 8"):
        step_indices(7, 0, 0, 0, 2, 4)


def _rank_items(n: int, step: int) -> list[list[int]]:
    return [step_indices(n, 0, step, r, 2, 2) for r in range(2)]


def test_sources_give_each_rank_different_items(tmp_path: Path) -> None:
    """The synthetic source (and the SoundFont one, which seeds items the same way:
    ``item_seed(seed, index)``) and the folder source map distinct indices to distinct
    items, so the ranks' audio differs at every step."""
    synth = SynthPairs(train_config(seconds=0.1, sample_rate=8000, channels=1), 8, seed=0)
    for step in range(3):
        r0, r1 = _rank_items(len(synth), step)
        assert not {item_seed(0, i) for i in r0} & {item_seed(0, i) for i in r1}
        a, b = synth[r0[0]]["target"], synth[r1[0]]["target"]
        assert not torch.equal(a, b)

    sr = 8000
    for sub in ("input", "target"):
        (tmp_path / sub).mkdir()
        for k in range(2):  # two 1 s files of noise each: crops differ by file and offset
            noise = np.random.default_rng([k, len(sub)]).standard_normal((1, sr))
            write_audio(tmp_path / sub / f"{k}.wav", 0.1 * noise.astype(np.float32), sr, False)
    folder = FolderPairs(tmp_path / "input", tmp_path / "target", sample_rate=sr, channels=1,
                         crop_seconds=0.1, n_items=8, seed=0)  # fmt: skip
    for step in range(3):
        r0, r1 = _rank_items(len(folder), step)
        for i, j in zip(r0, r1, strict=True):
            assert not torch.equal(folder[i]["input"], folder[j]["input"])


def test_rotation_and_newest(tmp_path: Path) -> None:
    agent = make_tiny_agent()
    state = dict(train_config={}, epoch=0, optimizer={}, rng=[])
    for step in (2, 4, 6, 8):
        save_checkpoint(step_path(tmp_path, step), agent, step=step, **state)
        prune(tmp_path, 2)
    assert [p.name for p in sorted((tmp_path / "checkpoints").iterdir())] == [
        "step_00000006.pt", "step_00000008.pt",
    ]  # fmt: skip
    found = newest_checkpoint(tmp_path)
    assert found is not None and found[0].name == "step_00000008.pt" and found[1]["step"] == 8
    # a damaged newest file is skipped; last.pt wins a tie with a step checkpoint
    write_bytes(step_path(tmp_path, 10), b"not a checkpoint", overwrite=True)
    save_checkpoint(tmp_path / "last.pt", agent, step=8, **state)
    found = newest_checkpoint(tmp_path)
    assert found is not None and found[0].name == "last.pt"
    assert newest_checkpoint(tmp_path / "empty") is None
    assert restart_count({}) == 0 and restart_count({"TORCHELASTIC_RESTART_COUNT": "2"}) == 2


def test_max_restarts_goes_to_torchrun() -> None:
    cmd = torchrun_command(2, ["--nproc", "2", "--max_restarts", "1", "--epochs", "2"], 1)
    assert "--max-restarts=1" in cmd and "--nproc_per_node=2" in cmd
    assert cmd[-2:] == ["--epochs", "2"] and "--max_restarts" not in cmd


SAVER = textwrap.dedent(
    """
    import sys
    import torch
    sys.path.insert(0, sys.argv[2])
    from tests.helpers import make_tiny_agent
    from training.checkpoint import save_checkpoint
    from training.run_checkpoints import prune, step_path
    from pathlib import Path

    run = Path(sys.argv[1])
    agent = make_tiny_agent()
    big = torch.randn(16 * 2**20)  # 64 MiB: the write takes a while
    for step in range(1, 1000):
        print("saving", step, flush=True)
        save_checkpoint(step_path(run, step), agent, train_config={}, epoch=0, step=step,
                        optimizer={}, rng=[], ballast=big)
        prune(run, 2)
    """
)


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_write_leaves_the_previous_one(tmp_path: Path) -> None:
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    run = tmp_path / "run"
    tests_dir = str(Path(__file__).resolve().parents[1])  # the repo root: tests.helpers
    cmd = [sys.executable, str(script), str(run), tests_dir]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:  # wait until step 3 is being written (1 and 2 are complete)
            if line.strip() == "saving 3":
                break
        time.sleep(0.05)  # inside torch.save / fsync of the 64 MiB file
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    found = newest_checkpoint(run)
    assert found is not None and found[1]["step"] >= 2
    # nothing half-written is visible: every file in the folder loads
    for p in (run / "checkpoints").iterdir():
        assert read_train_state(p)["ballast"].shape == (16 * 2**20,)


def test_a_restarted_group_rendezvouses_under_its_own_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """torchrun's store outlives a restart; keys the dead ranks left (their gloo addresses)
    must not be read by the new ones, so restart K uses the prefix ``restart_K``."""
    from datetime import timedelta

    import torch.distributed as dist

    from training.distrib import _restart_store

    server = dist.TCPStore("127.0.0.1", 0, 1, is_master=True, timeout=timedelta(seconds=10))
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(server.port))
    monkeypatch.setenv("TORCHELASTIC_USE_AGENT_STORE", "True")  # the agent hosts the store
    server.set("rank_1", "stale address")
    store = _restart_store(0, 2, restart=1)
    store.set("rank_1", "fresh address")
    assert server.get("rank_1") == b"stale address"
    assert server.get("restart_1/rank_1") == b"fresh address"


def test_the_fault_record_becomes_a_benchmark_section() -> None:
    from bench.faults import md_faults

    assert md_faults({}) == []  # nothing measured: no section
    record = dict(command="creative-agent train ...", seconds_per_step=0.25, resumed_epoch=1,
                  resumed_step=8, restart=1, kill_to_resumed_s=17.6, steps_lost_estimate=2.0,
                  steps_lost_bound=3, load_average=[6.0, 5.4, 6.2])  # fmt: skip
    text = "\n".join(md_faults({"faults": record}))
    assert "| 17.6 | 2.0 | 0.250 | at most checkpoint_every − 1 = 3 |" in text
    assert "resumed at epoch 1 step 8 after restart 1".capitalize() in text
