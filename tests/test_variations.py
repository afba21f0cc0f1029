"""Variations (issue 12, part 5): every balance x transpose in one call, one model
session, the pair read and analysed once; file names, reports, the ranked table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from musical_clips import chord_loop, drum_loop, write_clip

from plugin_host import render_musical, variations
from plugin_host.bundled import DEFAULT_ONNX
from plugin_host.musical import analysis
from plugin_host.renderer import RenderError, render
from plugin_host.runtime import load_model
from plugin_host.variations import rank, render_variations, score, variation_path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("var")
    write_clip(str(d / "in.wav"), drum_loop(100.0, "breakbeat", bars=2))
    write_clip(str(d / "tg.wav"), chord_loop(128.0, 2, False, degrees=(1, 4)))
    return d / "in.wav", d / "tg.wav"


def test_names() -> None:
    assert variation_path("a/mix.wav", 0.3, "none", False) == Path("a/mix.b0.30.wav")
    assert variation_path("mix.flac", 0.5, "auto", True) == Path("mix.b0.50.tauto.flac")
    assert variation_path("mix.wav", 0.7, 2, True) == Path("mix.b0.70.t+2.wav")
    assert variation_path("mix.wav", 0.7, -3, True).name == "mix.b0.70.t-3.wav"
    assert variation_path("mix.wav", 1.0, 0, True).name == "mix.b1.00.t0.wav"


def test_rank_puts_seed_criteria_first_then_the_score() -> None:
    v = [variations.Variation(b, "none", Path(f"{b}.wav")) for b in (0.1, 0.2, 0.3, 0.4)]
    reps: list[dict[str, Any]] = [
        {"meets_seed_criteria": False, "onset_corr_input": 0.9, "chroma_cos_target": 0.9},
        {"meets_seed_criteria": True, "onset_corr_input": 0.5, "chroma_cos_target": 0.5},
        {"meets_seed_criteria": True, "onset_corr_input": 0.7, "chroma_cos_target": 0.5},
        {"meets_seed_criteria": False, "onset_corr_input": None, "chroma_cos_target": 0.9},
    ]
    ranked = rank(list(zip(v, reps, strict=True)))
    assert [x.balance for x, _ in ranked] == [0.3, 0.2, 0.1, 0.4]
    assert score(reps[2]) == pytest.approx(0.6) and score(reps[3]) is None


def test_one_session_one_read_one_analysis_per_source(
    pair: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"load_model": 0, "read": 0, "analyse": 0}

    def counted(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(variations, "load_model", counted("load_model", load_model))
    monkeypatch.setattr(render_musical, "read_at_rate",
                        counted("read", render_musical.read_at_rate))  # fmt: skip
    monkeypatch.setattr(analysis, "analyse", counted("analyse", analysis.analyse))

    def no_file_reads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a variation read a source file while streaming")

    monkeypatch.setattr("plugin_host.render_stream.SourceReader", no_file_reads)
    src_in, src_tg = pair
    ranked = render_variations(src_in, src_tg, DEFAULT_ONNX, tmp_path / "mix.wav",
                               balances=[0.3, 0.7], transposes=["auto", 0], align="tempo")  # fmt: skip
    assert calls == {"load_model": 1, "read": 2, "analyse": 2}
    names = sorted(p.name for p in tmp_path.iterdir())
    outs = ["mix.b0.30.t0.wav", "mix.b0.30.tauto.wav", "mix.b0.70.t0.wav", "mix.b0.70.tauto.wav"]
    assert names == sorted(outs + [o + ".json" for o in outs])
    for v, rep in ranked:
        assert json.loads((tmp_path / (v.output.name + ".json")).read_text()) == rep
        assert rep["balance"] == v.balance and rep["alignment"]["align"] == "tempo"
        assert "load_model" not in rep["timings_s"]
    assert sorted((v.balance, str(v.transpose)) for v, _ in ranked) == [
        (0.3, "0"), (0.3, "auto"), (0.7, "0"), (0.7, "auto")
    ]  # fmt: skip
    keys = [(not r["meets_seed_criteria"], -(score(r) or 0.0)) for _, r in ranked]
    assert keys == sorted(keys)


def test_a_variation_renders_what_a_single_render_renders(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    src_in, src_tg = pair
    ranked = render_variations(src_in, src_tg, DEFAULT_ONNX, tmp_path / "v.wav",
                               balances=[0.3, 0.6], align="tempo", reports=False)  # fmt: skip
    single = render(src_in, src_tg, DEFAULT_ONNX, tmp_path / "one.wav", balance=0.6,
                    align="tempo")  # fmt: skip
    (rep,) = [r for v, r in ranked if v.balance == 0.6]
    for key in ("output_input_corr", "output_target_corr", "onset_corr_input"):
        assert rep[key] == pytest.approx(single[key], abs=1e-6)  # same samples, same sums
    assert rep["alignment"] == single["alignment"]


def test_existing_output_refused_before_any_render(pair: tuple[Path, Path], tmp_path: Path) -> None:
    (tmp_path / "m.b0.70.wav").write_bytes(b"x")
    with pytest.raises(RenderError, match=r"m\.b0\.70\.wav: exists"):
        render_variations(*pair, DEFAULT_ONNX, tmp_path / "m.wav", balances=[0.3, 0.7])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.b0.70.wav"]
    with pytest.raises(RenderError, match="balance values repeat"):
        render_variations(*pair, DEFAULT_ONNX, tmp_path / "m.wav", balances=[0.3, 0.3])


def test_cli_table_and_json(pair: tuple[Path, Path], tmp_path: Path) -> None:
    src_in, src_tg = pair
    base = [sys.executable, "-m", "plugin_host.cli", "render", "--input", str(src_in),
            "--target", str(src_tg), "--balance", "0.4,0.6"]  # fmt: skip
    out = subprocess.run([*base, "-o", str(tmp_path / "t.wav")], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    lines = out.splitlines()
    assert lines[0].split() == ["rank", "output", "balance", "transpose", "seed", "verdict",
                                "onset_in", "chroma_tg", "score"]  # fmt: skip
    assert {ln.split()[1] for ln in lines[1:3]} == {"t.b0.40.wav", "t.b0.60.wav"}
    assert lines[3].startswith("ranked by: meets_seed_criteria first")
    js = subprocess.run([*base, "--transpose", "auto,-2", "-o", str(tmp_path / "j.wav"),
                         "--json"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    data = json.loads(js)
    assert [r["rank"] for r in data["variations"]] == [1, 2, 3, 4]
    assert {Path(r["output"]).name for r in data["variations"]} == {
        "j.b0.40.tauto.wav", "j.b0.60.tauto.wav", "j.b0.40.t-2.wav", "j.b0.60.t-2.wav"
    }  # fmt: skip
    shifted = [r for r in data["variations"] if r["transpose"] == -2]
    assert all(r["report"]["alignment"]["shift_semitones"] == -2 for r in shifted)
    plotted = subprocess.run([*base, "-o", str(tmp_path / "p.wav"), "--plot", "--no-report"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    assert plotted.returncode == 0
    assert sorted(p.name for p in tmp_path.glob("p.*")) == [
        "p.b0.40.wav", "p.b0.40.wav.png", "p.b0.60.wav", "p.b0.60.wav.png"
    ]  # fmt: skip
    bad = subprocess.run([*base, "-o", str(tmp_path / "b.wav"), "--report", "r.json"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "--report/--plot PATH take one render" in bad.stderr


def test_batch_manifest_align_and_transpose_columns(tmp_path: Path) -> None:
    from plugin_host.batch import read_manifest

    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "input,target,output,align,transpose\n"
        "a,b,c.wav,tempo,auto\na,b,d.wav,,-2\na,b,e.wav,beat,\na,b,f.wav,,13\na,b,g.wav,,\n"
    )
    rows = read_manifest(manifest)
    assert (rows[0].kwargs["align"], rows[0].kwargs["transpose"]) == ("tempo", "auto")
    assert rows[1].kwargs["transpose"] == -2 and "align" not in rows[1].kwargs
    assert rows[2].error == "align 'beat': choose one of none, tempo"
    assert rows[3].error == "transpose 13: at most 12 semitones either way"
    assert rows[4].error is None and not {"align", "transpose"} & set(rows[4].kwargs)
