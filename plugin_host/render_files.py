"""The files of one render: checking where they go, and writing them all or none.

:func:`probe_inputs` and :func:`check_outputs` check every path of a render (as
:class:`RenderPaths`) before anything is read or written; :func:`output_path` checks one
file to create (inside the
allowed roots, not an input or another output, no existing file without ``overwrite``, a
folder that exists or can be created). :class:`RenderOutputs` holds what a render writes
(the audio stream, then the report JSON and plot PNG), each in a
:class:`plugin_host.atomic.AtomicFile`; :meth:`RenderOutputs.commit` links them into place
together at the end, and :meth:`RenderOutputs.discard` drops them all, so a failure, a
cancel or a kill leaves no file (and no folder the render created).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from plugin_host.atomic import AtomicFile
from plugin_host.audio_io import AudioInfo, check_output_format, probe
from plugin_host.audio_writer import AtomicAudioWriter
from plugin_host.chain import Chain
from plugin_host.paths import AllowedRoots, PathRefused
from plugin_host.runtime import LoadedModel

PathLike = str | os.PathLike[str]


class RenderPathError(ValueError):
    """A path a render cannot use: outside the allowed roots, or an output that cannot be
    written (one-line message naming it)."""


def sidecar_path(output: str | os.PathLike[str], suffix: str) -> Path:
    """Where a render's report (``.json``) or plot (``.png``) goes by default: the whole
    output file name plus ``suffix`` (``out.wav.json``), so renders of one name in several
    formats sit side by side."""
    return Path(f"{os.fspath(output)}{suffix}")


def check_root(path: str | os.PathLike[str], what: str, roots: AllowedRoots | None) -> None:
    """Raise :class:`RenderPathError` if ``roots`` is given and ``path`` resolves outside."""
    if roots is not None:
        try:
            roots.check(path, what)
        except PathRefused as exc:
            raise RenderPathError(str(exc)) from None


def _missing_folders(folder: Path, what: str, path: Path) -> list[Path]:
    """The folders to create, outermost first, so that ``folder`` exists (checked: the
    nearest existing ancestor is a writable folder)."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        raise RenderPathError(f"{what} {path}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RenderPathError(f"{what} {path}: folder {probe} is not writable")
    return missing[::-1]


def output_path(
    raw: str | os.PathLike[str],
    what: str,
    *,
    overwrite: bool,
    taken: dict[Path, str],
    roots: AllowedRoots | None,
) -> tuple[Path, list[Path]]:
    """Check a file to create; returns it and the missing folders to create for it
    (outermost first). ``taken`` maps real paths already in use to their role (updated)."""
    path = Path(raw)
    check_root(path, what, roots)
    real = Path(os.path.realpath(path))
    if real in taken:
        raise RenderPathError(
            f"{what} {path}: same file as the {taken[real]}; refusing to overwrite it"
        )
    missing = _missing_folders(path.parent, what, path)
    if path.is_dir():
        raise RenderPathError(f"{what} {path}: is a directory")
    if path.exists() and not overwrite:
        raise RenderPathError(f"{what} {path}: exists (pass overwrite / --overwrite to replace it)")
    taken[real] = what
    return path, missing


class RenderOutputs:
    """Everything one render writes, committed together (audio, then plot, then report).

    ``folders``: missing folders to create (outermost first), made by :meth:`open_audio`
    and removed again by :meth:`discard` when still empty.
    """

    def __init__(self, overwrite: bool, folders: list[Path]) -> None:
        self.overwrite = overwrite
        self.folders = list(dict.fromkeys(folders))
        self.created: list[Path] = []
        self.audio: AtomicAudioWriter | None = None
        self.extra: list[AtomicFile] = []

    def open_audio(self, path: Path, **kwargs: Any) -> AtomicAudioWriter:
        """Create the missing folders and open the audio writer (kwargs as
        :class:`AtomicAudioWriter`)."""
        for folder in self.folders:
            if not folder.exists():
                folder.mkdir()
                self.created.append(folder)
        self.audio = AtomicAudioWriter(path, overwrite=self.overwrite, **kwargs)
        return self.audio

    def add(self, path: Path, write: Callable[[IO[bytes]], None]) -> None:
        """Write a whole file now (``write(file)``); it appears at :meth:`commit`."""
        af = AtomicFile(path, overwrite=self.overwrite)
        self.extra.append(af)
        write(af.file)

    def add_json(self, path: Path, data: dict[str, Any]) -> None:
        """Indented JSON (NaN refused) plus a newline."""
        text = json.dumps(data, indent=2, allow_nan=False) + "\n"

        def write(f: IO[bytes]) -> None:
            f.write(text.encode("utf-8"))

        self.add(path, write)

    def commit(self) -> None:
        """Link every file into place (audio first). If one fails (e.g. a file appeared at
        a destination meanwhile and ``overwrite`` is off), those already linked by this
        render are removed and the rest dropped."""
        done: list[Path] = []
        files: list[AtomicAudioWriter | AtomicFile] = [self.audio] if self.audio else []
        try:
            for f in [*files, *self.extra]:
                try:
                    done.append(f.commit())
                except FileExistsError:
                    raise RenderPathError(
                        f"{f.path}: created by someone else during the render; pass "
                        "overwrite / --overwrite to replace it"
                    ) from None
        except BaseException:
            for path in done:
                path.unlink(missing_ok=True)
            self.discard()
            raise

    def discard(self) -> None:
        """Drop every file not yet committed and remove the folders this render created
        (when empty)."""
        if self.audio is not None:
            self.audio.discard()
        for af in self.extra:
            af.discard()
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty: someone else wrote there meanwhile
                folder.rmdir()
        self.created.clear()


@dataclass(frozen=True)
class RenderPaths:
    """Checked destinations (None: not written) and the folders to create for them."""

    output: Path
    report: Path | None
    plot: Path | None
    folders: list[Path]


def probe_inputs(
    input_path: PathLike, target_path: PathLike, roots: AllowedRoots | None
) -> tuple[AudioInfo, AudioInfo]:
    """Both sources, checked against the roots and probed (AudioFileError if unreadable)."""
    check_root(input_path, "input", roots)
    check_root(target_path, "target", roots)
    return probe(input_path), probe(target_path)


def check_outputs(
    info_in: AudioInfo,
    info_tg: AudioInfo,
    model: PathLike | LoadedModel,
    chain: Chain | PathLike | dict[str, Any] | None,
    out: PathLike,
    report: PathLike | None,
    plot: PathLike | None,
    overwrite: bool,
    roots: AllowedRoots | None,
) -> RenderPaths:
    """Every destination of a render checked against the roots, the inputs and each other."""
    taken = {
        Path(os.path.realpath(i.path)): w for w, i in (("input", info_in), ("target", info_tg))
    }
    if not isinstance(model, LoadedModel):
        check_root(model, "model", roots)
    model_file = model.path if isinstance(model, LoadedModel) else Path(model)
    taken.setdefault(Path(os.path.realpath(model_file)), "model")
    if chain is not None and not isinstance(chain, Chain | dict):
        taken.setdefault(Path(os.path.realpath(chain)), "chain")
    folders: list[Path] = []
    checked: dict[str, Path | None] = {}
    for what, raw in (("output", out), ("report", report), ("plot", plot)):
        if raw is None:
            checked[what] = None
            continue
        path, missing = output_path(raw, what, overwrite=overwrite, taken=taken, roots=roots)
        checked[what], folders = path, folders + missing
    out_path = checked["output"]
    assert out_path is not None
    check_output_format(out_path)
    png = checked["plot"]
    if png is not None and png.suffix.lower() != ".png":
        raise RenderPathError(f"plot {png}: must end in .png")
    return RenderPaths(out_path, checked["report"], png, folders)
