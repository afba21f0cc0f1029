"""BarGrid: bar boundaries from a tempo and a first downbeat."""

import pytest

from plugin_host.musical.grid import BarGrid


def test_bars_cover_the_clip_with_a_pickup_bar_zero() -> None:
    bars = BarGrid(120.0, 0.5).bars(5.0)  # 2 s bars from 0.5 s
    assert bars == [(0, 0.0, 0.5), (1, 0.5, 2.5), (2, 2.5, 4.5), (3, 4.5, 5.0)]


def test_a_downbeat_at_the_start_has_no_pickup() -> None:
    bars = BarGrid(90.0, 0.0, beats_per_bar=3).bars(4.0)  # 2 s bars of 3 beats
    assert [b[0] for b in bars] == [1, 2]
    assert bars[-1][2] == 4.0


def test_a_short_pickup_joins_bar_one_and_later_bars_keep_the_grid() -> None:
    """A first downbeat under MIN_PICKUP_S (here 30 ms): no bar 0, bar 1 starts at 0, and
    every later bar starts at ``bar_start_s`` (the time a bar-valued balance curve uses)."""
    grid = BarGrid(120.0, 0.03)
    bars = grid.bars(6.0)
    assert [b[0] for b in bars] == [1, 2, 3]
    assert bars[0][1] == 0.0 and bars[0][2] == pytest.approx(2.03)
    for k, start, _ in bars[1:]:
        assert start == pytest.approx(grid.bar_start_s(k))
    assert bars[-1][2] == 6.0


def test_fractional_bars_and_bad_values() -> None:
    assert BarGrid(120.0, 1.0).bar_start_s(2.5) == pytest.approx(4.0)
    for bad in ({"bpm": 0.0, "downbeat_s": 0.0}, {"bpm": 120.0, "downbeat_s": -1.0}):
        with pytest.raises(ValueError, match="BarGrid"):
            BarGrid(**bad)
