"""The experiment's claims, each computed from its numbers (``checks``)."""

from __future__ import annotations

from typing import Any

from training.experiment_config import BASELINE_FAIL, SHARE_TOLERANCE
from training.experiment_eval import conditions, models_of
from training.experiment_report import fmt_num, fmt_pct
from training.validation import KNOBS


def checks(results: dict[str, Any], gain_db: float) -> list[dict[str, Any]]:
    """The experiment's claims, each computed from the numbers: name, passed, detail.
    Every claim is checked on both checkpoints of a run (``last`` and ``best``)."""
    out: list[dict[str, Any]] = []
    runs = results["runs"]
    conds = [c for c, _ in conditions(gain_db)]
    plain = results["plain_sum"]["equal"]
    for which, model in models_of(runs.get("seed_baseline", {})):
        e = model["eval"]["equal"]
        mi, mt = e["input_mask_mean"], e["target_mask_mean"]
        tol = BASELINE_FAIL["mask_tolerance"]
        ok = (
            abs(mi - 0.5) <= tol
            and abs(mt - 0.5) <= tol
            and e["output_target_corr"] > BASELINE_FAIL["target_corr_above"]
            and e["output_input_corr"] < BASELINE_FAIL["input_corr_below"]
        )
        out.append(
            dict(
                name=f"seed_baseline ({which}) reproduces the seed's failure "
                "(masks 0.50±0.05, out→tg > 0.8, out→in < 0.3)",
                passed=ok,
                detail=f"masks {mi:.3f}/{mt:.3f}, out→in {e['output_input_corr']:.3f}, "
                f"out→tg {e['output_target_corr']:.3f}, verdict {e['verdict']}",
            )
        )
    for name in ("default", "seed_fixed"):
        for which, model in models_of(runs.get(name, {})):
            ev, tag = model["eval"], f"{name} ({which})"
            for cond in conds:
                e = ev[cond]
                ok = bool(e["meets_seed_criteria"]) and e["verdict"] != "noise"
                out.append(
                    dict(
                        name=f"{tag} meets the seed's criteria ({cond})",
                        passed=ok,
                        detail=f"out→in {fmt_num(e['output_input_corr'])}, out→tg "
                        f"{fmt_num(e['output_target_corr'])}, verdict {e['verdict']}, pairs mixing "
                        f"{fmt_pct(e['mixing_fraction'])}, noise {fmt_pct(e['noise_fraction'])}",
                    )
                )
            for cond in conds:
                shares = [ev[cond][f"energy_share@{k:g}"] for k in KNOBS]
                errs = [abs(sh - k) for sh, k in zip(shares, KNOBS, strict=True)]
                out.append(
                    dict(
                        name=f"{tag}: balance knob honest within {SHARE_TOLERANCE} ({cond})",
                        passed=max(errs) <= SHARE_TOLERANCE,
                        detail="energy share "
                        + ", ".join(f"{k:g}→{sh:.3f}" for k, sh in zip(KNOBS, shares, strict=True)),
                    )
                )
            e = ev["equal"]
            out.append(
                dict(
                    name=f"{tag} keeps more of the input's rhythm than the plain sum",
                    passed=e["onset_corr_input"] > plain["onset_corr_input"],
                    detail=f"onset corr with input {fmt_num(e['onset_corr_input'])} vs sum "
                    f"{fmt_num(plain['onset_corr_input'])}",
                )
            )
            out.append(
                dict(
                    name=f"{tag} keeps more of the target's harmony than the plain sum",
                    passed=e["chroma_cos_target"] > plain["chroma_cos_target"],
                    detail=f"chroma cos with target {fmt_num(e['chroma_cos_target'])} vs sum "
                    f"{fmt_num(plain['chroma_cos_target'])}",
                )
            )
    return out
