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
Unknown names and values of the wrong type get a :class:`ChainError` saying what is valid.

This module holds the :class:`Chain` (parsing, describing, parameters by path);
:mod:`plugin_host.chain_plugins` builds and checks single plugins and
:mod:`plugin_host.chain_stream` runs a section over a stream.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pedalboard

from plugin_host.chain_plugins import (
    ChainError,
    build_builtin,
    builtin_params,
    builtin_plugins,
    check_value,
    is_enum,
    plain,
    plugin_file,
    set_checked,
    vst3_params,
)
from plugin_host.chain_stream import NOT_STREAMABLE, SectionStream, section_stream
from plugin_host.paths import AllowedRoots, PathRefused

__all__ = [
    "ENTRY_KEYS",
    "NOT_STREAMABLE",
    "SECTIONS",
    "Chain",
    "ChainError",
    "SectionStream",
    "builtin_params",
    "builtin_plugins",
]

SECTIONS = ("input_chain", "target_chain", "output_chain")
ENTRY_KEYS = ("plugin", "vst3", "plugin_name", "params", "stream")


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
        allow_roots: AllowedRoots | None = None,
    ) -> Chain:
        """A chain from a JSON file path or an already parsed dict. Plugin files (VST3,
        impulse responses) are resolved relative to the file's folder (the working
        directory for a dict) and, with ``allow_roots``, must resolve inside them (as must
        the chain file)."""
        base = Path.cwd()
        origin: Path | None = None
        if isinstance(source, dict):
            data, label = source, "chain"
        else:
            origin = Path(source)
            label = str(origin)
            if allow_roots is not None:
                try:
                    allow_roots.resolve(os.path.abspath(origin), "chain")
                except PathRefused as exc:
                    raise ChainError(f"{label}: {exc}") from None
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
        roots: AllowedRoots | None,
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
            check_value(where, name, value)
        stream = entry.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise ChainError(f"{where}: stream must be true or false")
        if ("plugin" in entry) == ("vst3" in entry):
            raise ChainError(f"{where}: give exactly one of 'plugin' (a built-in) or 'vst3'")
        if "vst3" in entry:
            plugin = self._build_vst3(where, entry, params, base, roots)
        else:
            plugin = build_builtin(where, entry["plugin"], params, base, roots)
        if stream is not None:
            self._stream[id(plugin)] = (plugin, stream)
        return plugin

    def _build_vst3(
        self,
        where: str,
        entry: dict[str, Any],
        params: dict[str, Any],
        base: Path,
        roots: AllowedRoots | None,
    ) -> pedalboard.Plugin:
        raw = entry["vst3"]
        path = plugin_file(where, raw, base, roots, "vst3")
        if not path.exists():
            raise ChainError(f"{where}: VST3 plugin {raw!r} not found")
        name = entry.get("plugin_name")
        try:
            plugin = pedalboard.load_plugin(str(path), plugin_name=name)
        except (ImportError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[-1].strip()
            raise ChainError(f"{where}: cannot load VST3 {raw!r} ({first})") from exc
        valid = vst3_params(plugin)
        for key, value in params.items():
            if key not in valid:
                raise ChainError(
                    f"{where}: unknown parameter {key!r} for {raw}; valid: {', '.join(valid)}"
                )
            set_checked(where, plugin, key, value, typed=False)
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
            entry["params"] = {k: plain(getattr(plugin, k)) for k in vst3_params(plugin)}
        else:
            entry = {"plugin": type(plugin).__name__}
            entry["params"] = {k: plain(getattr(plugin, k)) for k in self._params_of(plugin)}
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
            return vst3_params(plugin)
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
        return plugin, param, f"{section}/{index}"

    def set_param(self, name: str, value: float | str) -> None:
        """Set ``section/index/name`` (e.g. ``output_chain/0/threshold_db``) to ``value``
        (a number; enum parameters also take their name, e.g. ``"LPF24"``)."""
        with self._lock:
            plugin, param, where = self._resolve(name)
            check_value(where, param, value)
            set_checked(where, plugin, param, value, typed=id(plugin) not in self._vst3)

    def get_param(self, name: str) -> float:
        """The current value of ``section/index/name`` as a float (enums: their index)."""
        with self._lock:
            plugin, param, _ = self._resolve(name)
            value = getattr(plugin, param)
            return float(int(value) if is_enum(value) else value)

    # -------------------------------------------------------------- streaming
    def stream(self, section: str, sample_rate: float, channels: int, total: int) -> SectionStream:
        """A :class:`SectionStream` running ``section`` over a stream of ``total`` samples."""
        if section not in SECTIONS:
            raise ChainError(f"unknown section {section!r}; valid: {', '.join(SECTIONS)}")
        board = getattr(self, section)
        return section_stream(board, self._streams, sample_rate, channels, total)

    def _streams(self, plugin: pedalboard.Plugin) -> bool:
        if id(plugin) in self._stream:
            return self._stream[id(plugin)][1]
        if id(plugin) in self._vst3:
            return int(getattr(plugin, "reported_latency_samples", 0) or 0) == 0
        return type(plugin).__name__ not in NOT_STREAMABLE
