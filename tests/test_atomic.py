"""plugin_host/atomic.py: the one atomic writer (O_TMPFILE and its named fallback)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plugin_host import atomic


def _umask() -> int:
    # read in a child: changing the umask here would touch the test process's state
    out = subprocess.run(
        [sys.executable, "-c", "import os; m = os.umask(0); print(m)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


@pytest.mark.parametrize("use_tmpfile", [True, False])
def test_commit_makes_whole_file_with_umask_mode(tmp_path: Path, use_tmpfile: bool) -> None:
    dest = tmp_path / "out.json"
    af = atomic.AtomicFile(dest, use_tmpfile=use_tmpfile)
    af.file.write(b"{}\n")
    assert not dest.exists()  # nothing at the destination before commit
    af.commit()
    assert dest.read_bytes() == b"{}\n"
    assert (dest.stat().st_mode & 0o777) == (0o666 & ~_umask())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


@pytest.mark.parametrize("use_tmpfile", [True, False])
def test_exception_leaves_nothing(tmp_path: Path, use_tmpfile: bool) -> None:
    dest = tmp_path / "a.wav"
    with pytest.raises(RuntimeError), atomic.AtomicFile(dest, use_tmpfile=use_tmpfile) as af:
        af.file.write(b"half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("use_tmpfile", [True, False])
def test_no_overwrite_keeps_existing(tmp_path: Path, use_tmpfile: bool) -> None:
    dest = tmp_path / "keep.txt"
    dest.write_text("original")
    af = atomic.AtomicFile(dest, overwrite=False, use_tmpfile=use_tmpfile)
    af.file.write(b"new")
    with pytest.raises(FileExistsError):
        af.commit()
    assert dest.read_text() == "original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_overwrite_replaces(tmp_path: Path) -> None:
    dest = tmp_path / "x.txt"
    dest.write_text("old")
    atomic.write_text(dest, "new")
    assert dest.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


@pytest.mark.parametrize("use_tmpfile", [True, False])
def test_replaced_file_is_let_go_of_off_the_callers_path(tmp_path: Path, use_tmpfile: bool) -> None:
    """Overwriting hands the old file to a closer thread: the new content is in place when
    commit returns, and once that thread ends this process holds no handle on the old file
    (its blocks are free). A new destination has nothing to release."""
    dest = tmp_path / "x.bin"
    dest.write_bytes(b"old" * 1000)
    old_inode = dest.stat().st_ino
    af = atomic.AtomicFile(dest, use_tmpfile=use_tmpfile)
    af.file.write(b"new")
    af.commit()
    assert dest.read_bytes() == b"new"
    assert af.released is not None
    af.released.join(timeout=10)
    assert not af.released.is_alive()
    inodes = set()  # of every file this process holds (a held, unlinked file still shows)
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own fd is gone by now
            inodes.add(os.stat(f"/proc/self/fd/{fd}").st_ino)
    assert old_inode not in inodes
    fresh = atomic.AtomicFile(tmp_path / "new.bin", use_tmpfile=use_tmpfile)
    fresh.file.write(b"x")
    fresh.commit()
    assert fresh.released is None


def test_write_json_refuses_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        atomic.write_json(tmp_path / "r.json", {"x": float("nan")})
    assert list(tmp_path.iterdir()) == []


_WRITER = """
import sys, time
from plugin_host import atomic
af = atomic.AtomicFile(sys.argv[1], use_tmpfile=sys.argv[2] == "1")
print("open", flush=True)
while True:
    af.file.write(b"x" * 65536)
    time.sleep(0.001)
"""


@pytest.mark.parametrize("use_tmpfile", [True, False])
def test_sigkill_mid_write(tmp_path: Path, use_tmpfile: bool) -> None:
    dest = tmp_path / "big.wav"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(dest), "1" if use_tmpfile else "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    left = [p.name for p in tmp_path.iterdir()]
    assert not dest.exists()
    if use_tmpfile:
        assert left == []  # an unnamed file: the kernel drops it with the process
    else:
        assert len(left) == 1 and left[0].endswith(".partial.wav")  # the fallback's name...
        assert atomic.remove_stale_partials(dest)  # ...is cleared at the next start
        assert list(tmp_path.iterdir()) == []


def test_stale_partials_of_live_process_are_kept(tmp_path: Path) -> None:
    dest = tmp_path / "o.wav"
    live = tmp_path / f".o.wav.{os.getpid()}.0123abcd.partial.wav"
    live.write_bytes(b"")
    other = tmp_path / ".p.wav.999999999.0123abcd.partial.wav"  # another output's
    other.write_bytes(b"")
    assert atomic.remove_stale_partials(dest) == []
    assert live.exists() and other.exists()


def test_early_syncs_show_nothing_and_keep_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streamed audio file synced as it goes (a render's writer thread): every
    SYNC_EVERY_SAMPLES an fdatasync, nothing at the destination before the commit, and the
    committed file holds exactly what was written."""
    import numpy as np
    from pedalboard.io import AudioFile

    from plugin_host import audio_writer

    synced: list[int] = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (synced.append(fd), real(fd))[1])
    dest = tmp_path / "out.wav"
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3_000_000)).astype(np.float32)
    w = audio_writer.AtomicAudioWriter(dest, 44100, 2, x.shape[1], 44100, x.shape[1],
                                       sync_early=True)  # fmt: skip
    for s in range(0, x.shape[1], 1 << 18):
        w.write(x[:, s : s + (1 << 18)])
    w.finish()
    assert len(synced) == x.size // audio_writer.SYNC_EVERY_SAMPLES  # 6 M samples: 11
    assert not dest.exists()
    w.commit()
    with AudioFile(str(dest)) as f:
        np.testing.assert_array_equal(f.read(f.frames), x)
