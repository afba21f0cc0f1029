"""training/train.py in one process: a training step, the run folder, auto-balance, CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from model import AgentConfig, CreativeAgent
from training.checkpoint import read_checkpoint
from training.cli_args import load_toml
from training.config import TrainConfig
from training.launch import torchrun_command
from training.presets import preset_config
from training.rng import draw_balance, random_gain
from training.train import main, train

TINY: dict[str, Any] = dict(
    model_size="tiny",
    epochs=1,
    steps_per_epoch=1,
    batch_size=2,
    crop_seconds=0.5,
    train_pairs=4,
    valid_pairs=2,
    valid_seconds=1.0,
    progress=False,
    device="cpu",
)


def tiny_cfg(out: Path, preset: str = "seed_baseline", **overrides: Any) -> TrainConfig:
    return preset_config(preset, **{**TINY, "out": str(out), **overrides})


def test_one_training_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tiny_cfg(tmp_path / "run")
    m = train(cfg)
    run = tmp_path / "run"
    assert (m["epoch"], m["step"], m["world_size"], m["best_epoch"]) == (1, 1, 1, 1)
    assert m["loss/total"] > 0 and "loss/recon_target" in m and "loss/balance" in m
    assert -1 <= m["train/output_input_corr"] <= 1 and -1 <= m["train/output_target_corr"] <= 1
    assert m["train/verdict"] in ("noise", "copying_target", "copying_input", "mixing")
    for key in ("valid/output_input_corr", "valid/energy_share@0.25", "valid/in-12dB/verdict",
                "valid/onset_corr_input", "valid/chroma_cos_target", "baseline/chroma_cos_input"):  # fmt: skip
        assert key in m, key
    # the plain sum at equal level is the seed's "mixing" (notes/metrics.md: ≈ 0.71 / 0.71)
    assert m["baseline/verdict"] == "mixing"

    out = capsys.readouterr().out
    assert out.startswith("Epoch 1/1:\n  Train Loss: ")
    assert "  📊 Output Correlation Analysis:" in out and "Energy share of input:" in out

    assert sorted(p.name for p in run.iterdir()) == [
        "best_model.pt", "config.toml", "curves.png", "last.pt", "metrics.jsonl", "train.log",
    ]  # fmt: skip
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert TrainConfig(**load_toml(run / "config.toml")) == cfg
    ck = read_checkpoint(run / "last.pt")
    assert ck["epoch"] == 1 and ck["step"] == 1 and ck["train_config"] == cfg.to_dict()
    assert ck["metrics"]["valid/verdict"] == m["valid/verdict"]
    assert (
        "valid/output_input_corr" in ck["metrics"] and "valid/output_target_corr" in ck["metrics"]
    )
    # the step changed the weights (same seed, same init)
    torch.manual_seed(cfg.seed)
    init = CreativeAgent(AgentConfig.preset("tiny")).state_dict()
    changed = [k for k, v in ck["model"].items() if not torch.equal(v, init[k])]
    assert changed


def test_auto_balance_raises_loss_weight_input_within_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # thresholds set so that the target red flag fires from epoch 1 on
    cfg = tiny_cfg(
        tmp_path / "run",
        epochs=2,
        auto_balance=True,
        auto_balance_step=0.3,
        auto_balance_max=0.5,
        red_flag_target_epoch=0,
        red_flag_target_corr=-1.0,
    )
    m = train(cfg)
    out = capsys.readouterr().out
    assert out.count("🚩 RED FLAG: Output→Target corr") == 2
    assert "🔧 auto_balance: loss_weight_input 0 → 0.3 (red flag)" in out
    assert "🔧 auto_balance: loss_weight_input 0.3 → 0.5 (red flag)" in out
    assert m["loss_weight_input"] == 0.5 and m["red_flags"] == ["target_corr_high"]
    assert "loss/recon_input" in m  # the raised weight is in use
    assert read_checkpoint(tmp_path / "run" / "last.pt")["train_config"]["loss_weight_input"] == 0.5
    assert cfg.loss_weight_input == 0.0  # the caller's config is not modified


def test_random_gain_and_balance_draws() -> None:
    torch.manual_seed(0)
    x = torch.ones(400, 1, 3)
    g_db = 20 * torch.log10(random_gain(x, 12.0)[:, 0, 0])
    assert float(g_db.min()) >= -12.0 - 1e-4 and float(g_db.max()) <= 12.0 + 1e-4
    assert float(g_db.min()) < -10 and float(g_db.max()) > 10  # the whole range is used
    assert torch.equal(random_gain(x, 0.0), x)
    cfg = TrainConfig(balance_mode="uniform", balance_min=0.3, balance_max=0.6)
    b = draw_balance(cfg, 500, torch.device("cpu"))
    assert float(b.min()) >= 0.3 and float(b.max()) <= 0.6 and float(b.std()) > 0.05
    fixed = draw_balance(TrainConfig(balance=0.7), 3, torch.device("cpu"))
    assert fixed.tolist() == pytest.approx([0.7] * 3)


def test_nproc_becomes_a_torchrun_command() -> None:
    cmd = torchrun_command(3, ["--nproc", "3", "--epochs", "2", "--nproc=3", "--lr", "0.1"])
    assert cmd[1:] == [
        "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3",
        "-m", "training.train", "--epochs", "2", "--lr", "0.1",
    ]  # fmt: skip


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nodata"
    assert main(["--data", str(missing), "--out", str(tmp_path / "r"), "--model_size", "tiny"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("creative-agent train: --data") and str(missing) in err
    assert "\n" not in err
    assert main(["--train_pairs", "1", "--batch_size", "2", "--model_size", "tiny",
                 "--out", str(tmp_path / "r")]) == 1  # fmt: skip
    assert "fewer than the global batch 2 (1 rank(s) × batch_size 2)" in capsys.readouterr().err
