"""Presets, generated flags, TOML configs and their precedence (preset < TOML < flags)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from training.cli_args import (
    build_parser,
    field_help,
    field_types,
    load_toml,
    parse_args,
    to_toml,
)
from training.config import TrainConfig
from training.presets import PRESETS, preset_config

WEIGHTS = [
    f.name
    for f in dataclasses.fields(TrainConfig)
    if f.name.endswith("_weight") or f.name.startswith("loss_weight_")
]


def test_every_preset_builds_a_valid_config() -> None:
    for name in PRESETS:
        cfg = preset_config(name)
        assert cfg.preset == name
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_seed_baseline_is_the_seeds_current_config() -> None:
    cfg = preset_config("seed_baseline")
    nonzero = {w: getattr(cfg, w) for w in WEIGHTS if getattr(cfg, w) != 0}
    assert nonzero == {"loss_weight_target": 1.0, "balance_loss_weight": 5.0}
    assert cfg.balance_mode == "fixed" and cfg.balance == 0.5 and cfg.recon_loss == "mse"


def test_seed_fixed_is_the_seeds_recommended_config() -> None:
    cfg = preset_config("seed_fixed")
    nonzero = {w: getattr(cfg, w) for w in WEIGHTS if getattr(cfg, w) != 0}
    assert nonzero == {
        "balance_loss_weight": 10.0,
        "novelty_weight": 0.5,
        "corr_weight": 0.5,
        "gan_weight": 0.1,
    }
    assert cfg.loss_weight_input == 0.0 and cfg.loss_weight_target == 0.0


def test_default_preset_uses_the_energy_share_terms() -> None:
    cfg = preset_config("default")
    assert cfg.energy_balance_weight > 0 and cfg.rhythm_weight > 0 and cfg.harmony_weight > 0
    assert cfg.balance_mode == "uniform"
    assert cfg.loss_weight_target == 0.0  # the term that lets the seed copy the target


def test_unknown_preset() -> None:
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        preset_config("nope")


def test_every_field_has_a_flag_with_help() -> None:
    parser = build_parser()
    flags = {s for a in parser._actions for s in a.option_strings}
    helps = field_help()
    for name, typ in field_types().items():
        assert f"--{name}" in flags, name
        if typ is bool:
            assert f"--no_{name}" in flags, name
        assert helps.get(name), f"TrainConfig.{name} has no comment to serve as --help"
    for seed_flag in (
        "--loss_weight_input",
        "--loss_weight_target",
        "--balance_loss_weight",
        "--novelty_weight",
        "--corr_weight",
        "--gan_weight",
        "--resume",
        "--config",
        "--nproc",
    ):
        assert seed_flag in flags


def test_no_flags_gives_the_default_preset() -> None:
    args = parse_args([])
    assert args.cfg == preset_config("default")
    assert args.resume is None and args.nproc is None and not args.print_config
    assert parse_args(["--preset", "none"]).cfg == TrainConfig()


def test_precedence_preset_then_toml_then_flags(tmp_path: Path) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text(
        'preset = "seed_fixed"\nnovelty_weight = 0.25\nepochs = 3\nlr = 1\nauto_balance = true\n'
    )
    cfg = parse_args(["--config", str(toml), "--epochs", "7", "--no_auto_balance"]).cfg
    assert cfg.preset == "seed_fixed"
    assert cfg.balance_loss_weight == 10.0  # from the preset
    assert cfg.novelty_weight == 0.25  # TOML over preset
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)  # TOML int accepted for a float
    assert cfg.epochs == 7  # flag over TOML
    assert cfg.auto_balance is False  # --no_x over TOML true
    # an explicit --preset on the command line beats the TOML's preset
    cfg = parse_args(["--config", str(toml), "--preset", "seed_baseline"]).cfg
    assert cfg.preset == "seed_baseline" and cfg.loss_weight_target == 1.0
    assert cfg.novelty_weight == 0.25  # TOML values still apply over that preset


def test_toml_errors_name_the_file_and_key(tmp_path: Path) -> None:
    bad_key = tmp_path / "a.toml"
    bad_key.write_text("lerning_rate = 0.1\n")
    with pytest.raises(ValueError, match=r"a\.toml: unknown training option 'lerning_rate'"):
        load_toml(bad_key)
    bad_type = tmp_path / "b.toml"
    bad_type.write_text('epochs = "ten"\n')
    with pytest.raises(ValueError, match=r"b\.toml: option 'epochs' must be int"):
        load_toml(bad_type)
    broken = tmp_path / "c.toml"
    broken.write_text("epochs = \n")
    with pytest.raises(ValueError, match=r"c\.toml: not valid TOML"):
        load_toml(broken)
    with pytest.raises(ValueError, match="config file not found"):
        load_toml(tmp_path / "missing.toml")


def test_bad_values_are_rejected_with_the_field_name() -> None:
    with pytest.raises(ValueError, match="training option balance_mode"):
        parse_args(["--balance_mode", "random"])
    with pytest.raises(ValueError, match="training option gan_weight: must be >= 0"):
        parse_args(["--gan_weight", "-1"])
    with pytest.raises(SystemExit):  # argparse: not a number
        parse_args(["--lr", "fast"])


def test_toml_round_trip(tmp_path: Path) -> None:
    cfg = dataclasses.replace(preset_config("seed_fixed"), out='runs/a "b"', auto_balance=True)
    path = tmp_path / "cfg.toml"
    path.write_text(to_toml(cfg))
    assert TrainConfig(**load_toml(path)) == cfg


def test_cli_print_config(capsys: pytest.CaptureFixture[str]) -> None:
    from training.train import main

    assert main(["--preset", "seed_baseline", "--lr", "0.01", "--print_config"]) == 0
    out = capsys.readouterr().out
    assert 'preset = "seed_baseline"' in out and "lr = 0.01" in out
    assert "balance_loss_weight = 5.0" in out
