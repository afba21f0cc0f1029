"""training/distrib.py: no-ops for one process, and a REAL torchrun job of two gloo
processes that checks the reductions and trains a tiny model for two steps."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from training import distrib

WORKER = textwrap.dedent(
    """
    import json, sys
    import torch
    from training import distrib
    from training.presets import preset_config
    from training.train import train

    out = sys.argv[1]
    env = distrib.setup("cpu")
    r = env.rank
    lin = torch.nn.Linear(2, 1)
    lin.weight.grad = torch.full_like(lin.weight, float(r + 1))  # rank 0: 1, rank 1: 2
    distrib.average_gradients(env, lin)  # bias has no grad on either rank: counts as 0
    checks = {
        "rank": r,
        "world": env.world_size,
        "backend": env.backend,
        "threads": torch.get_num_threads(),
        "mean": distrib.mean_over_ranks(env, {"a": float(r + 1), "b": 10.0 * r}, {"a": 1.0, "b": 2.0}),
        "gathered": distrib.all_gather_objects(env, {"rank": r}),
        "broadcast": distrib.broadcast_object(env, f"from rank {r}"),
        "grad": lin.weight.grad.tolist(),
        "bias_grad": lin.bias.grad.tolist(),
    }
    cfg = preset_config(
        "seed_fixed", model_size="tiny", epochs=1, steps_per_epoch=2, batch_size=2,
        crop_seconds=0.5, train_pairs=8, valid_pairs=2, valid_seconds=1.0, progress=False,
        gan_warmup_epochs=0, balance_mode="uniform", device="cpu", out=out + "/run",
    )
    metrics = train(cfg)
    with open(f"{out}/rank{r}.json", "w") as f:
        json.dump({"checks": checks, "metrics": metrics}, f)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_single_process_helpers_are_identities(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    env = distrib.setup("cpu")
    assert (env.rank, env.world_size, env.backend, env.is_main) == (0, 1, None, True)
    assert distrib.mean_over_ranks(env, {"x": 3.0, "y": 1.0}, {"x": 2.0, "y": 0.0}) == {"x": 1.5}
    assert distrib.all_gather_objects(env, "me") == ["me"]
    assert distrib.broadcast_object(env, 7) == 7
    lin = torch.nn.Linear(2, 1)
    assert distrib.wrap_model(env, lin) is lin and distrib.unwrap(lin) is lin
    lin.weight.grad = torch.ones_like(lin.weight)
    distrib.average_gradients(env, lin)
    assert lin.weight.grad.tolist() == [[1.0, 1.0]] and lin.bias.grad is None
    distrib.barrier(env)
    distrib.teardown(env)


def test_bad_torchrun_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK=2 outside WORLD_SIZE=2"):
        distrib.setup("cpu")
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="RANK='one' is not an integer"):
        distrib.setup("cpu")


def test_mean_over_ranks_needs_matching_keys() -> None:
    env = distrib.DistEnv(0, 1, 0, torch.device("cpu"), None)
    with pytest.raises(ValueError, match="same keys"):
        distrib.mean_over_ranks(env, {"a": 1.0}, {"b": 1.0})


@pytest.mark.slow
def test_torchrun_two_gloo_processes(tmp_path: Path) -> None:
    """Two real processes: reductions, then two DDP training steps (GAN on, so the
    discriminator's hand-averaged gradients are exercised too)."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
        "--master_addr=127.0.0.1", f"--master_port={free_port()}", str(script), str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]

    for r, got in enumerate(res):
        c = got["checks"]
        assert (c["rank"], c["world"], c["backend"]) == (r, 2, "gloo")
        assert c["mean"] == {"a": 1.5, "b": 2.5}  # (1 + 2) / 2 and (0 + 10) / (2 + 2)
        assert c["gathered"] == [{"rank": 0}, {"rank": 1}]
        assert c["broadcast"] == "from rank 0"
        assert c["grad"] == [[1.5, 1.5]] and c["bias_grad"] == [0.0]
        assert c["threads"] == max(1, distrib.available_cores() // 2)

    m0, m1 = res[0]["metrics"], res[1]["metrics"]
    assert m0 == m1 | {"epoch_seconds": m0["epoch_seconds"]}  # all-reduced: identical
    assert m0["world_size"] == 2 and m0["step"] == 2 and m0["gan_active"] is True
    assert "disc/total" in m0 and "loss/gan" in m0
    assert 0.0 < m0["train/balance"] < 1.0

    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "best_model.pt", "config.toml", "curves.png", "last.pt", "metrics.jsonl", "train.log",
    ]  # fmt: skip
    # rank 0 alone writes: one epoch block in the log and on stdout, one metrics line
    assert (run / "train.log").read_text().count("Epoch 1/1:") == 1
    assert proc.stdout.count("Epoch 1/1:") == 1
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1
