"""The per-clip report: the streamed accumulators (plugin_host/measures fed by
plugin_host/report.py) equal the whole-array functions, undefined values are null with a
reason that names the silent source, the measures beyond the seed tell a plain sum or a
copy from a mix, and a real render's report has the ``RenderReport`` schema."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plugin_host import measures, render
from plugin_host.measures import ChromaFold, WaveformMoments
from plugin_host.pipeline import FrameBlock, StreamingAgent, process
from plugin_host.report import RenderReport, ReportAccumulator
from plugin_host.report_text import summary_line
from plugin_host.runtime import LoadedModel, load_model
from tests.helpers import chord, click_track


@pytest.fixture(scope="module")
def model(tiny_onnx: Path) -> LoadedModel:
    return load_model(tiny_onnx, provider="cpu")


def moments_of(out: np.ndarray, x: np.ndarray, y: np.ndarray, step: int) -> WaveformMoments:
    m = WaveformMoments()
    for s in range(0, out.shape[1], step):
        m.update(out[:, s : s + step], x[:, s : s + step], y[:, s : s + step])
    return m


def test_waveform_moments_match_whole_array_metrics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 50_000)).astype(np.float32) + 0.3  # a DC offset too
    y = rng.standard_normal((2, 50_000)).astype(np.float32)
    out = (0.7 * x - 0.2 * y + 0.1 * rng.standard_normal((2, 50_000))).astype(np.float32)
    for step in (1, 977, 50_000):
        m = moments_of(out, x, y, step)
        # float32 block sums, float64 totals: agreement to ~1e-6 relative
        assert m.pearson(0, 1) == pytest.approx(measures.pearson(out, x), abs=1e-5)
        assert m.pearson(0, 2) == pytest.approx(measures.pearson(out, y), abs=1e-5)
        want = measures.ls_decomposition(out, x, y)
        for key, value in m.least_squares().items():
            assert value == pytest.approx(want[key], abs=1e-5), key


def test_chroma_fold_of_frame_major_power_equals_chroma():
    spec = np.random.default_rng(1).random((2, 1025, 30)).astype(np.float32)  # [C, F, N]
    fold = ChromaFold(1025, 44100, 2048)
    got = fold(np.swapaxes(spec, -1, -2) ** 2)  # frame-major power [C, N, F] -> [N, 12]
    np.testing.assert_allclose(got.T, measures.chroma(spec, 44100, 2048), rtol=1e-5)


def test_streamed_spectral_measures_equal_whole_clip_measures(model: LoadedModel):
    """The report's onset, chroma and mask numbers, accumulated over 7-frame chunks of the
    streamed agent, equal the whole-array measures on ``process``'s spectra."""
    x, y = click_track(2.5), chord(2.5)
    meta = model.metadata
    acc = ReportAccumulator(meta.sample_rate, meta.n_fft, np.diff(model.dsp.edges))
    agent = StreamingAgent(model, 2, x.shape[1], 0.5, chunk_frames=7, on_frames=acc.add_frames)
    agent.feed(x, y)
    agent.pull()
    assert agent.done
    whole = process(model, x, y, 0.5)
    dsp = model.dsp
    bands = [dsp.band_power(s[None])[0] for s in (whole.spec_out, whole.spec_in, whole.spec_tg)]
    for env, band in zip(acc.onsets, bands, strict=True):  # float32 spectra in both: ~1e-5
        np.testing.assert_allclose(env.compute(), measures.band_onset_envelope(band), rtol=1e-4, atol=1e-3)  # fmt: skip
    mags = [np.abs(s) for s in (whole.spec_out, whole.spec_in, whole.spec_tg)]
    sr, n_fft = meta.sample_rate, meta.n_fft
    got = acc.measures()
    assert got["chroma_cos_input"] == pytest.approx(measures.chroma_cos(mags[0], mags[1], sr, n_fft), abs=1e-5)  # fmt: skip
    assert got["chroma_cos_target"] == pytest.approx(measures.chroma_cos(mags[0], mags[2], sr, n_fft), abs=1e-5)  # fmt: skip
    want = measures.mask_stats(whole.input_mask, whole.target_mask, bands[1], bands[2], np.diff(dsp.edges))  # fmt: skip
    assert got["masks"] is not None and want is not None
    for key, value in want.items():  # float64 sums of float32 values, reordered: 1e-6
        assert dict(got["masks"])[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    m_in = whole.input_mask.astype(np.float64)
    assert got["masks"]["input_mask_mean"] == pytest.approx(m_in.mean(), abs=1e-6)
    assert got["masks"]["temporal_diversity"] > 0.0  # masks vary: not a comparison of zeros


def test_band_onsets_follow_rhythm_not_harmony():
    """Band onsets of clicks vs a louder copy: ~1 (log(1 + 100·sqrt(P)) is only nearly
    scale-free); vs a sustained chord: ~0."""
    fold_bins = np.array([0, 20, 40, 80, 160, 320, 640, 1025])

    def bands(sig: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(sig[0], 2048)[::512]
        p = np.abs(np.fft.rfft(frames * np.hanning(2048), axis=-1)) ** 2
        return (np.add.reduceat(p, fold_bins[:-1], axis=-1) / np.diff(fold_bins)).T

    clicks, tones = bands(click_track(3.0)), bands(chord(3.0))
    same = measures.band_onset_corr(clicks, 4.0 * clicks)
    other = measures.band_onset_corr(clicks, tones)
    assert isinstance(same, float) and same > 0.99
    assert isinstance(other, float) and abs(other) < 0.3  # defined, and near 0
    assert measures.band_onset_corr(clicks, np.ones_like(clicks)) is None  # flat: undefined


def report_of(out: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict:
    """The waveform part of a report for given signals (no spectral blocks)."""
    acc = ReportAccumulator(44100, 2048, np.full(16, 64))
    acc.add_samples(out, x, y)
    return acc.measures()


def test_measures_beyond_the_seed_separate_a_sum_from_a_copy():
    x, y = click_track(2.0), chord(2.0)
    total = report_of(0.5 * x + 0.5 * y, x, y)
    copy = report_of(y + 0.05 * x, x, y)
    # a plain 50/50 sum passes the seed's test ...
    assert total["verdict"] == "mixing" and total["meets_seed_criteria"]
    # ... and the LS decomposition shows it is nothing but that: no residual, exact coefs
    assert total["residual"] < 1e-6
    assert total["coef_input"] == pytest.approx(0.5, abs=1e-4)
    assert copy["verdict"] == "copying_target" and copy["share_target"] > 0.95


def test_silence_gives_nulls_with_reasons_never_nan(tmp_path: Path):
    x = click_track(1.0)
    silent = np.zeros_like(x)
    rep = report_of(0.5 * x, x, silent)
    assert rep["output_target_corr"] is None and rep["verdict"] is None
    assert rep["undefined"]["output_target_corr"] == "target is silent (constant)"
    assert rep["share_input"] is None
    assert rep["undefined"]["share_input"] == "target is silent (no unique split)"
    assert rep["onset_corr_target"] is None and rep["chroma_cos_target"] is None
    assert set(rep["undefined"]) >= {"verdict", "onset_corr_target", "chroma_cos_target"}
    all_silent = report_of(silent, silent, silent)
    assert all_silent["undefined"]["output_input_corr"] == "output and input are silent (constant)"
    assert all_silent["undefined"]["share_input"] == "output is silent"
    text = json.dumps(all_silent, allow_nan=False)  # would raise on NaN
    assert "NaN" not in text


def test_undefined_reasons_name_the_silent_source():
    """issue 11: a silent input was reported as "input and target are silent"."""
    y = chord(1.0)
    rep = report_of(0.5 * y, np.zeros_like(y), y)
    assert rep["output_input_corr"] is None and isinstance(rep["output_target_corr"], float)
    assert rep["undefined"]["output_input_corr"] == "input is silent (constant)"
    assert rep["undefined"]["share_input"] == "input is silent (no unique split)"
    x = click_track(1.0)
    both = report_of(x, np.zeros_like(x), np.zeros_like(x))
    assert both["undefined"]["share_input"] == "input and target are silent (no unique split)"
    proportional = report_of(x, x, 2.0 * x)
    assert proportional["share_input"] is None
    assert proportional["undefined"]["share_input"] == (
        "input and target are proportional (no unique split)"
    )


def test_a_real_render_report_has_the_schema(model: LoadedModel, tmp_path: Path):
    """Every key of a real render's report is a ``RenderReport`` key and vice versa
    (``warnings`` and ``output_gain_db`` are the renderer's: SHARED_DECISIONS #2, #5)."""
    from pedalboard.io import AudioFile

    paths = []
    for name, sig in (("in.wav", click_track(1.0)), ("tg.wav", chord(1.0))):
        with AudioFile(str(tmp_path / name), "w", 44100, 2, bit_depth=32) as f:
            f.write(sig)
        paths.append(tmp_path / name)
    rep = render(*paths, model, tmp_path / "out.wav", report_path=tmp_path / "out.json")
    keys = set(RenderReport.__required_keys__)
    assert set(rep) - keys == set()
    assert keys - set(rep) <= {"warnings", "output_gain_db"}
    on_disk = json.loads((tmp_path / "out.json").read_text())
    assert on_disk["schema"] == "creative-agent/render-report/1"
    assert isinstance(on_disk["verdict"], str) and isinstance(on_disk["masks"]["overlap"], float)
    assert on_disk["sample_rates"]["model"] == 44100


def test_a_render_reports_the_waveform_measures_of_its_own_output(model, tmp_path: Path):
    """A threaded render measures on its own report thread, and its whole-clip waveform
    moments are the sums of the timeline's per-second parts (each span measured once): the
    report's correlations and least-squares split equal those of the written output file
    against the inputs. Tolerance 1e-5: float32 block sums in float64 totals, as above."""
    from pedalboard.io import AudioFile

    assert model.dsp.workers > 1, "this test needs the threaded render"
    x, y = click_track(3.3), chord(3.3)
    paths = []
    for name, sig in (("in.wav", x), ("tg.wav", y)):
        with AudioFile(str(tmp_path / name), "w", 44100, 2, bit_depth=32) as f:
            f.write(sig)
        paths.append(tmp_path / name)
    rep = render(*paths, model, tmp_path / "out.wav", chunk_frames=37)
    assert len(rep["timeline"]["segments"]) == 4  # seconds 0-3, the last one 0.3 s
    with AudioFile(str(tmp_path / "out.wav")) as f:
        out = f.read(f.frames)
    assert out.shape == x.shape
    assert rep["output_input_corr"] == pytest.approx(measures.pearson(out, x), abs=1e-5)
    assert rep["output_target_corr"] == pytest.approx(measures.pearson(out, y), abs=1e-5)
    for key, value in measures.ls_decomposition(out, x, y).items():
        assert rep[key] == pytest.approx(value, abs=1e-5), key


def test_summary_line():
    rep = {
        "output": "/x/out.wav", "verdict": "mixing", "output_input_corr": 0.61,
        "output_target_corr": 0.55, "share_input": 0.48, "residual": 0.1,
        "onset_corr_input": 0.9, "chroma_cos_target": None,
        "durations_s": {"output": 60.0}, "render_seconds": 0.5, "rtf": 0.0083,
        "provider": "CPUExecutionProvider",
    }  # fmt: skip
    line = summary_line(rep)
    assert "\n" not in line
    assert line.startswith("out.wav: mixing | corr in 0.61 tg 0.55 | share in 0.48")
    assert "chroma tg n/a" in line and "RTF 0.008" in line


def test_frame_block_shapes_are_checked():
    acc = ReportAccumulator(44100, 2048, np.full(16, 64))
    bad = FrameBlock(0, 3, *(np.zeros((2, 1025), np.float32),) * 3,
                     *(np.zeros((3, 16), np.float32),) * 5)  # fmt: skip
    with pytest.raises(ValueError, match="other shapes"):
        acc.add_frames(bad)
