"""The report over time (plugin_host/timeline.py): a real render's per-bar (or per-second)
timeline equals the whole-clip measures computed on each bar alone, the summary line names
the weak bars, and the plot draws the timeline. Clips are made in code (a 120 BPM click
track and a chord), rendered with the bundled model through real files."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pedalboard.io import AudioFile

from plugin_host import render
from plugin_host.bundled import DEFAULT_ONNX
from plugin_host.measures import ClipAccumulator, measure_clip
from plugin_host.musical.grid import BarGrid
from plugin_host.pipeline import StreamingAgent, process
from plugin_host.report_text import summary_line
from plugin_host.runtime import LoadedModel, load_model
from plugin_host.share_calibration import ShareCalibrationConfig
from plugin_host.timeline import (
    HARMONY_WEAK_BELOW,
    RHYTHM_WEAK_BELOW,
    Segments,
    TimelineAccumulator,
    weak_ranges,
    weak_text,
)
from tests.helpers import chord, click_track

SR = 44100  # the bundled model's rate: the files need no resampling, so the render's agent
# sees exactly the arrays that `process` gets below
GRID = BarGrid(120.0, 0.5)  # 2 s bars after a 0.5 s pickup (bar 0)
SECONDS = 8.5  # bar 0, bars 1-4

# Two references per segment:
# 1. "framed": a ClipAccumulator fed the segment's samples of `process`'s output and inputs and
#    the whole clip's frames centred in it (what the timeline should route to it). Only float32
#    rounding differs (the streamed output equals `process` to ~2e-7, tests/test_host_render.py;
#    block sums vs one sum): EXACT_TOL on every measure.
# 2. "alone": measure_clip on the segment's samples only, the acceptance's "whole-clip numbers
#    computed on each bar alone". Waveform correlations use the same samples: EXACT_TOL. The
#    spectral measures differ at the edges: a frame centred within n_fft / 2 (23 ms) of a
#    boundary sees the neighbouring bar in the render and zeros alone. Chroma is a mean over
#    the segment's 43-172 frames, of which ~4 straddle: measured <= 0.027 here, ALONE_CHROMA_TOL.
#    Onsets are hit hardest: a click on the next downbeat enters the last frames' windows
#    before the boundary, so the render's bar holds one onset more than the bar alone (here
#    4 clicks per 2 s bar, every one on a beat); measured <= 0.245 (0.95 for the 0.5 s pickup,
#    whose one onset is that next downbeat: skipped below), ALONE_ONSET_TOL.
EXACT_TOL = 1e-4
ALONE_CHROMA_TOL = 0.04
ALONE_ONSET_TOL = 0.3
MEASURES = ("output_input_corr", "output_target_corr", "masked_share_input", "onset_corr_input",
            "chroma_cos_target")  # fmt: skip


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    return load_model(DEFAULT_ONNX, provider="cpu")


def write(path: Path, x: np.ndarray) -> Path:
    with AudioFile(str(path), "w", SR, x.shape[0], bit_depth=32) as f:
        f.write(x)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A click track and a chord whose bars 2-3 (2.5-6.5 s) are silent, as arrays and files."""
    folder = tmp_path_factory.mktemp("timeline")
    x_in, x_tg = click_track(SECONDS, SR), chord(SECONDS, SR)
    lo, hi = (int(GRID.bar_start_s(b) * SR) for b in (2, 4))
    x_tg[:, lo:hi] = 0.0
    return {"in": x_in, "tg": x_tg, "in_path": write(folder / "in.wav", x_in),
            "tg_path": write(folder / "tg.wav", x_tg), "folder": folder}  # fmt: skip


def references(model: LoadedModel, x_in: np.ndarray, x_tg: np.ndarray, grid: BarGrid | None):
    """Per segment: ("framed" measures, "alone" measures), see the tolerances above."""
    res = process(model, x_in, x_tg, 0.5, ShareCalibrationConfig())  # render's default
    dsp = model.dsp
    segs = Segments.of(x_in.shape[1], SR, grid)
    spec = np.swapaxes(np.stack([res.spec_out, res.spec_in, res.spec_tg]), -1, -2)  # [3,C,N,F]
    power = dsp.channel_power(spec)  # [3, N, F]
    band = dsp.band_mean(power, x_in.shape[0])  # [3, N, K]
    masks = (res.input_mask.T, res.target_mask.T)  # [N, K]
    centres = np.arange(power.shape[1]) * dsp.hop
    out = []
    for a, b in itertools.pairwise(segs.bounds.tolist()):
        f = (centres >= a) & ((centres < b) | (b == segs.bounds[-1]))
        acc = ClipAccumulator(SR, dsp.n_fft, np.diff(dsp.edges))
        acc.update_samples(res.audio[:, a:b], x_in[:, a:b], x_tg[:, a:b])
        acc.update_frames(*power[:, f], *band[:, f])
        acc.update_masks(masks[0][f], masks[1][f], band[1, f], band[2, f])
        framed: dict[str, Any] = dict(acc.compute())
        framed["masked_share_input"] = framed["masks"]["masked_share_input"]
        alone = measure_clip(res.audio[:, a:b], x_in[:, a:b], x_tg[:, a:b], dsp, SR)
        out.append((framed, alone))
    return out


@pytest.mark.parametrize("grid", [GRID, None], ids=["bars", "seconds"])
def test_timeline_matches_each_segment_measured_alone(model, clips, grid, tmp_path: Path):
    # chunks of 37 frames: chunk edges fall inside segments and on neither side of a boundary
    rep = render(clips["in_path"], clips["tg_path"], model, tmp_path / "out.wav", bar_grid=grid,
                 chunk_frames=37)  # fmt: skip
    tl = rep["timeline"]
    segs = tl["segments"]
    if grid is None:
        assert (tl["unit"], tl["bpm"]) == ("second", None)
        assert [s["index"] for s in segs] == list(range(9))
        assert segs[-1]["start_s"] == 8.0 and segs[-1]["end_s"] == SECONDS
    else:
        assert (tl["unit"], tl["bpm"]) == ("bar", 120.0)
        assert [(s["index"], s["start_s"], s["end_s"]) for s in segs] == [
            (0, 0.0, 0.5), (1, 0.5, 2.5), (2, 2.5, 4.5), (3, 4.5, 6.5), (4, 6.5, 8.5)]  # fmt: skip
    # the target is silent exactly in the segments inside 2.5-6.5 s: no chroma there
    silent = [s["index"] for s in segs if "target" in s["silent"]]
    assert silent == ([2, 3] if grid else [3, 4, 5])
    diffs = {"framed": dict.fromkeys(MEASURES, 0.0), "alone": dict.fromkeys(MEASURES, 0.0)}
    for seg, (framed, alone) in zip(segs, references(model, clips["in"], clips["tg"], grid),
                                    strict=True):  # fmt: skip
        where = (tl["unit"], seg["index"])
        assert seg["verdict"] == framed["verdict"] == alone["verdict"], where
        for key in MEASURES:
            if seg[key] is None:  # undefined as framed, or its source is silent in the segment
                assert key in seg["undefined"], (where, key)
                by_silence = key in ("output_target_corr", "chroma_cos_target")
                assert framed[key] is None or ("target" in seg["silent"] and by_silence)
                continue
            assert seg[key] == pytest.approx(framed[key], abs=EXACT_TOL), (where, key)
            diffs["framed"][key] = max(diffs["framed"][key], abs(seg[key] - framed[key]))
            if key == "masked_share_input" or (key == "onset_corr_input" and seg["index"] == 0
                                                and grid is not None):  # fmt: skip
                continue  # no masks alone; the pickup's only onset is the next downbeat
            tol = {"onset_corr_input": ALONE_ONSET_TOL, "chroma_cos_target": ALONE_CHROMA_TOL}
            assert seg[key] == pytest.approx(alone[key], abs=tol.get(key, EXACT_TOL)), (where, key)
            diffs["alone"][key] = max(diffs["alone"][key], abs(seg[key] - alone[key]))
    print(f"largest differences per {tl['unit']}:", diffs)


def test_summary_names_the_bars_where_the_target_is_silent(model, clips, tmp_path: Path):
    rep = render(clips["in_path"], clips["tg_path"], model, tmp_path / "out.wav", bar_grid=GRID)
    line = summary_line(rep)
    assert line.endswith(" | harmony lost in bars 2–3 (target silent)"), line
    per_second = render(clips["in_path"], clips["tg_path"], model, tmp_path / "s.wav")
    # seconds 2 and 6 are half silent: their target is audible, so only 3-5 are named
    assert summary_line(per_second).endswith(" | harmony lost at 3–6 s (target silent)")


def bar(index: int, chroma: float | None = 0.7, onset: float | None = 0.9, **kw: Any) -> dict:
    return {"index": index, "start_s": 2.0 * index - 2.0, "end_s": 2.0 * index,
            "chroma_cos_target": chroma, "onset_corr_input": onset, "silent": [], **kw}  # fmt: skip


def test_weak_bars_are_merged_into_ranges_with_their_lowest_value():
    segs = [bar(i) for i in range(1, 13)]
    for i, c in zip((5, 6, 7, 8), (0.45, 0.41, 0.43, 0.49), strict=True):
        segs[i - 1] = bar(i, chroma=c)
    segs[10 - 1] = bar(10, onset=0.30)
    segs[11 - 1] = bar(11, onset=RHYTHM_WEAK_BELOW)  # at the threshold: not weak
    segs[12 - 1] = bar(12, chroma=HARMONY_WEAK_BELOW)
    text = weak_text({"unit": "bar", "bpm": 120.0, "segments": segs})
    assert (
        text == "harmony lost in bars 5–8 (chroma tg 0.41); rhythm lost in bar 10 (onset in 0.30)"
    )
    rep = {"output": "o.wav", "durations_s": {"output": 24.0}, "render_seconds": 1.0,
           "timeline": {"unit": "bar", "bpm": 120.0, "segments": segs}}  # fmt: skip
    assert summary_line(rep).endswith(" | " + text)
    rep["timeline"] = {"unit": "bar", "bpm": 120.0, "segments": [bar(i) for i in range(1, 5)]}
    assert "lost" not in summary_line(rep) and summary_line(rep).endswith(")")


def test_weak_seconds_many_ranges_and_short_segments():
    segs = [{**bar(i), "start_s": i - 1.0, "end_s": float(i), "index": i - 1} for i in range(1, 11)]
    for i, c in ((1, 0.2), (3, 0.3), (5, 0.1), (7, 0.35)):
        segs[i]["chroma_cos_target"] = c
    segs[-1] = {**segs[-1], "end_s": 9.3, "onset_corr_input": 0.0}  # 0.3 s: too short to name
    text = weak_text({"unit": "second", "bpm": None, "segments": segs})
    # the three lowest of four ranges, in time order
    assert text == "harmony lost at 1–2 s (chroma tg 0.20), 3–4 s (chroma tg 0.30), " \
        "5–6 s (chroma tg 0.10), +1 more"  # fmt: skip
    assert len(weak_ranges({"segments": segs})) == 4
    assert weak_text(None) == "" and weak_text({"unit": "second", "segments": []}) == ""


def test_a_source_silent_everywhere_is_not_a_local_loss():
    segs = [bar(i, chroma=None, silent=["target"]) for i in range(1, 5)]
    assert weak_text({"unit": "bar", "bpm": 120.0, "segments": segs}) == ""
    segs[1] = bar(2)  # the target plays in bar 2 only
    assert weak_text({"unit": "bar", "bpm": 120.0, "segments": segs}) == (
        "harmony lost in bars 1 (target silent), 3–4 (target silent)"
    )


def test_segments_of_a_grid_and_of_seconds():
    # a downbeat within MIN_PICKUP_S: no bar 0, bar 1 from 0, bar 2 on from the grid (2.02 s)
    s = Segments.of(SR * 5, SR, BarGrid(120.0, 0.02))
    assert s.index == (1, 2, 3) and s.bounds.tolist() == [0, 89082, 177282, SR * 5]
    s = Segments.of(SR * 5, SR, BarGrid(120.0, 0.5))  # a pickup: bar 0
    assert s.index == (0, 1, 2, 3) and s.bounds.tolist() == [0, 22050, 110250, 198450, SR * 5]
    assert s.start_s == (0.0, 0.5, 2.5, 4.5) and s.end_s == (0.5, 2.5, 4.5, 5.0)
    s = Segments.of(SR * 2 + 10, SR, None)
    assert s.index == (0, 1, 2) and s.bounds.tolist() == [0, SR, 2 * SR, 2 * SR + 10]
    with pytest.raises(ValueError, match="needs >= 1 sample"):
        Segments.of(0, SR, None)


def test_bar_grid_must_be_a_bar_grid(model, clips, tmp_path: Path):
    with pytest.raises(TypeError, match="bar_grid must be a BarGrid or None, got float"):
        render(clips["in_path"], clips["tg_path"], model, tmp_path / "o.wav", bar_grid=120.0)  # type: ignore[arg-type]
    assert not (tmp_path / "o.wav").exists()


def test_plot_draws_the_timeline(model, clips, tmp_path: Path):
    from matplotlib.figure import Figure

    from plugin_host.plot import VERDICT_COLOURS, draw_timeline

    png = tmp_path / "p.png"
    rep = render(clips["in_path"], clips["tg_path"], model, tmp_path / "out.wav", bar_grid=GRID,
                 plot_path=png)  # fmt: skip
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = Figure().subplots()
    draw_timeline(ax, rep["timeline"])
    segs = rep["timeline"]["segments"]
    assert len(ax.patches) == 3 + len(segs)  # one stairs per measure, one span per segment
    colours = [VERDICT_COLOURS[s["verdict"]] for s in segs]
    assert [p.get_facecolor() for p in ax.patches[: len(segs)]] == [
        pytest.approx((*_rgb(c), 1.0)) for c in colours
    ]
    top = ax.child_axes[0]
    assert [t.get_text() for t in top.get_xticklabels()] == [str(s["index"]) for s in segs]


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    return tuple(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def test_finished_segments_are_computed_as_the_stream_passes(model):
    """Flat memory: only the segments the stream is in hold an accumulator (a 20 s clip per
    second, fed in small chunks), and every segment is still reported."""
    n = 20 * SR
    x_in, x_tg = click_track(20.0, SR), chord(20.0, SR)
    dsp = model.dsp
    timeline = TimelineAccumulator(Segments.of(n, SR, None), SR, dsp.n_fft, dsp.hop,
                                   np.diff(dsp.edges))  # fmt: skip
    agent = StreamingAgent(model, x_in.shape[0], n, 0.5, 37, timeline.add_frames)
    most = 0
    for s in range(0, n, 1 << 14):
        agent.feed(x_in[:, s : s + (1 << 14)], x_tg[:, s : s + (1 << 14)])
        for span in agent.pull():
            timeline.add_samples(span)
            most = max(most, timeline.live_segments)
    assert agent.done
    assert 1 <= most <= 3  # the segment being filled, and one or two the frames run ahead in
    segments = timeline.compute()["segments"]
    assert [s["index"] for s in segments] == list(range(20))
    assert all(s["output_input_corr"] is not None for s in segments)
