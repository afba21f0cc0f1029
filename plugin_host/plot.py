"""``--plot``: a PNG with the input, target and output spectrograms and both masks over time,
and under them the report's timeline (per bar or per second: chroma cosine with the target,
onset correlation with the input and the masked share, on a background coloured by verdict).

:class:`PlotData` collects what the figure needs while a render streams, pooled to at most
``columns`` time columns and ``rows`` log-spaced frequency rows (flat memory for any clip
length). Matplotlib is imported only inside :func:`draw_plot` (a bare ``Figure``, which renders
with Agg; pyplot is never touched). The caller owns the file: the renderer passes an
:class:`plugin_host.atomic.AtomicFile` so the PNG appears together with the audio and report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from plugin_host.pipeline import FrameBlock


class PlotData:
    """Pooled spectrograms (dB) of output/input/target and band masks over ``n_frames``.

    sample_rate, n_fft: the model's; band_edges: K+1 bin edges of the mask bands.
    """

    def __init__(
        self,
        n_frames: int,
        sample_rate: int,
        n_fft: int,
        hop: int,
        band_edges: np.ndarray,
        columns: int = 1200,
        rows: int = 160,
    ) -> None:
        self.n_frames, self.sample_rate, self.hop = n_frames, sample_rate, hop
        self.group = max(1, -(-n_frames // columns))  # frames per column
        self.columns = -(-n_frames // self.group)
        n_freq = n_fft // 2 + 1
        edges = np.unique(np.geomspace(1, n_freq, rows + 1).astype(np.int64))
        self.row_edges = np.concatenate([[0], edges[:-1]])  # start bin of each row
        self.row_hz = self.row_edges * sample_rate / n_fft
        self.band_hz = np.asarray(band_edges) * sample_rate / n_fft
        k = len(band_edges) - 1
        self.spec = np.zeros((3, self.row_edges.size, self.columns), np.float64)
        self.masks = np.zeros((2, k, self.columns), np.float64)
        self.count = np.zeros(self.columns, np.float64)

    def add(self, block: FrameBlock) -> None:
        col = np.arange(block.start, block.stop) // self.group  # [n]
        np.add.at(self.count, col, 1.0)
        for i, p in enumerate((block.power_in, block.power_tg, block.power_out)):
            rows = np.add.reduceat(p, self.row_edges, axis=1)  # [n, F] -> [n, R]
            np.add.at(self.spec[i].T, col, rows)
        for i, m in enumerate((block.input_mask, block.target_mask)):
            np.add.at(self.masks[i].T, col, m)

    def images(self) -> tuple[np.ndarray, np.ndarray]:
        """(spectrograms in dB [3, R, cols] in order input, target, output; masks [2, K, cols])."""
        n = np.maximum(self.count, 1.0)
        spec = 10.0 * np.log10(self.spec / n + 1e-10)
        return spec, self.masks / n


# verdict -> background colour of a timeline segment (None: undefined)
VERDICT_COLOURS = {
    "mixing": "#b7e4c7",
    "copying_target": "#ffd6a5",
    "copying_input": "#a0c4ff",
    "noise": "#d9d9d9",
    None: "#ffffff",
}
_TIMELINE_LINES = (
    ("chroma_cos_target", "chroma tg", "tab:purple"),
    ("onset_corr_input", "onset in", "tab:red"),
    ("masked_share_input", "masked share in", "tab:blue"),
)


def draw_timeline(ax: Any, timeline: Mapping[str, Any]) -> None:
    """The report's ``timeline`` on a matplotlib axis: one step per segment of each measure
    of ``_TIMELINE_LINES`` (gaps where undefined), the background coloured by verdict
    (``VERDICT_COLOURS``), and bar numbers on a top axis when the unit is bars."""
    segs = timeline["segments"]
    if not segs:
        return
    starts = np.array([s["start_s"] for s in segs])
    edges = np.append(starts, segs[-1]["end_s"])
    for s in segs:
        ax.axvspan(s["start_s"], s["end_s"], color=VERDICT_COLOURS.get(s["verdict"], "#ffffff"),
                   lw=0)  # fmt: skip
    for key, label, colour in _TIMELINE_LINES:
        v = np.array([np.nan if s[key] is None else s[key] for s in segs], np.float64)
        ax.stairs(v, edges, color=colour, lw=1.5, label=label, baseline=None)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel(f"per {timeline['unit']}")
    from matplotlib.patches import Patch

    verdicts = dict.fromkeys(s["verdict"] for s in segs)  # those present, in time order
    spans = [
        Patch(color=VERDICT_COLOURS.get(v, "#ffffff"), label=v or "undefined") for v in verdicts
    ]
    lines, _ = ax.get_legend_handles_labels()
    ax.legend(handles=lines + spans, loc="lower left", fontsize=7, ncols=6, framealpha=0.8)
    if timeline["unit"] == "bar":
        step = max(1, -(-len(segs) // 32))  # at most ~32 labels
        top = ax.secondary_xaxis("top")
        top.set_xticks(starts[::step], labels=[str(s["index"]) for s in segs[::step]])
        top.set_xlabel("bar", fontsize=8)
        top.tick_params(labelsize=7)
    else:
        for x in edges[1:-1]:
            ax.axvline(x, color="white", lw=0.5)


def draw_plot(
    out: IO[bytes], data: PlotData, title: str, timeline: Mapping[str, Any] | None = None
) -> None:
    """Write the figure as PNG into the binary file ``out``; ``timeline`` (the report's)
    adds a strip under the masks."""
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in threads

    spec, masks = data.images()
    seconds = data.n_frames * data.hop / data.sample_rate
    rows = 5 if timeline is None else 6
    heights = [1.0] * 5 + ([0.8] if timeline is not None else [])
    fig = Figure(figsize=(11, 12 + 2 * (rows - 5)), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, height_ratios=heights)
    top = float(spec.max())
    for ax, img, name in zip(axes[:3], spec, ("input", "target", "output"), strict=True):
        mesh = ax.pcolormesh(
            np.linspace(0, seconds, img.shape[1] + 1),
            np.concatenate([data.row_hz, [data.sample_rate / 2]]),
            img,
            vmin=top - 90.0,
            vmax=top,
            cmap="magma",
            shading="flat",
        )
        ax.set_yscale("symlog", linthresh=100.0)
        ax.set_ylabel(f"{name}\nHz")
        fig.colorbar(mesh, ax=ax, label="dB")
    for ax, img, name in zip(axes[3:5], masks, ("input mask", "target mask"), strict=True):
        mesh = ax.pcolormesh(
            np.linspace(0, seconds, img.shape[1] + 1),
            data.band_hz,
            img,
            vmin=0.0,
            vmax=1.0,
            cmap="viridis",
            shading="flat",
        )
        ax.set_yscale("symlog", linthresh=100.0)
        ax.set_ylabel(f"{name}\nHz")
        fig.colorbar(mesh, ax=ax, label="mask")
    if timeline is not None:
        draw_timeline(axes[5], timeline)
        fig.colorbar(mesh, ax=axes[5]).remove()  # the same width as the panels above
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(title, fontsize=10)
    fig.savefig(out, format="png", dpi=90)
