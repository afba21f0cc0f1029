"""Markdown of the real-instrument experiment and of the model card: the ablation table, the
issue's targets checked on one evaluation, and the per-knob evaluate tables.

Input is the JSON of :mod:`bench.real_instruments` / ``creative-agent evaluate``
(schema ``creative-agent/evaluate/1``); nothing here measures anything.
"""

from __future__ import annotations

from typing import Any

from bench import recipes

KNOBS = (0.25, 0.5, 0.75)
SUMS = {"plain_sum": "plain 0.5/0.5 sum", "loudness_matched_sum": "loudness-matched sum"}
TARGET_FRACTION = 0.9  # the issue: ">= 90 % of pairs"
ONSET_TARGET = 0.95


def condition(ev: dict[str, Any], gain: float, knob: float) -> dict[str, Any] | None:
    """The evaluate condition at (input gain dB, knob), or None if it was not run."""
    for c in ev["conditions"]:
        if c["input_gain_db"] == gain and c["balance"] == knob:
            return c
    return None


def _f(value: Any, fmt: str = ".2f") -> str:
    return "–" if value is None else format(value, fmt)


def both_honest(c: dict[str, Any], mixer: str = "agent") -> int:
    """Pairs whose least-squares AND masked shares are both within 0.1 of the knob."""
    return sum(
        bool(r[mixer]["share_honest"] and r[mixer]["masked_share_honest"]) for r in c["rows"]
    )


def _seed(ev: dict[str, Any], mixer: str, gain: float) -> str:
    c = condition(ev, gain, 0.5)
    if c is None:
        return "–"
    return f"{c['means'][mixer]['meets_seed_criteria']}/{c['means'][mixer]['pairs']}"


def ablation_row(label: str, ev: dict[str, Any], mixer: str) -> str:
    """One table row: seed criteria at 0 / +12 / −12 dB, shares per knob, honesty, measures."""
    cells = [label] + [_seed(ev, mixer, g) for g in (0.0, 12.0, -12.0)]
    shares, honest = [], []
    for knob in KNOBS:
        c = condition(ev, 0.0, knob)
        m = None if c is None else c["means"][mixer]
        shares.append(_f(None if m is None else m["share_input"]))
        masked = None if m is None else m["masked_share_input"]
        shares[-1] += f" / {_f(masked)}" if masked is not None else ""
        if mixer == "agent" and c is not None:
            honest.append(f"{both_honest(c)}/{len(c['rows'])}")
    mid = condition(ev, 0.0, 0.5)
    mm = None if mid is None else mid["means"][mixer]
    cells += shares
    cells.append(" · ".join(honest) if honest else "–")
    cells += [_f(None if mm is None else mm["onset_corr_input"], ".3f"),
              _f(None if mm is None else mm["chroma_cos_target"], ".3f")]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| model | seed criteria @0.5 (0 dB) | +12 dB | −12 dB | share @0.25 (LS / masked) "
    "| @0.5 | @0.75 | both shares within 0.1 (0.25 · 0.5 · 0.75) | onset corr in @0.5 "
    "| chroma cos tg @0.5 |\n|" + "---|" * 10
)


def ablation_table(result: dict[str, Any], set_name: str) -> str:
    lines = [HEADER]
    for name, r in result["recipes"].items():
        lines.append(ablation_row(f"`{name}`: {r['what']}", r["evaluate"][set_name], "agent"))
    for key, label in SUMS.items():
        lines.append(ablation_row(label, result["baselines"][set_name], key))
    return "\n".join(lines)


def targets(ev: dict[str, Any]) -> list[str]:
    """The issue's targets, each ``met`` or ``missed`` with the measured value."""
    out = []
    for gain in (0.0, 12.0, -12.0):
        c = condition(ev, gain, 0.5)
        if c is not None:
            n, total = c["means"]["agent"]["meets_seed_criteria"], len(c["rows"])
            ok = n >= TARGET_FRACTION * total
            out.append(f"seed criteria at knob 0.5, input {gain:+.0f} dB: {n}/{total} "
                       f"(≥ 90 %): {'met' if ok else 'missed'}")  # fmt: skip
    for knob in KNOBS:
        c = condition(ev, 0.0, knob)
        if c is not None:
            n, total = both_honest(c), len(c["rows"])
            ok = n >= TARGET_FRACTION * total
            out.append(f"knob {knob}: both shares within 0.1 on {n}/{total} pairs (≥ 90 %): "
                       f"{'met' if ok else 'missed'}")  # fmt: skip
    mid = condition(ev, 0.0, 0.5)
    if mid is not None:
        onset = mid["means"]["agent"]["onset_corr_input"]
        chroma = mid["means"]["agent"]["chroma_cos_target"]
        ref = mid["means"]["loudness_matched_sum"]["chroma_cos_target"]
        out.append(f"onset corr with the input {_f(onset, '.3f')} (≥ {ONSET_TARGET}): "
                   f"{'met' if onset is not None and onset >= ONSET_TARGET else 'missed'}")  # fmt: skip
        ok = chroma is not None and ref is not None and chroma >= ref
        out.append(f"chroma cos with the target at 0.5 {_f(chroma, '.3f')} vs loudness-matched "
                   f"sum {_f(ref, '.3f')}: {'met' if ok else 'missed'}")  # fmt: skip
    return out


def ablation_markdown(result: dict[str, Any]) -> str:
    budget = " ".join(result["budget"])
    parts = [
        "# Experiment: real instruments (sampled SoundFont recordings)",
        "",
        "Produced by `make experiment-real` (`creative-agent experiment-real`); numbers are "
        "means over the pairs, from each render's own report (`creative-agent evaluate`).",
        "",
        f"- training budget of every recipe: `creative-agent train {budget}` plus the "
        "recipe's flags; the checkpoint judged is the last one (`last.pt`), never one picked "
        "on a set reported here;",
        "- pair sets: held-out sampled instruments (SoundFonts, kits and programs that "
        "training never heard; docs/data.md), `dev` (seed 101, where the bundled recipe is "
        "picked) and `test` (seed 202, where it is reported), and the built-in synthetic "
        "validation (seed 303), 10 pairs of 8 s each;",
        f"- machine: {result['machine']}; wall time {result['minutes']} min; code at commit "
        f"{result.get('commit', 'unknown')}.",
        "",
        "Shares are the least-squares share of the input (`share_input`) / the masked energy "
        "share (`masks.masked_share_input`). The sums have no masks.",
    ]
    for set_name, title in (("test", "Held-out sampled instruments, `test` pairs (reported)"),
                            ("dev", "Held-out sampled instruments, `dev` pairs (recipe picked here)"),
                            ("synthetic", "Synthetic validation pairs")):  # fmt: skip
        parts += ["", f"## {title}", "", ablation_table(result, set_name)]
    bundled = result["recipes"].get(recipes.BUNDLED)
    if bundled is not None:
        parts += [
            "",
            f"## The issue's targets for the bundled recipe `{recipes.BUNDLED}` (test)",
            "",
        ]
        parts += [f"- {t}" for t in targets(bundled["evaluate"]["test"])]
    return "\n".join(parts) + "\n"
