"""Section 6: the OSC render round trip: a real ``creative-agent serve`` subprocess on a free
UDP port, a real UDP client, ``osc_renders`` renders of an ``osc_seconds`` pair, each timed
from ``/agent/render`` sent to its ``/done`` received (queueing, progress and report
messages, the render and its files included): p50 and p95 in ms."""

from __future__ import annotations

import queue
import re
import socket
import subprocess
import threading
import time
from typing import Any

import numpy as np
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from bench.audio import write_pair
from bench.config import BenchError
from bench.context import Setup
from bench.processes import cli

START_TIMEOUT_S = 120.0  # imports, model load
RENDER_TIMEOUT_S = 120.0  # one render's /done
LISTENING = re.compile(r"listening on osc\.udp://(.+):(\d+)/")


class Server:
    """``creative-agent serve --port 0`` with the bench's model; stdout and stderr read on a
    thread until the listening line gives the port."""

    def __init__(self, s: Setup) -> None:
        cmd = cli("serve", "--port", "0", "--root", str(s.tmp), "--model", str(s.onnx_path),
                  "--provider", "cpu")  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.address = self._wait_listening()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _wait_listening(self) -> tuple[str, int]:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line.rstrip())
            m = LISTENING.search(line)
            if m:
                return m.group(1), int(m.group(2))
        self.stop()
        raise BenchError("serve did not start: " + (self.seen[-1] if self.seen else "no output"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(30.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            self._reader.join(5.0)  # the pipe is at its end once the process is gone
            assert self.proc.stdout is not None
            self.proc.stdout.close()


def _message(address: str, *args: str | int) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a, "s" if isinstance(a, str) else "i")
    return bytes(b.build().dgram)


def _wait_done(sock: socket.socket, clip_id: str) -> None:
    """Read replies until this clip's ``/done``; BenchError on its ``/fail`` or a timeout."""
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except TimeoutError as exc:
            raise BenchError(f"OSC render {clip_id}: no /done in {RENDER_TIMEOUT_S:g} s") from exc
        for timed in OscPacket(data).messages:
            msg = timed.message
            if msg.params[:1] != ["/agent/render"]:
                continue
            if msg.address == "/done" and clip_id in msg.params:
                return
            if msg.address == "/fail":
                raise BenchError(f"OSC render {clip_id} failed: {msg.params[1:]}")


def section_osc(s: Setup) -> dict[str, Any]:
    """``osc_roundtrip_p50_ms`` and ``osc_roundtrip_p95_ms`` over ``osc_renders`` renders
    (after ``warmup`` untimed ones), one at a time."""
    cfg = s.cfg
    pair = write_pair(s.pair, cfg.osc_seconds, s.tmp, "osc")
    server = Server(s)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ms: list[float] = []
    try:
        sock.bind(("127.0.0.1", 0))
        for i in range(cfg.warmup + cfg.osc_renders):
            clip = f"bench{i}"
            msg = _message("/agent/render", str(pair[0]), str(pair[1]),
                           str(s.out("osc_out")), clip, 1)  # fmt: skip
            t = time.perf_counter()
            sock.sendto(msg, server.address)
            _wait_done(sock, clip)
            if i >= cfg.warmup:
                ms.append(1000.0 * (time.perf_counter() - t))
    finally:
        sock.close()
        server.stop()
    return {
        "osc_roundtrip_p50_ms": float(np.percentile(ms, 50)),
        "osc_roundtrip_p95_ms": float(np.percentile(ms, 95)),
        "osc": {"renders": cfg.osc_renders, "seconds_each": cfg.osc_seconds},
        "runs_s": {"osc_roundtrip": [x / 1000.0 for x in ms]},
    }
