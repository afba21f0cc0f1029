"""Checkpoints: round trip, clear errors for corrupt/foreign files, and resume equivalence
(2 epochs straight == 1 epoch + resume 1 epoch)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.helpers import make_tiny_agent
from training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    read_checkpoint,
    read_train_state,
    save_checkpoint,
)
from training.presets import preset_config
from training.train import VOLATILE_KEYS, main, train

RESUME_CFG: dict[str, Any] = dict(
    model_size="tiny",
    epochs=2,
    steps_per_epoch=1,  # the resumed step still depends on Adam's saved moments
    batch_size=2,
    crop_seconds=0.5,
    train_pairs=6,
    valid_pairs=2,
    valid_seconds=1.0,
    progress=False,
    device="cpu",
    balance_mode="uniform",  # draws from the RNG every step: the restored state matters
    gan_warmup_epochs=1,  # the adversarial terms switch on in the resumed epoch
)


def test_round_trip(tmp_path: Path) -> None:
    agent = make_tiny_agent(seed=3)
    path = save_checkpoint(
        tmp_path / "a" / "m.pt", agent, epoch=4, metrics={"valid/verdict": "mixing"}
    )
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temp file left
    raw = read_checkpoint(path)
    assert raw["epoch"] == 4 and raw["metrics"] == {"valid/verdict": "mixing"}
    loaded = load_checkpoint(path)
    assert not loaded.training and loaded.config == agent.config
    x, y = torch.randn(1, 2, 4096), torch.randn(1, 2, 4096)
    with torch.no_grad():
        assert torch.equal(loaded(x, y, 0.3).audio, agent(x, y, 0.3).audio)
    # the seed's quick-test call on plain tensors
    out = loaded.inference(x[0], y[0], balance=0.5)
    assert out.shape == (2, 4096)


def test_corrupt_and_foreign_files_get_clear_errors(tmp_path: Path) -> None:
    good = save_checkpoint(tmp_path / "good.pt", make_tiny_agent())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"truncated\.pt: not a readable checkpoint"):
        load_checkpoint(truncated)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes\.pt: not a readable checkpoint"):
        read_checkpoint(text)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not a creative-agent checkpoint"):
        read_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        read_checkpoint(tmp_path / "missing.pt")
    # a valid model checkpoint that holds no training state cannot be resumed
    with pytest.raises(CheckpointError, match=r"good\.pt: not a training checkpoint \(missing"):
        read_train_state(good)


def test_cli_resume_from_a_foreign_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "foreign.pt"
    torch.save([1, 2, 3], foreign)
    assert main(["--resume", str(foreign)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("creative-agent train: ") and "foreign.pt" in err and "\n" not in err


def test_resume_gives_the_same_result_as_an_uninterrupted_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # seed_fixed has GAN on: the discriminator and its optimizer resume too
    straight = train(preset_config("seed_fixed", **{**RESUME_CFG, "out": str(tmp_path / "a")}))
    train(preset_config("seed_fixed", **{**RESUME_CFG, "out": str(tmp_path / "b"), "epochs": 1}))
    # keep epoch 1's checkpoint for the model-size check at the end
    shutil.copy(tmp_path / "b" / "last.pt", tmp_path / "epoch1.pt")
    # resume through the CLI: the stored config, with --epochs raised to the full run
    assert main(["--resume", str(tmp_path / "b" / "last.pt"), "--epochs", "2"]) == 0
    capsys.readouterr()

    a, b = read_checkpoint(tmp_path / "a" / "last.pt"), read_checkpoint(tmp_path / "b" / "last.pt")
    assert (a["epoch"], a["step"]) == (b["epoch"], b["step"]) == (2, 2)
    # CPU kernels with the same thread count are deterministic: expect bit-equal weights;
    # the tolerance only absorbs a float32 rounding difference should a kernel reorder sums.
    for part in ("model", "discriminator"):
        for k, v in a[part].items():
            assert torch.allclose(v, b[part][k], rtol=0, atol=1e-6), (part, k)
    resumed = {k: v for k, v in b["metrics"].items() if k not in VOLATILE_KEYS}
    assert set(resumed) <= set(straight)
    for k, v in resumed.items():
        if isinstance(v, float):
            assert v == pytest.approx(straight[k], rel=1e-6, abs=1e-9), k
        else:
            assert v == straight[k], k
    assert b["metrics"]["gan_active"] is True

    lines_a = (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()
    lines_b = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert len(lines_a) == len(lines_b) == 2
    assert (tmp_path / "b" / "train.log").read_text().count("Epoch 2/2:") == 1

    # a model of another size cannot resume from this checkpoint
    small = preset_config(
        "seed_fixed", **{**RESUME_CFG, "model_size": "small", "out": str(tmp_path / "c")}
    )
    with pytest.raises(CheckpointError, match=r"epoch1\.pt: model config 'tiny' differs"):
        train(small, resume=tmp_path / "epoch1.pt")
