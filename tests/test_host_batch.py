"""``creative-agent render-batch``: manifest line numbers and messages, missing output
folders, the summary file, ``--output-gain-db`` and ``--help``, with real renders of the tiny
exported model."""

from __future__ import annotations

import inspect
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from plugin_host import batch
from plugin_host.batch import build_parser, main, read_manifest, summary_table
from plugin_host.renderer import render
from tests.helpers import chord, click_track

HEADER = "input,target,output,balance,chain,fit\n"


def write(path: Path, x: np.ndarray, sr: int = 44100) -> None:
    with AudioFile(str(path), "w", sr, x.shape[0], bit_depth=32) as f:
        f.write(x)


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    write(tmp_path / "drums.wav", click_track(1.0))
    write(tmp_path / "keys.wav", chord(0.5, channels=1), 48000)
    return tmp_path


def test_line_numbers_are_physical_lines_and_messages_have_one_prefix(tmp_path: Path):
    """Blank lines, comments and a row of empty cells count as lines; the row's error
    carries no prefix of its own, so the summary prints ``line N:`` once."""
    (tmp_path / "m.csv").write_text(
        HEADER
        + "# renders for the demo\n"  # line 2
        + "\n"  # line 3
        + "drums.wav,keys.wav,a.wav,abc,,\n"  # line 4
        + ",,,,,\n"  # line 5
        + "  # an indented comment\n"  # line 6
        + "drums.wav,keys.wav,b.wav,,,fold\n"  # line 7
        + "drums.wav,keys.wav,c.wav,0.2,,\n"  # line 8
        + "drums.wav,,a.wav,,,\n"  # line 9
    )
    rows = read_manifest(tmp_path / "m.csv")
    assert [(r.line, r.error) for r in rows] == [
        (4, "balance 'abc' is not a number"),
        (7, "fit 'fold'; choose one of loop, pad, trim"),
        (8, None),
        (9, "empty target"),
    ]
    assert rows[2].kwargs["balance"] == 0.2
    table = summary_table(rows, {r.line: r.error for r in rows if r.error})
    assert "  line 4: balance 'abc' is not a number" in table.splitlines()
    assert "line 4: line 4" not in table and "line 7: line 7" not in table


def test_a_quoted_cell_over_two_lines_keeps_later_line_numbers(tmp_path: Path):
    (tmp_path / "m.csv").write_text(HEADER + 'drums.wav,keys.wav,"two\nlines.wav",,,\n\nx,,y,,,\n')
    rows = read_manifest(tmp_path / "m.csv")
    assert [(r.line, r.output) for r in rows] == [(2, "two\nlines.wav"), (5, "y")]


def test_docs_example_renders_into_a_missing_folder_and_writes_the_summary_atomically(
    clips: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """As docs/host.md: ``renders/`` does not exist yet; it is created. The summary goes
    through plugin_host.atomic.write_json (mode from the umask, into a new folder too)."""
    (clips / "manifest.csv").write_text(
        HEADER
        + "drums.wav,keys.wav,renders/a.wav,0.5,,\n"
        + "\n"
        + "drums.wav,keys.wav,renders/deeper/c.flac,,,trim\n"
        + "drums.wav,missing.wav,renders/e.wav,,,\n"
        + "drums.wav,keys.wav,renders/f.wav,abc,,\n"
    )
    written: list[Path] = []
    real_write_json = batch.write_json

    def spy(path: str | os.PathLike[str], data: object, **kw: bool) -> Path:
        written.append(Path(path))
        return real_write_json(path, data, **kw)

    monkeypatch.setattr(batch, "write_json", spy)
    monkeypatch.chdir(clips)
    status = main(["manifest.csv", "--model", str(tiny_onnx), "--quiet",
                   "--summary", "out/summary.json"])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 1, out
    assert "2 of 4 rendered, 2 failed" in out
    assert "  line 5: missing.wav: file not found" in out.splitlines()
    assert "  line 6: balance 'abc' is not a number" in out.splitlines()
    assert sorted(p.relative_to(clips).as_posix() for p in (clips / "renders").rglob("*")) == [
        "renders/a.wav", "renders/a.wav.json", "renders/deeper", "renders/deeper/c.flac",
        "renders/deeper/c.flac.json",
    ]  # fmt: skip
    assert written == [Path("out/summary.json")]
    summary = json.loads((clips / "out" / "summary.json").read_text())
    assert [(r["line"], isinstance(r["result"], dict)) for r in summary["rows"]] == [
        (2, True), (4, True), (5, False), (6, False)
    ]  # fmt: skip
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((clips / "out" / "summary.json").stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in (clips / "out").iterdir()) == ["summary.json"]


def test_summary_that_is_the_manifest_is_refused_before_rendering(
    clips: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    text = HEADER + "drums.wav,keys.wav,a.wav,,,\n"
    (clips / "m.csv").write_text(text)
    monkeypatch.chdir(clips)
    assert main(["m.csv", "--model", str(tiny_onnx), "--quiet", "--summary", "m.csv"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["creative-agent render-batch: error: summary m.csv: same file as m.csv; "
                   "refusing to overwrite it"]  # fmt: skip
    assert (clips / "m.csv").read_text() == text and not (clips / "a.wav").exists()


def test_output_gain_db_column_and_flag_are_checked(tmp_path: Path, capsys):
    (tmp_path / "m.csv").write_text(
        "input,target,output,output_gain_db\na,b,c.wav,-6\na,b,d.wav,loud\na,b,e.wav,\n"
    )
    rows = read_manifest(tmp_path / "m.csv")
    assert rows[0].kwargs["output_gain_db"] == -6.0
    assert rows[1].error == "output_gain_db 'loud' is not a number"
    assert "output_gain_db" not in rows[2].kwargs  # the flag's value applies
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "m.csv"), "--model", "m.onnx", "--output-gain-db", "inf"])
    assert exit_.value.code == 2 and "--output-gain-db inf: not a finite number" in (
        capsys.readouterr().err
    )


@pytest.mark.skipif(
    "output_gain_db" not in inspect.signature(render).parameters,
    reason="render(output_gain_db=...) comes from the hostio branch (SHARED_DECISIONS #2); "
    "this test runs once that is merged",
)
def test_output_gain_db_scales_the_output(
    clips: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """``--output-gain-db -6`` applies to rows without a cell; a cell overrides it. The
    renders differ only by the final gain: equal up to float32 rounding (rtol 1e-5)."""
    (clips / "m.csv").write_text(
        "input,target,output,output_gain_db\n"
        "drums.wav,keys.wav,flag.wav,\n"
        "drums.wav,keys.wav,zero.wav,0\n"
        "drums.wav,keys.wav,cell.wav,-12\n"
    )
    monkeypatch.chdir(clips)
    assert main(["m.csv", "--model", str(tiny_onnx), "--quiet", "--output-gain-db", "-6"]) == 0

    def read(name: str) -> np.ndarray:
        with AudioFile(str(clips / name)) as f:
            return f.read(f.frames)

    zero = read("zero.wav")
    assert np.abs(zero).max() > 0.01  # a real signal, so the ratios below mean something
    for name, db in (("flag.wav", -6.0), ("cell.wav", -12.0)):
        np.testing.assert_allclose(read(name), zero * 10 ** (db / 20), rtol=1e-5, atol=1e-7)


def test_help_has_no_markup_and_every_option_has_help(capsys: pytest.CaptureFixture):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    text = capsys.readouterr().out
    assert exit_.value.code == 0 and "--output-gain-db DB" in text
    for markup in ("``", ":class:", ":func:", ":data:"):
        assert markup not in text
    parser = build_parser()
    no_help = [a.option_strings or a.dest for a in parser._actions if not a.help]
    assert no_help == []
