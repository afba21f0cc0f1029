"""One chain entry -> one pedalboard plugin: the built-in catalogue, parameter names and
types, and the checks that turn a bad entry into a one-line :class:`ChainError`.

Parameter values are checked against the type of the plugin's current value before they
reach pedalboard (whose own type errors are pybind11's multi-line "incompatible function
arguments" text): numbers take JSON numbers, booleans ``true``/``false`` (or 0/1),
enums a member name or index, strings a string.
"""

from __future__ import annotations

import inspect
import math
import os
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pedalboard

from plugin_host.paths import AllowedRoots, PathRefused

_NOT_PLUGINS = frozenset(
    {"Pedalboard", "Chain", "Mix", "Plugin", "PluginContainer", "ExternalPlugin", "VST3Plugin",
     "AudioUnitPlugin", "IIRFilter"}
)  # fmt: skip
_NOT_PARAMS = frozenset({"is_effect", "is_instrument", "impulse_response"})


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


def vst3_params(plugin: Any) -> list[str]:
    """Parameter names of a loaded VST3 (pedalboard's Python-identifier spelling)."""
    return sorted(plugin.parameters)


def is_enum(value: Any) -> bool:
    """True for a pybind11 enum member (e.g. ``LadderFilter.Mode.LPF12``)."""
    return hasattr(type(value), "__members__") and not isinstance(value, int | float | str)


def plain(value: Any) -> Any:
    """A parameter value as JSON: enums by name, numpy/pybind floats as float."""
    if is_enum(value):
        return str(value.name)
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float | np.floating):
        return float(f"{float(value):.7g}")  # plugins store float32: drop the noise digits
    if isinstance(value, int | np.integer):
        return int(value)
    return str(value)


def check_value(where: str, name: str, value: Any) -> None:
    """Refuse what no parameter takes: null, NaN/Inf, lists and objects."""
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


def param_value(plugin: Any, param: str, value: Any) -> Any:
    """``value`` made ready for ``setattr(plugin, param, ...)``, by the type of the current
    value: enums take a member name or index (``ValueError`` listing the valid names);
    booleans ``True``/``False`` or 0/1; numbers int/float (not bool); strings str. A value of
    the wrong type raises ``TypeError("expected a number, got 'loud'")``."""
    current = getattr(plugin, param, None)
    if current is None:
        return value
    if is_enum(current):
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
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(current, bool | np.bool_):
        if isinstance(value, bool) or (number and value in (0, 1)):
            return bool(value)
        raise TypeError(f"expected true or false, got {value!r}")
    if isinstance(current, int | float | np.number):
        if number:
            return value
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(current, str) and not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def set_checked(where: str, plugin: Any, param: str, value: Any, *, typed: bool = True) -> None:
    """``setattr`` with every failure as one ChainError: a wrong type (``where: Gain.gain_db:
    expected a number, got 'loud'``) or a value the plugin refuses (``where: bad value 99
    for Delay.delay_seconds (...)``). ``typed=False`` (VST3s, which parse their own values,
    numbers or text such as "50%") skips the type check."""
    label = f"{type(plugin).__name__}.{param}"
    try:
        ready = param_value(plugin, param, value) if typed else value
    except TypeError as exc:
        raise ChainError(f"{where}: {label}: {exc}") from None
    except ValueError as exc:
        raise ChainError(f"{where}: bad value {value!r} for {label} ({exc})") from exc
    try:
        setattr(plugin, param, ready)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ChainError(f"{where}: bad value {value!r} for {label} ({first_line(exc)})") from exc


def plugin_file(where: str, raw: Any, base: Path, roots: AllowedRoots | None, what: str) -> Path:
    """A file named in a chain entry (VST3 bundle, impulse response): relative to ``base``
    (the chain file's folder); with ``roots``, it must resolve inside them."""
    if not isinstance(raw, str) or not raw:
        raise ChainError(f"{where}: {what} must be a path")
    path = base / raw
    if roots is not None:
        try:
            roots.resolve(os.path.abspath(path), what)
        except PathRefused as exc:
            raise ChainError(f"{where}: {exc}") from None
    return path


def build_builtin(
    where: str, name: Any, params: dict[str, Any], base: Path, roots: AllowedRoots | None
) -> pedalboard.Plugin:
    """A built-in plugin by class name with ``params`` set (each checked)."""
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
        path = plugin_file(where, raw, base, roots, "impulse_response_filename")
        if not path.is_file():
            raise ChainError(f"{where}: impulse response {raw!r} not found")
        ctor["impulse_response_filename"] = str(path)
    try:
        plugin = cls(**ctor)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ChainError(f"{where}: cannot create {name} ({first_line(exc)})") from exc
    for key, value in params.items():  # types checked here, ranges by the setters
        if key not in ctor:
            set_checked(where, plugin, key, value)
    return plugin


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (pedalboard's can run to several)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
