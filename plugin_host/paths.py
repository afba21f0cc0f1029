"""Allowed roots: the one path policy of the host (render, chains, the OSC server).

A path is resolved with ``os.path.realpath`` (symlinks followed, ``..`` collapsed) and
must then lie inside one of the roots (themselves realpath'd once).

- :meth:`AllowedRoots.contains` and :meth:`AllowedRoots.check` take local paths (the
  Python API, the command line): relative paths are relative to the working directory.
- :meth:`AllowedRoots.resolve` and the methods built on it take paths that arrive over the
  network: relative paths are taken relative to the first root, never to the server's
  working directory; ``~`` is not expanded (a leading ``~`` is refused so nobody thinks it
  was).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

MAX_PATH_BYTES = 4096


class PathRefused(ValueError):
    """A path outside the allowed roots, or one that is not usable (one-line message)."""


class AllowedRoots:
    """The directories a network client may read from and write into."""

    def __init__(self, roots: Iterable[str | os.PathLike[str]]) -> None:
        resolved: list[Path] = []
        for r in roots:
            p = Path(os.path.realpath(os.fspath(r)))
            if not p.is_dir():
                raise PathRefused(f"root {os.fspath(r)!r} is not a directory")
            if p not in resolved:
                resolved.append(p)
        if not resolved:
            raise PathRefused("no allowed root directory given")
        self.roots: tuple[Path, ...] = tuple(resolved)

    def __repr__(self) -> str:
        return f"AllowedRoots({[str(r) for r in self.roots]})"

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """True if ``path``, resolved (symlinks followed; relative to the working
        directory), is one of the roots or below one."""
        p = Path(os.path.realpath(os.fspath(path)))
        return any(p == r or p.is_relative_to(r) for r in self.roots)

    def check(self, path: str | os.PathLike[str], what: str) -> Path:
        """``path`` resolved (as :meth:`contains`) if it lies inside a root, else
        :class:`PathRefused` ``"{what} {path}: outside the allowed roots"``."""
        real = Path(os.path.realpath(os.fspath(path)))
        if not any(real == r or real.is_relative_to(r) for r in self.roots):
            raise PathRefused(f"{what} {os.fspath(path)}: outside the allowed roots")
        return real

    def resolve(self, raw: str, what: str) -> Path:
        """``raw`` -> its real absolute path, checked to lie inside a root.

        what: the argument's name for the message (e.g. ``input``).
        """
        if not raw:
            raise PathRefused(f"{what}: empty path")
        if len(raw.encode("utf-8", errors="replace")) > MAX_PATH_BYTES:
            raise PathRefused(f"{what}: path longer than {MAX_PATH_BYTES} bytes")
        if "\0" in raw or any(ord(c) < 0x20 for c in raw):
            raise PathRefused(f"{what}: path has control characters")
        if raw.startswith("~"):
            raise PathRefused(f"{what}: '~' is not expanded; give a path inside a root")
        joined = raw if os.path.isabs(raw) else os.path.join(self.roots[0], raw)
        real = Path(os.path.realpath(joined))
        if not self.contains(real):
            raise PathRefused(f"{what}: {raw!r} resolves outside the allowed roots")
        return real

    def existing_file(self, raw: str, what: str) -> Path:
        """A readable regular file inside a root."""
        p = self.resolve(raw, what)
        if not _stat_ok(p, raw, what, Path.is_file):
            raise PathRefused(f"{what}: {raw!r} is not an existing file")
        return p

    def output_file(
        self, raw: str, what: str, *, overwrite: bool, inputs: Sequence[Path] = ()
    ) -> Path:
        """A file to create inside a root: its folder must exist; it must not be one of
        ``inputs``; an existing file is refused unless ``overwrite``."""
        p = self.resolve(raw, what)
        if not _stat_ok(p.parent, raw, what, Path.is_dir):
            raise PathRefused(f"{what}: folder of {raw!r} does not exist")
        if _stat_ok(p, raw, what, Path.is_dir):
            raise PathRefused(f"{what}: {raw!r} is a directory")
        if any(p == i for i in inputs):
            raise PathRefused(f"{what}: {raw!r} is one of the inputs; refusing to overwrite it")
        if _stat_ok(p, raw, what, Path.exists) and not overwrite:
            raise PathRefused(f"{what}: {raw!r} exists (send overwrite=1 to replace it)")
        return p


def _stat_ok(p: Path, raw: str, what: str, test: Callable[[Path], bool]) -> bool:
    """``test(p)`` (is_file, is_dir, exists) with OS errors such as a too-long name
    turned into a one-line PathRefused."""
    try:
        return test(p)
    except OSError as exc:
        raise PathRefused(f"{what}: {raw[:80]!r}: {exc.strerror or exc}") from None
