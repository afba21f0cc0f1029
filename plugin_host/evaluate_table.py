"""Text tables of a ``creative-agent evaluate`` result (``plugin_host.evaluate.evaluate``):
one table per (input gain, knob), a row per pair, the mean row and the baselines' mean rows."""

from __future__ import annotations

from typing import Any

# (header, field, kind): kind "num" a float, "flag" a per-row bool / mean-row count,
# "text" a string shown on pair rows only
COLUMNS = (
    ("r in", "output_input_corr", "num"),
    ("r tg", "output_target_corr", "num"),
    ("verdict", "verdict", "text"),
    ("seed", "meets_seed_criteria", "flag"),
    ("share", "share_input", "num"),
    ("±0.1", "share_honest", "flag"),
    ("masked", "masked_share_input", "num"),
    ("±0.1", "masked_share_honest", "flag"),
    ("tg mask", "target_mask_mean", "num"),
    ("onset in", "onset_corr_input", "num"),
    ("chroma tg", "chroma_cos_target", "num"),
)
BASELINE_LABELS = {
    "plain_sum": "plain sum (mean)",
    "loudness_matched_sum": "loudness-matched (mean)",
}
DASH = "–"


def _pair_cell(kind: str, value: Any) -> str:
    if value is None:
        return DASH if kind == "flag" else "n/a"
    if kind == "num":
        return f"{value:.2f}"
    if kind == "flag":
        return "yes" if value else "no"
    return str(value)


def _mean_cell(kind: str, value: Any, pairs: int) -> str:
    if kind == "text":
        return ""
    if value is None:
        return DASH
    return f"{value}/{pairs}" if kind == "flag" else f"{value:.2f}"


def _grid(header: list[str], body: list[list[str]], left: set[int]) -> list[str]:
    """Columns padded to their widest cell: those in ``left`` left-aligned, others right."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = []
    for r in [header, *body]:
        cells = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_condition(condition: dict[str, Any]) -> str:
    """One table: a title line, the pair rows, the agent's mean row, the baselines' means."""
    rows, means = condition["rows"], condition["means"]
    n = means["agent"]["pairs"]
    title = (
        f"knob {condition['balance']:.2f} | input {condition['input_gain_db']:+g} dB | "
        f"{n} pair{'s' if n != 1 else ''}"
    )
    header = ["pair", *(h for h, _, _ in COLUMNS)]
    body = [[r["pair"], *(_pair_cell(k, r["agent"][f]) for _, f, k in COLUMNS)] for r in rows]
    body.append(["mean", *(_mean_cell(k, means["agent"].get(f), n) for _, f, k in COLUMNS)])
    for name, label in BASELINE_LABELS.items():
        body.append([label, *(_mean_cell(k, means[name].get(f), n) for _, f, k in COLUMNS)])
    left = {0} | {i + 1 for i, (_, _, k) in enumerate(COLUMNS) if k == "text"}
    return "\n".join([title, *_grid(header, body, left)])


def format_tables(result: dict[str, Any]) -> str:
    """Every condition's table, then a legend naming the model and the columns."""
    parts = [format_condition(c) for c in result["conditions"]]
    legend = (
        f"model {result['model']} ({result['provider']}), pairs {result['pairs_dir']}, "
        f"{result['seconds']:.1f} s\n"
        "r in / r tg: the seed's correlations (all channels flattened); seed: meets the "
        "seed's criteria (r in > 0.4, neither more than 2x the other);\n"
        "share: least-squares share of the input; masked: input's share of the masked "
        f"energy; ±0.1: |share - knob| <= {result['honest_within']};\n"
        "tg mask: target mask mean; onset in: onset-envelope corr with the input; "
        "chroma tg: chroma cosine with the target;\n"
        f"plain sum: {result['plain_sum_balance']:g}/{1 - result['plain_sum_balance']:g} "
        "sum; loudness-matched: both sources at equal energy, summed (n/a, –: undefined)."
    )
    return "\n\n".join([*parts, legend])
