"""``creative-agent render`` as a user meets it, in real subprocesses: a SIGKILL leaves
nothing, a closed pipe ends quietly, the progress bar on a terminal, log levels, report
names and flag conflicts."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pedalboard.io import AudioFile

from tests.helpers import chord, click_track

CLI = [sys.executable, "-m", "plugin_host.cli"]


def write(path: Path, x: np.ndarray, sr: int = 44100) -> Path:
    with AudioFile(str(path), "w", sr, x.shape[0], bit_depth=16) as f:
        f.write(np.ascontiguousarray(x, np.float32))
    return path


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=180)


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    write(tmp_path / "drums.wav", click_track(3.0))
    write(tmp_path / "keys.wav", chord(1.0))
    return tmp_path


def render_args(model: Path, out: str, *extra: str) -> list[str]:
    return ["render", "--input", "drums.wav", "--target", "keys.wav", "--model", str(model),
            "-o", out, *extra]  # fmt: skip


# ----------------------------------------------------------------- SIGKILL
@pytest.fixture(scope="module")
def long_pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 s of stereo drums over a 4 s chord: several seconds of rendering here."""
    folder = tmp_path_factory.mktemp("long")
    write(folder / "drums.wav", click_track(90.0))
    write(folder / "keys.wav", chord(4.0))
    return folder


def _kill_render(folder: Path, model: Path, out: Path, delay: float | None) -> int:
    """Start a render of ``folder``'s pair into ``out`` with report and plot; SIGKILL it
    after ``delay`` s, or (None) once its progress bar shows audio written. Returns the
    exit status (-9 when the kill landed)."""
    args = ["render", "--input", str(folder / "drums.wav"), "--target", str(folder / "keys.wav"),
            "--model", str(model), "-o", str(out / "mix.wav"), "--plot", "--progress"]  # fmt: skip
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = threading.Event()

    def watch() -> None:  # tqdm redraws with "\r": any "N.N/" with N > 0 means blocks went out
        assert proc.stderr is not None
        buf = b""
        while chunk := proc.stderr.read1(4096):
            buf = (buf + chunk)[-4096:]
            if any(p[:1].isdigit() and not p.startswith(b"0.0/") for p in buf.split(b"| ")[1:]):
                seen.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    if delay is None:
        assert seen.wait(120), "the render never showed progress"
    else:
        time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    rc = proc.wait(30)
    reader.join(10)
    assert proc.stderr is not None
    proc.stderr.close()
    return rc


@pytest.mark.slow
def test_a_killed_render_leaves_nothing_behind(long_pair: Path, tiny_onnx: Path, tmp_path: Path):
    """Killed while importing, while loading, and mid-stream (after its progress bar
    showed written audio): the output folder stays empty every time."""
    landed = []
    for i, delay in enumerate([0.3, 0.8, 1.5, None]):
        out = tmp_path / f"out{i}"
        out.mkdir()
        rc = _kill_render(long_pair, tiny_onnx, out, delay)
        landed.append(rc == -signal.SIGKILL)
        assert list(out.iterdir()) == [], (delay, list(out.iterdir()))
    assert landed[-1], "the mid-stream kill came after the render had finished"


# ----------------------------------------------------------------- pipes
@pytest.mark.parametrize("command", ["render", "inspect"])
def test_a_closed_pipe_ends_quietly(clips: Path, tiny_onnx: Path, command: str):
    args = (render_args(tiny_onnx, "mix.wav", "--json") if command == "render"
            else ["inspect", str(tiny_onnx), "--json"])  # fmt: skip
    with subprocess.Popen([*CLI, *args], cwd=clips, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # as `| head -c 0` would: the reader is gone before any output
        err = proc.stderr.read().decode()
        rc = proc.wait(120)
    assert rc == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception" not in err, err
    if command == "render":  # the files were complete before stdout was written
        assert json.loads((clips / "mix.wav.json").read_text())["output"] == "mix.wav"


# ----------------------------------------------------------------- terminal, logs
def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal; returns (status, what the terminal got)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100
    proc = subprocess.Popen([*CLI, *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=slave,
                            )  # fmt: skip
    os.close(slave)
    got = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    return proc.wait(30), got.decode(errors="replace")


def test_progress_bar_on_a_terminal_in_seconds_without_log_lines_on_it(clips, tiny_onnx):
    rc, tty = _on_a_terminal(["-v", *render_args(tiny_onnx, "mix.wav")], clips)
    assert rc == 0, tty
    assert "/3.0 s of audio" in tty, tty
    lines = tty.replace("\r\n", "\n").split("\n")
    info = [ln for ln in lines if "INFO plugin_host.renderer: rendered" in ln]
    assert len(info) == 1, tty
    # what the terminal shows on that line: the text after its last carriage return
    assert info[0].split("\r")[-1].startswith("INFO plugin_host.renderer: rendered"), repr(info[0])
    rc, tty = _on_a_terminal([*render_args(tiny_onnx, "quiet.wav"), "--no-progress"], clips)
    assert rc == 0 and "s of audio" not in tty and tty.strip() == "", tty


def test_logs_show_warnings_only_unless_verbose(clips: Path, tiny_onnx: Path):
    write(clips / "silence.wav", np.zeros((2, 44100), np.float32))
    done = cli(*render_args(tiny_onnx, "a.wav"), cwd=clips)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    done = cli("-v", *render_args(tiny_onnx, "b.wav"), cwd=clips)
    assert done.returncode == 0 and "INFO plugin_host.renderer: rendered b.wav" in done.stderr
    done = cli(*render_args(tiny_onnx, "c.wav", "-v"), cwd=clips)
    assert done.returncode == 0 and "INFO plugin_host.renderer: rendered c.wav" in done.stderr
    args = render_args(tiny_onnx, "d.wav")
    args[args.index("keys.wav")] = "silence.wav"
    done = cli(*args, cwd=clips)
    assert done.returncode == 0 and done.stderr.splitlines() == [
        "WARNING plugin_host.renderer: target silence.wav is digital silence: the input "
        "passes through at its own level"
    ]
    assert json.loads((clips / "d.wav.json").read_text())["warnings"] == [
        "target silence.wav is digital silence: the input passes through at its own level"
    ]


# ----------------------------------------------------------------- names and flags
def test_reports_are_named_after_the_whole_output_name(clips: Path, tiny_onnx: Path):
    for out in ("mix.wav", "mix.flac"):
        done = cli(*render_args(tiny_onnx, out, "--plot"), cwd=clips)
        assert done.returncode == 0, done.stderr
    assert {p.name for p in clips.iterdir() if p.name.startswith("mix")} == {
        "mix.wav", "mix.wav.json", "mix.wav.png", "mix.flac", "mix.flac.json", "mix.flac.png"
    }  # fmt: skip
    assert json.loads((clips / "mix.flac.json").read_text())["plot_path"] == "mix.flac.png"


def test_no_report_with_report_is_a_usage_error(clips: Path, tiny_onnx: Path):
    done = cli(*render_args(tiny_onnx, "mix.wav", "--no-report", "--report", "r.json"), cwd=clips)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[0].startswith("usage: creative-agent render")
    assert done.stderr.splitlines()[-1] == (
        "creative-agent render: error: --no-report and --report exclude each other"
    )
    assert not (clips / "mix.wav").exists()


def test_output_gain_flag(clips: Path, tiny_onnx: Path):
    done = cli(*render_args(tiny_onnx, "mix.wav", "--output-gain-db", "-6", "--json"), cwd=clips)
    assert done.returncode == 0 and json.loads(done.stdout)["output_gain_db"] == -6.0
    done = cli(*render_args(tiny_onnx, "loud.wav", "--output-gain-db", "40"), cwd=clips)
    assert done.returncode == 1 and done.stderr == (
        "creative-agent render: error: output_gain_db 40.0: must be in [-96, 24] dB\n"
    )
