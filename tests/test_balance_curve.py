"""plugin_host.balance_curve: CSV/JSON parsing, its one-line errors, interpolation at frame
centres, bars through a BarGrid, the OSC ramp."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plugin_host.balance_curve import BalanceCurve, BalanceCurveError, parse_balances
from plugin_host.musical.grid import BarGrid


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_header_comments_and_blank_lines(tmp_path: Path) -> None:
    p = write(tmp_path, "c.csv", "# my automation\ntime,value\n0,0.2\n\n 4 , 0.8 # end\n")
    with pytest.raises(BalanceCurveError, match=r"c\.csv: line 5: expected numbers"):
        BalanceCurve.from_file(p)  # a trailing comment is not a number
    p = write(tmp_path, "c.csv", "# my automation\ntime,value\n0,0.2\n\n 4 , 0.8\n")
    curve = BalanceCurve.from_file(p)
    assert curve.unit == "s" and curve.points == ((0.0, 0.2), (4.0, 0.8))
    assert curve.source == str(p)
    no_header = BalanceCurve.from_file(write(tmp_path, "n.csv", "0,0.2\n4,0.8\n"))
    assert no_header == curve  # the source is not part of equality


def test_csv_bars_header_and_json(tmp_path: Path) -> None:
    bars = BalanceCurve.from_file(write(tmp_path, "b.csv", "bars,value\n1,0\n3,1\n"))
    assert bars.unit == "bars" and bars.points == ((1.0, 0.0), (3.0, 1.0))
    doc = {"unit": "bars", "points": [[1, 0], [3, 1]]}
    assert BalanceCurve.from_file(write(tmp_path, "b.json", json.dumps(doc))) == bars
    assert bars.to_dict() == {"unit": "bars", "points": [[1.0, 0.0], [3.0, 1.0]]}
    seconds = BalanceCurve.from_json('{"points": [[0, 0.5]]}')
    assert seconds.unit == "s"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("v.csv", "0,0.2\n1,1.5\n", r"v\.csv: line 2: value 1.5 must be in \[0, 1\]"),
        ("o.csv", "0,0.2\n2,0.3\n1,0.4\n", r"o\.csv: line 3: time 1 must be after .*\(2\)"),
        ("d.csv", "0,0.2\n0,0.3\n", r"d\.csv: line 2: time 0 must be after"),
        ("n.csv", "0,nan\n", r"n\.csv: line 1: time and value must be finite"),
        ("w.csv", "0,0.2,7\n", r"w\.csv: line 1: expected time,value"),
        ("h.csv", "0,0.2\ntime,value\n", r"h\.csv: line 2: expected numbers"),
        ("u.csv", "beats,value\n0,0.2\n", r"u\.csv: line 1: expected numbers"),
        ("e.csv", "# nothing\n", r"e\.csv: no breakpoints"),
        ("j.json", "{", r"j\.json: not JSON"),
        ("k.json", '{"unit": "s", "pts": []}', r"k\.json: unknown field 'pts'"),
        ("p.json", '{"points": [[0, 0.1], [1]]}', r"p\.json: points\[1\] must be \[time, value\]"),
        ("b.json", '{"points": [[0, true]]}', r"b\.json: points\[0\] must be"),
        ("m.json", '{"unit": "ms", "points": [[0, 0.1]]}', r"m\.json: unit 'ms': choose s or"),
        ("r.json", '{"points": [[0, -0.1]]}', r"r\.json: point 1: value -0.1 must be in"),
    ],
)
def test_errors_are_one_line_naming_file_and_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(BalanceCurveError, match=message) as info:
        BalanceCurve.from_file(write(tmp_path, name, text))
    assert "\n" not in str(info.value)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BalanceCurveError, match=r"nope\.csv: cannot read balance curve"):
        BalanceCurve.from_file(tmp_path / "nope.csv")


def test_linear_between_points_and_held_flat_outside() -> None:
    curve = BalanceCurve(((1.0, 0.2), (3.0, 0.6), (4.0, 0.0)))
    got = curve.at(np.array([0.0, 1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 9.0]))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [0.2, 0.2, 0.4, 0.5, 0.6, 0.3, 0.0, 0.0], atol=1e-7)


def test_frame_values_at_frame_centres() -> None:
    """Frame i is centred on sample i * hop (plugin_host/dsp.py: centred frames)."""
    curve = BalanceCurve(((0.0, 0.0), (1.0, 1.0)))
    v = curve.frame_values(5, hop=100, sample_rate=400)  # centres 0, 0.25, ..., 1 s
    np.testing.assert_allclose(v, [0.0, 0.25, 0.5, 0.75, 1.0], atol=1e-7)
    assert v.shape == (5,) and v.dtype == np.float32


def test_bars_need_a_grid_and_use_it(tmp_path: Path) -> None:
    curve = BalanceCurve.from_file(write(tmp_path, "bars.csv", "bars,value\n1,0\n2,1\n"))
    with pytest.raises(BalanceCurveError, match=r"bars\.csv: times in bars need a tempo"):
        curve.frame_values(10, 512, 44100, None)
    grid = BarGrid(bpm=120.0, downbeat_s=0.5)  # bar 1 at 0.5 s, 2 s per bar
    v = curve.at(np.array([0.0, 0.5, 1.5, 2.5, 3.0]), grid)
    np.testing.assert_allclose(v, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)


def test_ramp_from_current_to_value_then_holds() -> None:
    r = BalanceCurve.ramp(0.2, 0.8, 4.0)
    assert r.unit == "s" and r.points == ((0.0, 0.2), (4.0, 0.8))
    np.testing.assert_allclose(r.at(np.array([0.0, 2.0, 4.0, 10.0])), [0.2, 0.5, 0.8, 0.8])
    assert BalanceCurve.ramp(0.2, 0.8, 0.0).points == ((0.0, 0.8),)
    with pytest.raises(BalanceCurveError, match="seconds -1 must be finite and >= 0"):
        BalanceCurve.ramp(0.2, 0.8, -1.0)


def test_balance_lists_parse_or_name_the_text() -> None:
    """The comma list the render command's --balance and OSC /agent/variations take."""
    assert parse_balances("0.3,0.5, 0.7") == [0.3, 0.5, 0.7]
    assert parse_balances("1") == [1.0]
    with pytest.raises(ValueError, match=r"'0.3,loud': numbers separated by commas"):
        parse_balances("0.3,loud")
