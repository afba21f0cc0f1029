"""Interop with an independent OSC implementation: liblo's ``oscsend`` / ``oscdump``
(Debian liblo-tools; ``make sysdeps`` installs it). oscsend sends from a throw-away port
and exits, so it registers oscdump's port with /agent/notify, as a DAW would, and every
reply, progress message and report must arrive at oscdump."""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_osc_harness import ServerProcess, make_clips, start_server

# CI installs liblo-tools (make sysdeps), so there a missing client fails instead of skipping.
pytestmark = pytest.mark.skipif(
    (shutil.which("oscsend") is None or shutil.which("oscdump") is None)
    and os.environ.get("CI") != "true",
    reason="liblo-tools (oscsend/oscdump) not installed; run 'make sysdeps'",
)
TIMEOUT_S = 60.0  # a render of a 0.5 s clip plus process starts on a loaded CI machine
LINE = re.compile(r"^\S+ (/\S*) ?(\S*) ?(.*)$")  # "<timetag> /path types args..."


class Dump:
    """``oscdump -L PORT``: its stdout lines, parsed into (address, types, args text)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        for _ in range(5):  # the port is picked free, then oscdump binds it: retry a race
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
            s.close()
            self.proc = subprocess.Popen(
                ["oscdump", "-L", str(self.port)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
            if self._ready():
                return
            self.stop()
        raise AssertionError("oscdump did not start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def _ready(self) -> bool:
        """Poke oscdump until it prints what it received (so it is listening)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _ in range(50):
                if self.proc.poll() is not None:
                    return False
                s.sendto(b"/hello\0\0,\0\0\0", ("127.0.0.1", self.port))
                try:
                    line = self.lines.get(timeout=0.1)
                except queue.Empty:
                    continue
                if "/hello" in line:
                    time.sleep(0.05)
                    while not self.lines.empty():  # drop duplicate pokes
                        self.lines.get_nowait()
                    return True
        return False

    def until(self, pattern: str, timeout: float = TIMEOUT_S) -> list[str]:
        """Lines up to and including the first that contains ``pattern``."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            got.append(line)
            self.seen.append(line)
            if pattern in line:
                return got
        raise AssertionError(f"oscdump never printed {pattern!r}; got {got}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self._reader.join(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def oscsend(server: ServerProcess, address: str, types: str = "", *args: str) -> None:
    cmd = ["oscsend", "127.0.0.1", str(server.port), address]
    if types:
        cmd += [types, *args]
    subprocess.run(cmd, check=True, timeout=10, capture_output=True)


@pytest.fixture
def dump() -> Iterator[Dump]:
    d = Dump()
    yield d
    d.stop()


def parse(line: str) -> tuple[str, str, str]:
    m = LINE.match(line)
    assert m, line
    return m.group(1), m.group(2), m.group(3)


def test_oscsend_render_report_arrives_at_oscdump(
    tmp_path: Path, tiny_onnx: Path, dump: Dump
) -> None:
    make_clips(tmp_path)
    server = start_server(tmp_path, "--model", str(tiny_onnx))
    try:
        oscsend(server, "/agent/notify", "i", str(dump.port))
        assert parse(dump.until("/done")[-1]) == ("/done", "si", f'"/agent/notify" {dump.port}')
        oscsend(server, "/agent/ping")
        got = [parse(x) for x in dump.until("/done")]
        assert got == [("/agent/pong", "", ""), ("/done", "s", '"/agent/ping"')]
        oscsend(server, "/agent/param/set", "sf", "balance", "0.6")
        assert parse(dump.until("/done")[-1]) == (
            "/done",
            "ssf",
            '"/agent/param/set" "balance" 0.600000',
        )
        oscsend(server, "/agent/render", "ssss", "in.wav", "tg.wav", "out.wav", "take1")
        got = [parse(x) for x in dump.until('"/agent/render" "take1"')]
        addresses = [a for a, _, _ in got]
        assert addresses[0] == "/agent/render/queued" and addresses[-2:] == [
            "/agent/render/report",
            "/done",
        ]
        _, types, args = got[-2]
        assert types == "sffsffffs" and args.startswith('"take1" ')
        assert (tmp_path / "out.wav").is_file()
        # liblo's own types beyond i/f/s: a double and an int64 are accepted too
        oscsend(server, "/agent/param/set", "sd", "balance", "0.25")
        assert parse(dump.until("/done")[-1])[2] == '"/agent/param/set" "balance" 0.250000'
        # errors reach oscdump as /fail
        oscsend(server, "/agent/rend*", "sss", "in.wav", "tg.wav", "x.wav")
        assert parse(dump.until("/fail")[-1])[:2] == ("/fail", "ss")
        oscsend(server, "/agent/render", "ssss", "../in.wav", "tg.wav", "x.wav", "bad")
        fail = parse(dump.until("/fail")[-1])
        assert fail[1] == "sss" and "resolves outside the allowed roots" in fail[2]
        oscsend(server, "/agent/param/set", "sc", "balance", "x")
        assert "unsupported type tag 'c'" in dump.until("/fail")[-1]
    finally:
        assert server.stop() == 0, server.output()
