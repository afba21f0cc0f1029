"""The OSC test harness (a real server process, a real UDP client) and the server's
life-cycle tests: start, the listening line, no torch, clean stop on SIGINT/SIGTERM,
the wide-bind warning and the --allow list.

Other tests/test_osc_*.py import the harness from here. Replies are parsed with
python-osc's own parser, independent of the server's (plugin_host.osc_protocol).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pedalboard.io import AudioFile
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from tests.helpers import chord, click_track

REPO = Path(__file__).resolve().parents[1]
REPLY_TIMEOUT_S = 10.0  # one reply on loopback takes < 1 ms; generous for a loaded 2-core CI
START_TIMEOUT_S = 60.0  # imports (onnxruntime, pedalboard) + model load
LISTENING = re.compile(r"listening on osc\.udp://(.+):(\d+)/")
SR = 44100

Reply = tuple[str, list[Any]]


class ServerProcess:
    """``python -m plugin_host.osc_server ...`` on a free port; output collected."""

    def __init__(
        self,
        args: list[str],
        cwd: Path,
        prefix: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """prefix: a command the server runs under (e.g. strace); env: its environment
        (default: this one)."""
        env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "plugin_host.osc_server", "--port", "0", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.host, self.port = self._wait_listening()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._lines.put(line)
        self._lines.put(None)

    def _wait_listening(self) -> tuple[str, int]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            m = LISTENING.search(line)
            if m:
                return m.group(1), int(m.group(2))
        self.stop(signal.SIGKILL)
        raise AssertionError("server did not start:\n" + self.output())

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop:\n" + self.output()) from None
        finally:
            self._reader.join(5.0)
            assert self.proc.stdout is not None
            self.proc.stdout.close()


class OscClient:
    """A UDP socket that sends OSC to the server and reads its replies."""

    def __init__(self, server: tuple[str, int], bind: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(bind)
        self.port: int = self.sock.getsockname()[1]
        self.backlog: list[Reply] = []

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def send(self, address: str, *args: Any) -> None:
        """Arguments typed by value: str -> s, int -> i, float -> f; or (value, tag)."""
        b = OscMessageBuilder(address)
        for a in args:
            if isinstance(a, tuple):
                b.add_arg(a[0], a[1])
            else:
                b.add_arg(a, "s" if isinstance(a, str) else "i" if isinstance(a, int) else "f")
        self.send_raw(bytes(b.build().dgram))

    def recv(self, timeout: float = REPLY_TIMEOUT_S) -> Reply | None:
        if self.backlog:
            return self.backlog.pop(0)
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return None
        m = OscMessage(data)
        return m.address, list(m.params)

    def until(self, pred: Callable[[Reply], bool], timeout: float = REPLY_TIMEOUT_S) -> list[Reply]:
        """Replies up to and including the first that matches; AssertionError on timeout."""
        got: list[Reply] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            r = self.recv(max(left, 0.001)) if left > 0 else None
            if r is None:
                raise AssertionError(f"no matching reply within {timeout} s; got {got}")
            got.append(r)
            if pred(r):
                return got

    def final(self, command: str, *extra: Any, timeout: float = REPLY_TIMEOUT_S) -> list[Reply]:
        """Replies up to the /done or /fail of ``command`` (whose extra args start with
        ``extra``); the last element is that final answer."""

        def is_final(r: Reply) -> bool:
            addr, args = r
            if addr == "/done":
                return args[: 1 + len(extra)] == [command, *extra]
            if addr == "/fail":
                return args[0] == command and (not extra or args[2:3] == list(extra[:1]))
            return False

        return self.until(is_final, timeout)

    def call(self, address: str, *args: Any, timeout: float = REPLY_TIMEOUT_S) -> list[Reply]:
        self.send(address, *args)
        return self.final(address, timeout=timeout)

    def drain(self, quiet_s: float = 0.2) -> list[Reply]:
        got = list(self.backlog)
        self.backlog.clear()
        while (r := self.recv(quiet_s)) is not None:
            got.append(r)
        return got


def write_wav(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    """float32 [C, T] -> a WAV file via pedalboard (the project's only audio I/O)."""
    with AudioFile(str(path), "w", sr, num_channels=audio.shape[0]) as f:
        f.write(audio)
    return path


def make_clips(
    root: Path, seconds: float = 0.5, prefix: str = "", channels: int = 2
) -> tuple[Path, Path]:
    """An INPUT click track and a TARGET chord of ``seconds`` inside ``root``."""
    inp = write_wav(root / f"{prefix}in.wav", click_track(seconds, SR, channels))
    tgt = write_wav(root / f"{prefix}tg.wav", chord(seconds, SR, channels))
    return inp, tgt


@pytest.fixture
def osc_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    make_clips(root)
    return root


def start_server(root: Path, *args: str) -> ServerProcess:
    return ServerProcess(["--root", str(root), *args], cwd=root)


@pytest.fixture
def client_factory() -> Iterator[Callable[..., OscClient]]:
    made: list[OscClient] = []

    def make(server: ServerProcess, **kw: Any) -> OscClient:
        c = OscClient(server.address, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


# ------------------------------------------------------------------ life-cycle tests


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_server_starts_answers_and_stops_cleanly(
    osc_root: Path, client_factory: Callable[..., OscClient], sig: int
) -> None:
    server = start_server(osc_root)
    try:
        assert server.host == "127.0.0.1"
        client = client_factory(server)
        replies = client.call("/agent/ping")
        assert replies == [("/agent/pong", []), ("/done", ["/agent/ping"])]
    finally:
        rc = server.stop(sig)
    assert rc == 0, server.output()
    assert "stopped after" in server.output()


def test_the_server_never_imports_torch() -> None:
    code = (
        "import sys, plugin_host.osc_server, plugin_host.renderer, plugin_host.chain; "
        "bad = [m for m in ('torch', 'model', 'training', 'export') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)


def test_bad_start_arguments_fail_with_one_line(tmp_path: Path) -> None:
    for args, needle in [
        (["--root", str(tmp_path / "missing")], "not a directory"),
        (["--allow", "not-an-address"], "--allow"),
        (["--model", str(tmp_path / "nope.onnx")], "model file not found"),
    ]:
        r = subprocess.run(
            [sys.executable, "-m", "plugin_host.osc_server", "--port", "0", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert r.returncode == 1, r  # runtime errors exit 1 (argparse's usage errors: 2)
        assert r.stderr.startswith("creative-agent serve: error: "), r.stderr
        assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "plugin_host.osc_server", "--port", "x"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and r.stderr.startswith("usage: creative-agent serve"), r.stderr


def test_wide_bind_warns_and_honours_the_allow_list(
    osc_root: Path, client_factory: Callable[..., OscClient]
) -> None:
    # Bound to all interfaces for a moment, but only 127.0.0.2 may talk to it.
    server = ServerProcess(
        ["--host", "0.0.0.0", "--allow", "127.0.0.2", "--root", str(osc_root)], osc_root
    )
    try:
        assert "warning: binding 0.0.0.0" in server.output() and "127.0.0.2" in server.output()
        stranger = client_factory(server)  # sends from 127.0.0.1
        stranger.server = ("127.0.0.1", server.port)
        stranger.send("/agent/ping")
        assert stranger.recv(timeout=0.5) is None  # dropped, never answered
        friend = client_factory(server, bind=("127.0.0.2", 0))
        friend.server = ("127.0.0.1", server.port)
        friend.send("/agent/status")
        status = friend.final("/agent/status")[0]
        assert status[0] == "/agent/status.reply"
        assert '"denied":1' in status[1][-1]
    finally:
        assert server.stop() == 0
