"""``curves.png``: the seed's two correlations and the two mask means per epoch.

Drawn with matplotlib's Agg canvas directly (no pyplot, no global backend switch) and
written atomically, from the records of ``metrics.jsonl``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from plugin_host.atomic import atomic_write

# (metrics key, legend label, line style)
CORR_LINES = (
    ("train/output_input_corr", "Output→Input (train)", "-"),
    ("train/output_target_corr", "Output→Target (train)", "-"),
    ("valid/output_input_corr", "Output→Input (valid)", "--"),
    ("valid/output_target_corr", "Output→Target (valid)", "--"),
)
MASK_LINES = (
    ("train/input_mask_mean", "Input mask", "-"),
    ("train/target_mask_mean", "Target mask", "-"),
    ("train/energy_share", "Energy share of input", ":"),
)


def _series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in records:
        v = r.get(key)
        if v is not None:
            xs.append(int(r["epoch"]))
            ys.append(float(v))
    return xs, ys


def plot_curves(records: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Draw both panels for ``records`` (one dict per epoch, key ``epoch``) to ``path``."""
    path = Path(path)
    fig = Figure(figsize=(9, 6.5), dpi=100)
    FigureCanvasAgg(fig)
    ax_c, ax_m = fig.subplots(2, 1, sharex=True)
    for key, label, style in CORR_LINES:
        xs, ys = _series(records, key)
        if xs:
            ax_c.plot(xs, ys, style, marker="o", markersize=3, label=label)
    ax_c.axhline(0.4, color="grey", lw=0.8, ls=":", label="seed success: input corr > 0.4")
    ax_c.set_ylabel("correlation")
    ax_c.set_title("Output correlation with the sources")
    ax_c.grid(alpha=0.3)
    ax_c.legend(fontsize=8, loc="best")
    for key, label, style in MASK_LINES:
        xs, ys = _series(records, key)
        if xs:
            ax_m.plot(xs, ys, style, marker="o", markersize=3, label=label)
    ax_m.set_ylabel("mean / share")
    ax_m.set_xlabel("epoch")
    ax_m.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_m.set_title("Mask means (what the seed's balance loss controls) and energy share")
    ax_m.set_ylim(0.0, 1.0)
    ax_m.grid(alpha=0.3)
    ax_m.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return save_png(fig, path)


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically (``plugin_host.atomic``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        fig.savefig(f, format="png")
    return path
