"""Balance automation: the knob as a curve over time, given as breakpoints.

A :class:`BalanceCurve` is a list of ``(time, value)`` breakpoints with times in seconds
(``unit="s"``) or bars (``unit="bars"``: bar 1 starts at the first downbeat of a
:class:`~plugin_host.musical.grid.BarGrid`, fractions allowed, so ``2.5`` is half way
through bar 2). Values are the balance (the INPUT's intended share) in [0, 1]; between two
breakpoints the value is interpolated linearly, before the first and after the last it is
held flat.

Files (``BalanceCurve.from_file``):

- CSV: one ``time,value`` row per breakpoint, an optional header, ``#`` comments and blank
  lines ignored. The header names the unit: ``time,value`` or ``seconds,value`` (or ``s``)
  for seconds, ``bars,value`` (or ``bar``) for bars; without a header the unit is seconds.
- JSON: ``{"unit": "s" | "bars", "points": [[time, value], ...]}`` (``unit`` defaults to
  ``"s"``).

Every error is one line naming the file and the line or field (:class:`BalanceCurveError`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plugin_host.musical.grid import BarGrid

UNITS = ("s", "bars")


def parse_balances(text: str) -> list[float]:
    """``0.3,0.5,0.7`` -> [0.3, 0.5, 0.7]: knob values as the render command and the OSC
    variations command take them; ValueError naming ``text`` when one is not a number."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"{text!r}: numbers separated by commas") from None


# CSV header words for the time column, by unit
_HEADER_UNITS = {
    "time": "s",
    "seconds": "s",
    "second": "s",
    "s": "s",
    "bars": "bars",
    "bar": "bars",
}
MAX_POINTS = 100_000  # far beyond any hand-drawn curve; bounds the work of one file


class BalanceCurveError(ValueError):
    """A bad curve file or curve: one line naming the file and the line or field."""


@dataclass(frozen=True)
class BalanceCurve:
    """Breakpoints ``points`` ((time, value), times strictly increasing, values in [0, 1]),
    ``unit`` ``"s"`` or ``"bars"``; ``source`` names where it came from (for errors)."""

    points: tuple[tuple[float, float], ...]
    unit: str = "s"
    source: str = field(default="balance curve", compare=False)

    def __post_init__(self) -> None:
        where = self.source
        if self.unit not in UNITS:
            raise BalanceCurveError(f"{where}: unit {self.unit!r}: choose s or bars")
        if not self.points:
            raise BalanceCurveError(f"{where}: no breakpoints")
        if len(self.points) > MAX_POINTS:
            raise BalanceCurveError(f"{where}: {len(self.points)} breakpoints (max {MAX_POINTS})")
        previous = -math.inf
        for i, (t, v) in enumerate(self.points, 1):
            _check_point(f"{where}: point {i}", t, v, previous)
            previous = t

    # ------------------------------------------------------------------ building
    @classmethod
    def ramp(cls, start: float, end: float, seconds: float) -> BalanceCurve:
        """From ``start`` at 0 s to ``end`` at ``seconds`` (> 0), then held (OSC's
        ``/agent/param/ramp``); ``seconds`` 0 jumps to ``end`` at once."""
        if not (math.isfinite(seconds) and seconds >= 0.0):
            raise BalanceCurveError(f"ramp: seconds {seconds:g} must be finite and >= 0")
        if seconds == 0.0:
            return cls(((0.0, float(end)),), "s", "ramp")
        return cls(((0.0, float(start)), (float(seconds), float(end))), "s", "ramp")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> BalanceCurve:
        """A curve from a ``.json`` file, or CSV (any other name)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BalanceCurveError(f"{p}: cannot read balance curve ({exc})") from exc
        if p.suffix.lower() == ".json":
            return cls.from_json(text, str(p))
        return cls.from_csv(text, str(p))

    @classmethod
    def from_json(cls, text: str, source: str = "balance curve") -> BalanceCurve:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BalanceCurveError(f"{source}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise BalanceCurveError(f"{source}: expected an object with unit and points")
        unknown = sorted(set(data) - {"unit", "points"})
        if unknown:
            raise BalanceCurveError(f"{source}: unknown field {unknown[0]!r} (unit, points)")
        unit = data.get("unit", "s")
        raw = data.get("points")
        if not isinstance(raw, list):
            raise BalanceCurveError(f"{source}: field points must be a list of [time, value]")
        points = []
        for i, item in enumerate(raw):
            if not (isinstance(item, list) and len(item) == 2 and all(map(_is_number, item))):
                raise BalanceCurveError(f"{source}: points[{i}] must be [time, value] numbers")
            points.append((float(item[0]), float(item[1])))
        if not isinstance(unit, str):
            raise BalanceCurveError(f'{source}: field unit must be "s" or "bars"')
        return cls(tuple(points), unit, source)

    @classmethod
    def from_csv(cls, text: str, source: str = "balance curve") -> BalanceCurve:
        unit, points, first, previous = "s", [], True, -math.inf
        for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
            cells = [c.strip() for c in row]
            if not cells or not any(cells) or cells[0].startswith("#"):
                continue
            if len(cells) != 2:
                raise BalanceCurveError(f"{source}: line {n}: expected time,value")
            numbers = _floats(cells)
            if numbers is None:
                header = cells[0].lower()
                if not first or header not in _HEADER_UNITS or cells[1].lower() != "value":
                    raise BalanceCurveError(
                        f"{source}: line {n}: expected numbers time,value (or a first header "
                        "line time,value / seconds,value / bars,value)"
                    )
                unit = _HEADER_UNITS[header]
            else:
                _check_point(f"{source}: line {n}", *numbers, previous)
                points.append(numbers)
                previous = numbers[0]
            first = False
        return cls(tuple(points), unit, source)

    # ------------------------------------------------------------------ values
    def to_dict(self) -> dict[str, Any]:
        """``{"unit": ..., "points": [[t, v], ...]}`` (the JSON file form; the report's)."""
        return {"unit": self.unit, "points": [[t, v] for t, v in self.points]}

    def times_s(self, grid: BarGrid | None) -> np.ndarray:
        """Breakpoint times in seconds, float64 [P] (bars through ``grid``)."""
        t = np.array([p[0] for p in self.points], np.float64)
        if self.unit == "s":
            return t
        if grid is None:
            raise BalanceCurveError(
                f"{self.source}: times in bars need a tempo and a downbeat (a bar grid), and "
                "this render has none; give the curve in seconds"
            )
        return np.array([grid.bar_start_s(b) for b in t], np.float64)

    def at(self, seconds: np.ndarray, grid: BarGrid | None = None) -> np.ndarray:
        """Values at ``seconds`` (float [n]): float32 [n], linear, held flat at the ends."""
        v = np.array([p[1] for p in self.points], np.float64)
        return np.interp(seconds, self.times_s(grid), v).astype(np.float32)

    def frame_values(
        self, n_frames: int, hop: int, sample_rate: float, grid: BarGrid | None = None
    ) -> np.ndarray:
        """The knob per STFT frame: float32 [n_frames] at the frames' centres (frame i is
        centred on sample i · hop, i.e. at i · hop / sample_rate s)."""
        return self.at(np.arange(n_frames) * (hop / sample_rate), grid)


def _check_point(where: str, t: float, v: float, previous: float) -> None:
    """One breakpoint: finite, value in [0, 1], time after ``previous``."""
    if not (math.isfinite(t) and math.isfinite(v)):
        raise BalanceCurveError(f"{where}: time and value must be finite")
    if not 0.0 <= v <= 1.0:
        raise BalanceCurveError(f"{where}: value {v:g} must be in [0, 1]")
    if t <= previous:
        raise BalanceCurveError(
            f"{where}: time {t:g} must be after the previous one ({previous:g})"
        )


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _floats(cells: list[str]) -> tuple[float, float] | None:
    try:
        return float(cells[0]), float(cells[1])
    except ValueError:
        return None
