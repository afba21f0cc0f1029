"""Effect chains around the agent: INPUT → input_chain → agent ← target_chain ← TARGET,
agent → output_chain → OUT. Each chain is a ``pedalboard.Pedalboard``.

A chain file is JSON::

    {"input_chain":  [{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 60}}],
     "target_chain": [{"plugin": "Reverb", "params": {"room_size": 0.6, "wet_level": 0.2}}],
     "output_chain": [{"plugin": "Compressor", "params": {"threshold_db": -18, "ratio": 3}},
                      {"vst3": "plugins/Limiter.vst3", "params": {"ceiling": -1.0}}]}

Entries name a built-in pedalboard plugin by class (``plugin``) or a VST3 by path (``vst3``,
relative to the chain file; optional ``plugin_name`` for shells). ``stream`` (optional bool)
overrides how the host runs the plugin over a long file (see :class:`SectionStream`).
Unknown names get a :class:`ChainError` listing the valid ones.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import threading
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pedalboard

from plugin_host.pipeline import SampleBuffer

SECTIONS = ("input_chain", "target_chain", "output_chain")
ENTRY_KEYS = ("plugin", "vst3", "plugin_name", "params", "stream")
# Built-ins that cannot run block by block with reset=False: they buffer internally and
# report latency (PitchShift even outputs silence, pedalboard issue #415). Measured by
# tests/test_host_chain.py, which checks every other built-in streams exactly.
NOT_STREAMABLE = frozenset(
    {"PitchShift", "MP3Compressor", "GSMFullRateCompressor", "Resample", "BrickwallLimiter"}
)
_NOT_PLUGINS = frozenset(
    {"Pedalboard", "Chain", "Mix", "Plugin", "PluginContainer", "ExternalPlugin", "VST3Plugin",
     "AudioUnitPlugin", "IIRFilter"}
)  # fmt: skip
_NOT_PARAMS = frozenset({"is_effect", "is_instrument", "impulse_response"})
# pedalboard guesses the channel axis from the smaller dimension: never pass it < 16 samples.
_MIN_BLOCK = 16
_BLOCK = 8192  # pedalboard's buffer_size for streamed plugins (its default)
# Windowed mode for plugins that do not stream: windows of _WINDOW samples, each rendered
# from a fresh state after _PREROLL samples of the audio before it, crossfaded over _FADE.
_WINDOW, _FADE, _PREROLL = 1 << 16, 2048, 22050


class ChainError(ValueError):
    """A chain that cannot be built or a parameter that cannot be set (one-line message)."""


@cache
def builtin_plugins() -> dict[str, type]:
    """Built-in pedalboard effect classes by name (containers and bases left out)."""
    out: dict[str, type] = {}
    for name in dir(pedalboard):
        cls = getattr(pedalboard, name)
        if (
            isinstance(cls, type)
            and issubclass(cls, pedalboard.Plugin)
            and not name.startswith("_")
            and name not in _NOT_PLUGINS
        ):
            out[name] = cls
    return out


@cache
def builtin_params(name: str) -> tuple[str, ...]:
    """Parameter names of a built-in plugin class (its settable properties)."""
    cls = builtin_plugins()[name]
    return tuple(
        sorted(
            name
            for name, attr in inspect.getmembers(cls)
            if isinstance(attr, property) and name not in _NOT_PARAMS and not name.startswith("_")
        )
    )


def _vst3_params(plugin: Any) -> list[str]:
    """Parameter names of a loaded VST3 (pedalboard's Python-identifier spelling)."""
    return sorted(plugin.parameters)


def _is_enum(value: Any) -> bool:
    return hasattr(type(value), "__members__") and not isinstance(value, int | float | str)


def _plain(value: Any) -> Any:
    """A parameter value as JSON: enums by name, numpy/pybind floats as float."""
    if _is_enum(value):
        return str(value.name)
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float | np.floating):
        return float(f"{float(value):.7g}")  # plugins store float32: drop the noise digits
    if isinstance(value, int | np.integer):
        return int(value)
    return str(value)


def _check_value(where: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or value is None:
        if value is None:
            raise ChainError(f"{where}: parameter {name} is null; give a number")
        return
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ChainError(f"{where}: parameter {name} = {value!r} is not a finite number")
        return
    if not isinstance(value, str):
        raise ChainError(
            f"{where}: parameter {name} = {value!r} must be a number, boolean or string"
        )


def _is_within(path: Path, roots: Iterable[str | os.PathLike[str]] | None) -> bool:
    if roots is None:
        return True
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(os.path.realpath(r)) for r in roots)


class Chain:
    """The three effect chains. ``input_chain``, ``target_chain``, ``output_chain`` are
    ``pedalboard.Pedalboard`` objects (edit them directly or through :meth:`set_param`).

    A chain holds stateful plugins: render with one ``Chain`` from one thread at a time
    (renders reset the plugins when they start).
    """

    def __init__(
        self,
        input_chain: pedalboard.Pedalboard | None = None,
        target_chain: pedalboard.Pedalboard | None = None,
        output_chain: pedalboard.Pedalboard | None = None,
    ) -> None:
        self.input_chain = input_chain if input_chain is not None else pedalboard.Pedalboard()
        self.target_chain = target_chain if target_chain is not None else pedalboard.Pedalboard()
        self.output_chain = output_chain if output_chain is not None else pedalboard.Pedalboard()
        self.source: Path | None = None  # the chain file, if loaded from one
        # Side facts about plugins, by id; each entry also holds the plugin object itself:
        # pybind hands out a new Python wrapper (new id) once the old one is collected.
        self._vst3: dict[int, tuple[Any, str, str | None]] = {}  # -> (plugin, path, name)
        self._stream: dict[int, tuple[Any, bool]] = {}  # -> (plugin, forced streaming mode)
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- building
    @classmethod
    def from_json(
        cls,
        source: str | os.PathLike[str] | dict[str, Any],
        *,
        allow_roots: Iterable[str | os.PathLike[str]] | None = None,
    ) -> Chain:
        """A chain from a JSON file path or an already parsed dict. Plugin files (VST3,
        impulse responses) are resolved relative to the file's folder (the working
        directory for a dict) and, with ``allow_roots``, must lie inside one of them."""
        base = Path.cwd()
        origin: Path | None = None
        if isinstance(source, dict):
            data, label = source, "chain"
        else:
            origin = Path(source)
            label = str(origin)
            if allow_roots is not None and not _is_within(origin, allow_roots):
                raise ChainError(f"{label}: outside the allowed roots")
            try:
                data = json.loads(origin.read_text(encoding="utf-8"))
            except FileNotFoundError as exc:
                raise ChainError(f"{label}: chain file not found") from exc
            except (OSError, UnicodeDecodeError) as exc:
                raise ChainError(f"{label}: cannot read chain file ({exc})") from exc
            except json.JSONDecodeError as exc:
                raise ChainError(f"{label}: not valid JSON ({exc})") from exc
            base = origin.parent
        if not isinstance(data, dict):
            raise ChainError(f"{label}: a chain must be a JSON object with {', '.join(SECTIONS)}")
        unknown = sorted(set(data) - set(SECTIONS) - {"description"})
        if unknown:
            raise ChainError(
                f"{label}: unknown section {unknown[0]!r}; valid: {', '.join(SECTIONS)}"
            )
        chain = cls()
        chain.source = origin
        for section in SECTIONS:
            entries = data.get(section) or []
            if not isinstance(entries, list):
                raise ChainError(f"{label}: {section} must be a list of plugins")
            board = getattr(chain, section)
            for i, entry in enumerate(entries):
                where = f"{label}: {section}[{i}]"
                plugin = chain._build(where, entry, base, allow_roots)
                board.append(plugin)
        return chain

    def _build(
        self,
        where: str,
        entry: Any,
        base: Path,
        roots: Iterable[str | os.PathLike[str]] | None,
    ) -> pedalboard.Plugin:
        if not isinstance(entry, dict):
            raise ChainError(f"{where}: each plugin must be an object like {{'plugin': 'Gain'}}")
        bad = sorted(set(entry) - set(ENTRY_KEYS))
        if bad:
            raise ChainError(f"{where}: unknown key {bad[0]!r}; valid: {', '.join(ENTRY_KEYS)}")
        params = entry.get("params") or {}
        if not isinstance(params, dict):
            raise ChainError(f"{where}: params must be an object of name: value")
        for name, value in params.items():
            _check_value(where, name, value)
        stream = entry.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise ChainError(f"{where}: stream must be true or false")
        if ("plugin" in entry) == ("vst3" in entry):
            raise ChainError(f"{where}: give exactly one of 'plugin' (a built-in) or 'vst3'")
        if "vst3" in entry:
            plugin = self._build_vst3(where, entry, params, base, roots)
        else:
            plugin = _build_builtin(where, entry["plugin"], params, base, roots)
        if stream is not None:
            self._stream[id(plugin)] = (plugin, stream)
        return plugin

    def _build_vst3(
        self,
        where: str,
        entry: dict[str, Any],
        params: dict[str, Any],
        base: Path,
        roots: Iterable[str | os.PathLike[str]] | None,
    ) -> pedalboard.Plugin:
        raw = entry["vst3"]
        if not isinstance(raw, str) or not raw:
            raise ChainError(f"{where}: vst3 must be a path to a .vst3 plugin")
        path = (base / raw) if not os.path.isabs(raw) else Path(raw)
        if not _is_within(path, roots):
            raise ChainError(f"{where}: {raw!r} is outside the allowed roots")
        if not path.exists():
            raise ChainError(f"{where}: VST3 plugin {raw!r} not found")
        name = entry.get("plugin_name")
        try:
            plugin = pedalboard.load_plugin(str(path), plugin_name=name)
        except (ImportError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[-1].strip()
            raise ChainError(f"{where}: cannot load VST3 {raw!r} ({first})") from exc
        valid = _vst3_params(plugin)
        for key, value in params.items():
            if key not in valid:
                raise ChainError(
                    f"{where}: unknown parameter {key!r} for {raw}; valid: {', '.join(valid)}"
                )
            try:
                setattr(plugin, key, value)
            except (ValueError, TypeError) as exc:
                raise ChainError(f"{where}: bad value {value!r} for {key} ({exc})") from exc
        self._vst3[id(plugin)] = (plugin, str(path), name)
        return plugin

    # ------------------------------------------------------------- describing
    def boards(self) -> dict[str, pedalboard.Pedalboard]:
        return {s: getattr(self, s) for s in SECTIONS}

    def is_empty(self) -> bool:
        return all(len(b) == 0 for b in self.boards().values())

    def _entry(self, plugin: pedalboard.Plugin) -> dict[str, Any]:
        if id(plugin) in self._vst3:
            _, path, name = self._vst3[id(plugin)]
            entry: dict[str, Any] = {"vst3": path}
            if name:
                entry["plugin_name"] = name
            entry["params"] = {k: _plain(getattr(plugin, k)) for k in _vst3_params(plugin)}
        else:
            entry = {"plugin": type(plugin).__name__}
            entry["params"] = {k: _plain(getattr(plugin, k)) for k in self._params_of(plugin)}
            ir = getattr(plugin, "impulse_response_filename", None)
            if isinstance(ir, str):
                entry["params"]["impulse_response_filename"] = ir
        if id(plugin) in self._stream:
            entry["stream"] = self._stream[id(plugin)][1]
        return entry

    def to_dict(self) -> dict[str, Any]:
        """The chain as JSON-ready data with every parameter's current value (``from_json``
        of it rebuilds an equal chain)."""
        with self._lock:
            return {s: [self._entry(p) for p in b] for s, b in self.boards().items()}

    def file_paths(self) -> list[Path]:
        """Files the chain's plugins read (VST3 bundles, impulse responses)."""
        out = [Path(p) for _, p, _ in self._vst3.values()]
        for board in self.boards().values():
            for plugin in board:
                ir = getattr(plugin, "impulse_response_filename", None)
                if isinstance(ir, str) and ir:
                    out.append(Path(ir))
        return out

    # ------------------------------------------------------------- parameters
    def param_names(self) -> list[str]:
        """Every settable parameter as ``section/index/name``."""
        with self._lock:
            out = []
            for section, board in self.boards().items():
                for i, plugin in enumerate(board):
                    out += [f"{section}/{i}/{k}" for k in self._params_of(plugin)]
            return out

    def _params_of(self, plugin: pedalboard.Plugin) -> list[str]:
        if id(plugin) in self._vst3:
            return _vst3_params(plugin)
        return [
            p for p in builtin_params(type(plugin).__name__) if p != "impulse_response_filename"
        ]

    def _resolve(self, name: str) -> tuple[pedalboard.Plugin, str, str]:
        parts = name.split("/")
        if len(parts) != 3 or parts[0] not in SECTIONS:
            raise ChainError(
                f"parameter {name!r}: expected section/index/name with section one of "
                f"{', '.join(SECTIONS)} (e.g. output_chain/0/threshold_db)"
            )
        section, index, param = parts
        board = getattr(self, section)
        if not index.isdigit() or int(index) >= len(board):
            raise ChainError(
                f"parameter {name!r}: {section} has {len(board)} plugin(s); "
                f"valid indices: 0..{len(board) - 1}"
                if len(board)
                else f"parameter {name!r}: {section} is empty"
            )
        plugin = board[int(index)]
        valid = self._params_of(plugin)
        if param not in valid:
            raise ChainError(
                f"parameter {name!r}: {type(plugin).__name__} has no {param!r}; "
                f"valid: {', '.join(valid) or '(none)'}"
            )
        return plugin, param, f"{section}/{index} ({type(plugin).__name__})"

    def set_param(self, name: str, value: float | str) -> None:
        """Set ``section/index/name`` (e.g. ``output_chain/0/threshold_db``) to ``value``
        (a number; enum parameters also take their name, e.g. ``"LPF24"``)."""
        with self._lock:
            plugin, param, where = self._resolve(name)
            _check_value(where, param, value)
            try:
                setattr(plugin, param, _coerce(plugin, param, value))
            except (ValueError, TypeError) as exc:
                raise ChainError(f"{where}: bad value {value!r} for {param} ({exc})") from exc

    def get_param(self, name: str) -> float:
        """The current value of ``section/index/name`` as a float (enums: their index)."""
        with self._lock:
            plugin, param, _ = self._resolve(name)
            value = getattr(plugin, param)
            return float(int(value) if _is_enum(value) else value)

    # -------------------------------------------------------------- streaming
    def stream(self, section: str, sample_rate: float, channels: int, total: int) -> SectionStream:
        """A :class:`SectionStream` running ``section`` over a stream of ``total`` samples."""
        if section not in SECTIONS:
            raise ChainError(f"unknown section {section!r}; valid: {', '.join(SECTIONS)}")
        board = getattr(self, section)
        stages: list[_Stage] = []
        run: list[pedalboard.Plugin] = []
        for plugin in board:
            if self._streams(plugin):
                run.append(plugin)
                continue
            if run:
                stages.append(_Streamed(pedalboard.Pedalboard(run), sample_rate, channels, total))
                run = []
            stages.append(_Windowed(plugin, sample_rate, channels, total))
        if run:
            stages.append(_Streamed(pedalboard.Pedalboard(run), sample_rate, channels, total))
        return SectionStream(stages, channels)

    def _streams(self, plugin: pedalboard.Plugin) -> bool:
        if id(plugin) in self._stream:
            return self._stream[id(plugin)][1]
        if id(plugin) in self._vst3:
            return int(getattr(plugin, "reported_latency_samples", 0) or 0) == 0
        return type(plugin).__name__ not in NOT_STREAMABLE


def _coerce(plugin: Any, param: str, value: Any) -> Any:
    """Enum parameters accept a member name or index; others pass through."""
    current = getattr(plugin, param, None)
    if current is not None and _is_enum(current):
        members = type(current).__members__
        if isinstance(value, str):
            if value not in members:
                raise ValueError(f"valid: {', '.join(members)}")
            return members[value]
        if isinstance(value, int | float) and float(value).is_integer():
            for member in members.values():
                if int(member) == int(value):
                    return member
        raise ValueError(f"valid: {', '.join(members)}")
    return value


def _build_builtin(
    where: str,
    name: Any,
    params: dict[str, Any],
    base: Path,
    roots: Iterable[str | os.PathLike[str]] | None,
) -> pedalboard.Plugin:
    plugins = builtin_plugins()
    if not isinstance(name, str) or name not in plugins:
        raise ChainError(
            f"{where}: unknown plugin {name!r}; valid: {', '.join(sorted(plugins))} "
            "(or a VST3 as {'vst3': PATH})"
        )
    cls = plugins[name]
    valid = builtin_params(name)
    for key in params:
        if key not in valid:
            raise ChainError(
                f"{where}: unknown parameter {key!r} for {name}; valid: {', '.join(valid)}"
            )
    ctor: dict[str, Any] = {}
    if "impulse_response_filename" in valid:  # Convolution reads a file at construction
        raw = params.get("impulse_response_filename")
        if not isinstance(raw, str) or not raw:
            raise ChainError(f"{where}: {name} needs impulse_response_filename (a path)")
        path = (base / raw) if not os.path.isabs(raw) else Path(raw)
        if not _is_within(path, roots):
            raise ChainError(f"{where}: {raw!r} is outside the allowed roots")
        if not path.is_file():
            raise ChainError(f"{where}: impulse response {raw!r} not found")
        ctor["impulse_response_filename"] = str(path)
    try:
        plugin = cls(**ctor)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ChainError(f"{where}: cannot create {name} ({_first_line(exc)})") from exc
    for key, value in params.items():  # the setters check types and ranges
        if key in ctor:
            continue
        try:
            setattr(plugin, key, _coerce(plugin, key, value))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ChainError(
                f"{where}: bad value {value!r} for {name}.{key} ({_first_line(exc)})"
            ) from exc
    return plugin


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------ streaming stages
class _Stage:
    """A piece of a section: float32 [C, n] blocks in, blocks out; ``finish`` returns the
    rest so that exactly ``total`` samples come out in all."""

    def process(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def finish(self) -> np.ndarray:
        raise NotImplementedError


class _Streamed(_Stage):
    """Latency-free plugins run continuously: ``reset=True`` on the first block only, so
    reverb tails and compressor envelopes carry across blocks.

    pedalboard prepares plugins for the largest block seen so far and re-prepares (which
    clears their state) when a bigger one arrives, so the board is primed once with a
    full ``_BLOCK`` of silence; later calls are split into blocks no bigger than that.
    """

    def __init__(self, board: pedalboard.Pedalboard, sr: float, channels: int, total: int):
        self.board, self.sr, self.channels, self.total = board, sr, channels, total
        board(np.zeros((channels, _BLOCK), np.float32), sr, buffer_size=_BLOCK, reset=True)
        self._first = True
        self._pending = np.zeros((channels, 0), np.float32)
        self._out = 0

    def _run(self, x: np.ndarray) -> np.ndarray:
        y = self.board(x, self.sr, buffer_size=_BLOCK, reset=self._first)
        self._first = False
        y = np.asarray(y, np.float32).reshape(self.channels, -1)
        y = y[:, : max(0, self.total - self._out)]
        self._out += y.shape[1]
        return y

    def process(self, x: np.ndarray) -> np.ndarray:
        if self._pending.shape[1]:
            x = np.concatenate([self._pending, x], axis=1)
        if x.shape[1] < _MIN_BLOCK:
            self._pending = x
            return np.zeros((self.channels, 0), np.float32)
        self._pending = np.zeros((self.channels, 0), np.float32)
        return self._run(x)

    def finish(self) -> np.ndarray:
        parts = []
        x = self._pending
        flush = 0
        while self._out < self.total:
            block = np.zeros((self.channels, max(_MIN_BLOCK, _BLOCK - x.shape[1])), np.float32)
            x = np.concatenate([x, block], axis=1)
            parts.append(self._run(x))
            x = np.zeros((self.channels, 0), np.float32)
            flush += 1
            if flush > 64 and self._out < self.total:  # a plugin that never catches up
                parts.append(np.zeros((self.channels, self.total - self._out), np.float32))
                self._out = self.total
        self._pending = np.zeros((self.channels, 0), np.float32)
        return np.concatenate(parts, axis=1) if parts else self._pending


class _Windowed(_Stage):
    """A plugin that cannot stream (internal latency) runs on overlapping windows, each from
    a fresh state (``reset=True``, so pedalboard compensates its latency) after a pre-roll of
    the preceding audio; neighbouring windows are crossfaded (raised cosine, ``_FADE``)."""

    def __init__(self, plugin: pedalboard.Plugin, sr: float, channels: int, total: int):
        self.plugin, self.sr, self.channels, self.total = plugin, sr, channels, total
        self._buf = SampleBuffer(channels, total)
        self._k = 0
        self._tail = np.zeros((channels, 0), np.float32)
        i = np.arange(_FADE, dtype=np.float32)
        self._ramp = (0.5 - 0.5 * np.cos(np.pi * (i + 0.5) / _FADE)).astype(np.float32)

    def _window(self) -> np.ndarray:
        k = self._k
        w0 = max(0, k * _WINDOW - _FADE)
        w1 = min(self.total, (k + 1) * _WINDOW)
        src0 = max(0, w0 - _PREROLL)
        x = np.empty((self.channels, max(w1 - src0, _MIN_BLOCK)), np.float32)
        self._buf.read_into(x, src0)  # zeros past the end pad a short last window
        y = np.asarray(self.plugin(x, self.sr, reset=True), np.float32)
        y = y.reshape(self.channels, -1)[:, w0 - src0 : w1 - src0]
        if self._tail.shape[1]:
            n = self._tail.shape[1]
            y[:, :n] = self._tail * (1.0 - self._ramp[:n]) + y[:, :n] * self._ramp[:n]
        last = w1 >= self.total
        keep = y.shape[1] if last else y.shape[1] - _FADE
        self._tail = y[:, keep:].copy()
        self._k += 1
        self._buf.drop_before(max(0, w1 - _FADE - _PREROLL))
        return y[:, :keep]

    def _ready(self) -> bool:
        return self._k * _WINDOW < self.total and self._buf.end >= min(
            self.total, (self._k + 1) * _WINDOW
        )

    def process(self, x: np.ndarray) -> np.ndarray:
        self._buf.append(x)
        parts = []
        while self._ready():
            parts.append(self._window())
        return np.concatenate(parts, axis=1) if parts else np.zeros((self.channels, 0), np.float32)

    def finish(self) -> np.ndarray:
        if self._buf.end < self.total:  # the stream ended early: the rest is silence
            self._buf.append(np.zeros((self.channels, self.total - self._buf.end), np.float32))
        return self.process(np.zeros((self.channels, 0), np.float32))


class SectionStream:
    """One chain section over a stream: ``process(block)`` returns what is ready (its length
    may differ from the block's), ``finish()`` the rest; ``total`` samples come out in all.

    Plugins run in consecutive groups: latency-free ones continuously (``reset=False``
    across blocks, so state such as reverb tails carries over); plugins that buffer
    internally (:data:`NOT_STREAMABLE`, a VST3 reporting latency, or ``"stream": false``)
    in overlapping windows crossfaded into each other.
    """

    def __init__(self, stages: list[_Stage], channels: int) -> None:
        self.stages, self.channels = stages, channels

    @property
    def empty(self) -> bool:
        return not self.stages

    def process(self, x: np.ndarray) -> np.ndarray:
        for stage in self.stages:
            x = stage.process(x)
        return x

    def finish(self) -> np.ndarray:
        y = np.zeros((self.channels, 0), np.float32)
        for stage in self.stages:
            head = stage.process(y) if y.shape[1] else y
            y = np.concatenate([head, stage.finish()], axis=1)
        return y
