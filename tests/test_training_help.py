"""``--help`` of train, experiment, export (with ``--inspect``), diagnose and demo-data
(issue 11 item 9, issue 13): every flag has help text, no RST markup, and the train and
experiment help comes from the config dataclasses' ``metadata["help"]``."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable

import pytest

from export import onnx_export
from training import cli_args, diagnose, experiment
from training.config import TrainConfig
from training.data import cli as demo_data
from training.experiment_config import ExperimentConfig

PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "train": cli_args.build_parser,
    "experiment": experiment.build_parser,
    "export": onnx_export.build_parser,
    "diagnose": diagnose.build_parser,
    "demo-data": demo_data.build_parser,
}
MAINS: dict[str, Callable[[list[str]], object]] = {
    "train": lambda argv: cli_args.parse_args(argv),
    "experiment": experiment.main,
    "export": onnx_export.main,
    "diagnose": diagnose.main,
    "demo-data": demo_data.main,
}


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_flag_has_help(command: str) -> None:
    parser = PARSERS[command]()
    assert parser.description and parser.description.rstrip().endswith(".")
    missing = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions  # argparse keeps no public list of its actions
        if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("command", "argv"),
    [(c, ["--help"]) for c in sorted(MAINS)] + [("export", ["--inspect", "m.onnx", "--help"])],
)
def test_help_output_has_no_markup(
    command: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        MAINS[command](argv)
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: creative-agent {command}")
    assert "``" not in text and ":func:" not in text and ":class:" not in text
    assert text.count("`") % 2 == 0  # no backtick left open
    assert re.search(r"\(\s*\)", text) is None  # no empty parentheses where help was


def test_train_help_is_the_fields_metadata() -> None:
    parser = cli_args.build_parser()
    by_dest = {a.option_strings[0]: a.help for a in parser._actions if a.option_strings}
    for f in dataclasses.fields(TrainConfig):
        text = f.metadata.get("help", "")
        assert text, f"TrainConfig.{f.name} has no metadata help"
        if f.name != "preset":  # the flag says how presets are chosen instead
            assert (by_dest[f"--{f.name}"] or "").startswith(text)


def test_experiment_help_is_the_fields_metadata() -> None:
    parser = experiment.build_parser()
    by_dest = {a.dest: a.help or "" for a in parser._actions}
    for f in dataclasses.fields(ExperimentConfig):
        assert by_dest[f.name].startswith(f.metadata["help"])
