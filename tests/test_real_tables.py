"""bench/real_tables.py: the experiment's ablation table and the issue's target checks, on a
real ``evaluate`` result (tiny model, pairs made in code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import recipes
from bench.real_tables import ablation_markdown, both_honest, condition, targets
from plugin_host.evaluate import EvaluateConfig, evaluate
from tests.test_evaluate import make_pairs


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, tiny_onnx: Path) -> dict[str, Any]:
    pairs = make_pairs(tmp_path_factory.mktemp("pairs"))
    return evaluate(pairs, tiny_onnx, EvaluateConfig(input_gains_db=(0.0, 12.0, -12.0)))


def test_targets_follow_the_measured_rows(result: dict[str, Any]) -> None:
    lines = targets(result)
    assert len(lines) == 3 + 3 + 2  # seed criteria x 3 levels, honesty x 3 knobs, onset, chroma
    mid = condition(result, 0.0, 0.5)
    assert mid is not None
    n = sum(bool(r["agent"]["meets_seed_criteria"]) for r in mid["rows"])
    seed_line = lines[0]
    assert seed_line.startswith(f"seed criteria at knob 0.5, input +0 dB: {n}/{len(mid['rows'])}")
    assert seed_line.endswith("met" if n >= 0.9 * len(mid["rows"]) else "missed")
    honest = both_honest(mid)
    assert honest == sum(
        bool(r["agent"]["share_honest"] and r["agent"]["masked_share_honest"]) for r in mid["rows"]
    )
    assert f"both shares within 0.1 on {honest}/" in lines[4]


def test_ablation_markdown_has_a_row_per_recipe_and_sum(result: dict[str, Any]) -> None:
    per_set = {"dev": result, "test": result, "synthetic": result}
    doc = ablation_markdown(
        {
            "recipes": {
                r.name: {"what": r.what, "flags": list(r.flags), "evaluate": per_set}
                for r in recipes.RECIPES
            },
            "baselines": per_set,
            "budget": list(recipes.BUDGET),
            "machine": "test machine",
            "minutes": 0.0,
            "commit": "abc1234",
        }
    )
    for r in recipes.RECIPES:
        assert doc.count(f"| `{r.name}`:") == 3  # one row in each of the three sets
    assert doc.count("| plain 0.5/0.5 sum |") == 3 and doc.count("| loudness-matched sum |") == 3
    assert "commit abc1234" in doc and f"`{recipes.BUNDLED}` (test)" in doc
