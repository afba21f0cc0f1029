"""The seed-format epoch log, its alert rules and red flags, and metrics.jsonl."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from training.config import TrainConfig
from training.logbook import (
    ALERT_LINES,
    Logbook,
    MetricsLog,
    alert_line,
    format_epoch,
    format_weight,
    jsonable,
    red_flags,
)

# The seed's own example (its "Training Log Output (NEW)" block), numbers as it prints them.
SEED_METRICS = {
    "loss/total": 0.2146,
    "train/mask_reg": 0.7471,
    "train/complementarity": 75.4,
    "train/overlap": 0.246,
    "train/input_mask_mean": 0.496,
    "train/target_mask_mean": 0.495,
    "loss/balance": 0.00004,
    "train/temporal_diversity": 0.1,
    "train/energy_share": 0.312,
    "train/balance": 0.5,
    "train/output_input_corr": 0.237,
    "train/output_target_corr": 0.257,
}

SEED_BLOCK = """Epoch 1/200:
  Train Loss: 0.2146
  🎨 Creative Agent: mask_reg=0.7471, complementarity=75.4%, overlap=0.246
     Input mask: 0.496, Target mask: 0.495
     Balance loss (raw): 0.0000 [×5.0 weight = 0.0002]
     Temporal diversity: 0.1000"""

SEED_CORR_BLOCK = """  📊 Output Correlation Analysis:
     Output→Input corr: 0.237 (closer to 1.0 = using input)
     Output→Target corr: 0.257 (closer to 1.0 = copying target)
     ✓ Output appears to mix both sources"""


def test_epoch_block_reproduces_the_seed_example_line_for_line() -> None:
    text = format_epoch(1, 200, SEED_METRICS, balance_loss_weight=5.0)
    assert text.startswith(SEED_BLOCK + "\n")
    assert SEED_CORR_BLOCK in text
    assert "Energy share of input: 0.312 (balance knob 0.50" in text
    # the seed's order: creative-agent lines, then the correlation block, nothing after
    assert text.index("Temporal diversity") < text.index("Energy share") < text.index("📊")
    assert text.endswith("✓ Output appears to mix both sources")


def test_the_seed_problem_case_prints_copying_target() -> None:
    m = {**SEED_METRICS, "train/output_input_corr": 0.114, "train/output_target_corr": 0.862}
    text = format_epoch(1, 200, m, balance_loss_weight=5.0)
    assert "     Output→Input corr: 0.114 (closer to 1.0 = using input)" in text
    assert "     Output→Target corr: 0.862 (closer to 1.0 = copying target)" in text
    assert "     ⚠️  OUTPUT IS COPYING TARGET! (target corr >> input corr)" in text


@pytest.mark.parametrize(
    ("ri", "rt", "verdict"),
    [
        (0.114, 0.862, "copying_target"),  # the seed's problem case
        (0.30, 0.61, "copying_target"),  # just over 2×
        (0.30, 0.60, "mixing"),  # exactly 2× is not "> 2×"
        (0.862, 0.114, "copying_input"),
        (0.61, 0.30, "copying_input"),
        (0.45, 0.55, "mixing"),  # the seed's expected result after the fix
        (0.19, 0.05, "noise"),  # both < 0.2 wins over the ratio rule
        (-0.15, 0.1, "noise"),
        (-0.9, 0.3, "copying_input"),  # |corr|: an inverted input is still the input
    ],
)
def test_alert_rules(ri: float, rt: float, verdict: str) -> None:
    assert alert_line(ri, rt) == ALERT_LINES[verdict]
    text = format_epoch(
        3, 10, {**SEED_METRICS, "train/output_input_corr": ri, "train/output_target_corr": rt}, 5.0
    )
    assert f"     {ALERT_LINES[verdict]}" in text


def test_alert_texts() -> None:
    assert ALERT_LINES["mixing"] == "✓ Output appears to mix both sources"
    assert ALERT_LINES["copying_input"].startswith("⚠️  OUTPUT IS COPYING INPUT!")
    assert "RANDOM NOISE" in ALERT_LINES["noise"] and "novelty_weight" in ALERT_LINES["noise"]
    assert alert_line(float("nan"), 0.5) == ALERT_LINES[None]


def test_red_flags_fire_only_after_their_epochs() -> None:
    cfg = TrainConfig()  # the seed's thresholds: target > 0.8 after 20, input < 0.3 after 30
    assert red_flags(20, 0.1, 0.9, cfg) == []  # epoch 20 is not "after epoch 20"
    (flag,) = red_flags(21, 0.5, 0.86, cfg)
    assert flag.name == "target_corr_high"
    assert flag.message == (
        "🚩 RED FLAG: Output→Target corr 0.860 > 0.8 after epoch 20 → increase loss_weight_input"
    )
    assert red_flags(30, 0.1, 0.5, cfg) == []
    (flag,) = red_flags(31, 0.114, 0.5, cfg)
    assert flag.name == "input_corr_low"
    assert flag.message == (
        "🚩 RED FLAG: Output→Input corr 0.114 < 0.3 after epoch 30 → increase loss_weight_input "
        "further"
    )
    both = red_flags(31, 0.114, 0.862, cfg)
    assert [f.name for f in both] == ["target_corr_high", "input_corr_low"]
    assert red_flags(100, 0.45, 0.55, cfg) == []  # healthy mixing never flags


def test_red_flag_thresholds_are_configurable_and_printed() -> None:
    cfg = TrainConfig(red_flag_target_epoch=0, red_flag_input_epoch=1, red_flag_input_corr=0.5)
    flags = red_flags(2, 0.4, 0.85, cfg)
    assert [f.name for f in flags] == ["target_corr_high", "input_corr_low"]
    text = format_epoch(2, 5, SEED_METRICS, 5.0, flags, notes=["🔧 auto_balance: x"])
    lines = text.splitlines()
    assert lines[-3] == "  " + flags[0].message
    assert lines[-2] == "  " + flags[1].message
    assert lines[-1] == "  🔧 auto_balance: x"


def test_validation_lines_when_present() -> None:
    m = {
        **SEED_METRICS,
        "valid/pairs": 4,
        "valid/output_input_corr": 0.45,
        "valid/output_target_corr": 0.55,
        "valid/verdict": "mixing",
        "valid/meets_seed_criteria": True,
        "valid/energy_share@0.25": 0.3,
        "valid/energy_share@0.5": 0.5,
        "valid/energy_share@0.75": 0.7,
        "valid/share_error": 0.0333,
        "valid/in+12dB/output_input_corr": 0.9,
        "valid/in+12dB/output_target_corr": 0.3,
        "valid/in+12dB/verdict": "copying_input",
        "valid/in+12dB/energy_share": 0.9,
        "valid/onset_corr_input": 0.7,
        "baseline/onset_corr_input": 0.6,
        "valid/chroma_cos_target": None,
    }
    text = format_epoch(1, 2, m, 5.0)
    assert "  🧪 Validation (4 fixed pairs, balance 0.5, equal level):" in text
    assert (
        "Output→Input corr: 0.450, Output→Target corr: 0.550 → mixing (seed criteria met: yes)"
        in text
    )
    assert "0.25→0.300, 0.5→0.500, 0.75→0.700 (mean |share−knob| 0.033)" in text
    assert "Input +12dB: Output→Input 0.900, Output→Target 0.300 → copying_input" in text
    assert "onset_corr_input 0.700 (0.5/0.5 sum 0.600)" in text
    assert "chroma_cos_target n/a" in text


def test_format_weight_as_the_seed() -> None:
    assert [format_weight(w) for w in (5.0, 10.0, 0.5, 0.05, 0.0)] == [
        "5.0",
        "10.0",
        "0.5",
        "0.05",
        "0.0",
    ]


def test_metrics_log_round_trip_and_resume_truncation(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path / "run" / "metrics.jsonl")
    assert log.read() == []
    for e in (1, 2, 3):
        log.append({"epoch": e, "x": e / 10, "nan": float("nan"), "v": "mixing"})
    recs = log.read()
    assert [r["epoch"] for r in recs] == [1, 2, 3]
    assert recs[0]["nan"] is None  # strict JSON: NaN written as null
    for line in log.path.read_text().splitlines():
        json.loads(line)
    log.keep_until(2)
    assert [r["epoch"] for r in log.read()] == [1, 2]
    log.keep_until(0)
    assert log.read() == []
    assert list(log.path.parent.iterdir()) == [log.path]  # no temp file left behind


def test_metrics_log_names_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\n{broken\n')
    with pytest.raises(ValueError, match=r"metrics\.jsonl:2"):
        MetricsLog(path).read()


def test_jsonable() -> None:
    assert jsonable({"a": (1.0, math.inf), "b": {"c": float("nan")}}) == {
        "a": [1.0, None],
        "b": {"c": None},
    }


def test_logbook_writes_only_when_enabled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Logbook(tmp_path / "r0", enabled=True).write("Epoch 1/1:")
    Logbook(tmp_path / "r1", enabled=False).write("Epoch 1/1:")
    assert capsys.readouterr().out == "Epoch 1/1:\n"
    assert (tmp_path / "r0" / "train.log").read_text() == "Epoch 1/1:\n"
    assert not (tmp_path / "r1").exists()
