"""training/experiment*.py: arguments, the launch, the computed checks, and one real tiny
torchrun run."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from plugin_host.measures import verdict
from training import experiment as X
from training import experiment_checks, experiment_eval, experiment_runs, launch
from training.experiment_config import CONFIGS, ExperimentConfig
from training.validation import KNOBS


def test_parse_args_defaults_and_configs() -> None:
    exp, again, eval_only = X.parse_args(
        ["seed-fix", "--configs", "default, seed_fixed", "--minutes", "3"]
    )
    assert exp.configs == ("default", "seed_fixed") and exp.minutes == 3.0 and exp.nproc == 2
    assert again is None and not eval_only
    assert X.parse_args(["seed-fix"])[0].configs == CONFIGS
    assert X.parse_args(["seed-fix", "--eval_only"])[2]


def test_bad_arguments_give_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert X.main(["seed-fix", "--configs", "nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("creative-agent experiment: --configs") and "\n" not in err
    assert X.main(["seed-fix", "--epochs", "0"]) == 1
    assert "epochs" in capsys.readouterr().err
    assert X.main(["seed-fix", "--from_results", "/nonexistent/results.json"]) == 1
    assert "/nonexistent/results.json" in capsys.readouterr().err
    assert X.main(["seed-fix", "--eval_only", "--out", "/nonexistent"]) == 1
    assert "--eval_only needs /nonexistent/results.json" in capsys.readouterr().err


def test_training_is_launched_as_the_trainer_launches_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: the experiment copied train's torchrun command and lost its environment
    (OMP_WAIT_POLICY=PASSIVE); now both go through ``training.launch.train_launch``."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    exp = ExperimentConfig(out=tmp_path, nproc=2, epochs=3)
    job = experiment_runs.train_launch("default", exp)
    flags = experiment_runs.train_flags("default", exp)
    assert job.command == launch.torchrun_command(2, flags)
    assert job.command[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    assert "--nproc_per_node=2" in job.command and flags[:2] == ["--preset", "default"]
    assert flags[flags.index("--epochs") + 1] == "3" and "--no_progress" in flags
    assert job.env["OMP_WAIT_POLICY"] == "PASSIVE"
    one = experiment_runs.train_launch("default", dataclasses.replace(exp, nproc=1))
    assert one.command == [sys.executable, "-m", "training.train", *flags]
    assert one.env["OMP_WAIT_POLICY"] == "PASSIVE"


def test_real_torchrun_workers_get_the_launch_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers torchrun starts for the experiment see OMP_WAIT_POLICY=PASSIVE: a real
    torchrun job of 2 processes running a probe module instead of the trainer. Each rank
    writes a file of its own (two processes printing to one log can interleave their
    lines)."""
    probe = tmp_path / "env_probe.py"
    probe.write_text(
        "import os, pathlib\n"
        f"out = pathlib.Path({str(tmp_path)!r}) / f\"env_{{os.environ['RANK']}}.txt\"\n"
        "out.write_text(f\"rank {os.environ['RANK']} omp {os.environ['OMP_WAIT_POLICY']}\")\n"
    )
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    monkeypatch.setattr(launch, "TRAIN_MODULE", "env_probe")
    exp = ExperimentConfig(out=tmp_path / "runs", nproc=2, minutes=3)
    run = experiment_runs.run_training("seed_baseline", exp)
    log = (tmp_path / "runs" / "seed_baseline" / "stdout.log").read_text()
    assert run["status"] == "ok", log
    lines = [(tmp_path / f"env_{rank}.txt").read_text() for rank in (0, 1)]
    assert lines == ["rank 0 omp PASSIVE", "rank 1 omp PASSIVE"], log


def _cond(ri: float, rt: float, shares: tuple[float, float, float], **kw: Any) -> dict[str, Any]:
    rec = {
        "output_input_corr": ri,
        "output_target_corr": rt,
        "input_mask_mean": 0.5,
        "target_mask_mean": 0.5,
        "onset_corr_input": 0.9,
        "chroma_cos_target": 0.9,
        "verdict": verdict(ri, rt),  # as validation.correlations gives it per pair
        **{f"energy_share@{k:g}": s for k, s in zip(KNOBS, shares, strict=True)},
        **kw,
    }
    return experiment_eval.summarize([rec])


def test_checks_follow_the_numbers() -> None:
    honest = (0.25, 0.55, 0.74)
    copy = _cond(0.1, 0.9, (0.01, 0.02, 0.05))
    good = _cond(0.6, 0.6, honest)
    off = _cond(0.6, 0.6, (0.25, 0.62, 0.74))  # 0.12 off at knob 0.5
    plain = _cond(0.7, 0.7, honest, onset_corr_input=0.95, chroma_cos_target=0.85)
    conds = ("equal", "in+12dB", "in-12dB")

    def model(ev: dict[str, Any]) -> dict[str, Any]:
        return {"last": {"epoch": 3, "eval": ev}, "best": {"epoch": 2, "eval": ev}}

    results = {
        "runs": {
            "seed_baseline": {"models": model(dict.fromkeys(conds, copy))},
            "default": {"models": model({"equal": good, "in+12dB": good, "in-12dB": off})},
        },
        "plain_sum": dict.fromkeys(conds, plain),
    }
    got = {c["name"]: c["passed"] for c in experiment_checks.checks(results, 12.0)}
    assert got[next(n for n in got if n.startswith("seed_baseline (last) reproduces"))] is True
    assert got["default (last) meets the seed's criteria (equal)"] is True
    assert got["default (best): balance knob honest within 0.1 (in+12dB)"] is True
    assert got["default (last): balance knob honest within 0.1 (in-12dB)"] is False
    assert got["default (last) keeps more of the input's rhythm than the plain sum"] is False
    assert got["default (last) keeps more of the target's harmony than the plain sum"] is True
    # a copy of the target fails the criteria
    results["runs"]["default"]["models"]["last"]["eval"] = dict.fromkeys(conds, copy)
    got = {c["name"]: c["passed"] for c in experiment_checks.checks(results, 12.0)}
    assert got["default (last) meets the seed's criteria (equal)"] is False
    assert got["default (best) meets the seed's criteria (equal)"] is True


@pytest.mark.slow
def test_tiny_experiment_under_torchrun(tmp_path: Path) -> None:
    """One real run: the seed baseline, tiny model, 2 torchrun processes, 1 short epoch;
    the doc, plot and JSON are written and hold that run's numbers."""
    argv = [
        "seed-fix", "--out", str(tmp_path / "runs"), "--docs", str(tmp_path / "docs"),
        "--configs", "seed_baseline", "--nproc", "2", "--model_size", "tiny", "--epochs", "1",
        "--steps_per_epoch", "2", "--batch_size", "2", "--crop_seconds", "0.5",
        "--train_pairs", "8", "--valid_pairs", "2", "--valid_seconds", "1.0", "--minutes", "3",
    ]  # fmt: skip
    assert X.main(argv) == 0
    docs = tmp_path / "docs"
    results = json.loads((docs / "experiment-seed-fix.json").read_text())
    run = results["runs"]["seed_baseline"]
    assert run["status"] == "ok" and run["epochs_done"] == 1
    # the curve is the trainer's own epoch record, a correlation in [-1, 1]
    logged = json.loads((tmp_path / "runs" / "seed_baseline" / "metrics.jsonl").read_text())
    assert len(run["curve"]) == 1
    assert run["curve"][0]["valid_input_corr"] == logged["valid/output_input_corr"]
    assert -1.0 <= run["curve"][0]["valid_input_corr"] <= 1.0
    assert {m["epoch"] for m in run["models"].values()} == {1}  # last and best: epoch 1
    equal = run["models"]["last"]["eval"]["equal"]
    assert equal["pairs"] == 2 and 0.0 <= equal["energy_share@0.5"] <= 1.0
    text = (docs / "experiment-seed-fix.md").read_text()
    assert f"| `seed_baseline` last (ep 1) | {equal['input_mask_mean']:.2f} /" in text
    assert "| plain 0.5/0.5 sum |" in text and "in+12dB" in text
    assert (docs / "experiment-seed-fix.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(docs.glob(".*tmp*"))  # no temp files left behind
    # re-render from the JSON alone: the same doc
    again = tmp_path / "again"
    assert (
        X.main(
            [
                "seed-fix",
                "--docs",
                str(again),
                "--from_results",
                str(docs / "experiment-seed-fix.json"),
            ]
        )
        == 0
    )
    assert (again / "experiment-seed-fix.md").read_text() == text
    # evaluate the same checkpoints again without training: same numbers
    assert X.main([*argv, "--eval_only"]) == 0
    redo = json.loads((docs / "experiment-seed-fix.json").read_text())
    again_models = redo["runs"]["seed_baseline"]["models"]
    assert {k: m["eval"] for k, m in again_models.items()} == {
        k: m["eval"] for k, m in run["models"].items()
    }
    assert redo["runs"]["seed_baseline"]["train_seconds"] == run["train_seconds"]
