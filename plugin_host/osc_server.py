"""``creative-agent serve``: the OSC/UDP control server a DAW talks to.

One thread receives on a plain UDP socket and answers every datagram itself; renders go to
one worker thread through a bounded queue (:mod:`plugin_host.jobs`), so pings are answered
while a render runs. Every command ends with exactly one ``/done`` or ``/fail``
(scsynth's convention); the address table and the reply routing are in docs/osc.md.

The parts: :mod:`plugin_host.osc_protocol` (datagrams, the address table, replies),
:mod:`plugin_host.osc_state` (configuration, model, chain, parameters, clients, counters),
:mod:`plugin_host.osc_dispatch` (the commands), :mod:`plugin_host.osc_render` (a render
request, its job and its answers), :mod:`plugin_host.paths` (allowed roots); this module
holds the socket, its loop and the command line.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import FrameType

from plugin_host import osc_protocol as proto
from plugin_host.bundled import resolve_model
from plugin_host.jobs import JobQueue
from plugin_host.osc_dispatch import Dispatcher
from plugin_host.osc_render import Renderer
from plugin_host.osc_state import SEND, Address, ServerConfig, ServerState
from plugin_host.paths import PathRefused
from plugin_host.renderer import RenderError, render
from plugin_host.runtime import ModelLoadError, add_provider_argument

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OscServer:
    """The UDP socket and its receive loop around a :class:`Dispatcher`.

    renderer: the function that renders one clip (``plugin_host.render.render``'s
    signature); tests may pass another callable to drive the queue.
    """

    def __init__(self, config: ServerConfig, renderer: Renderer = render) -> None:
        self.config = config
        self.state = ServerState(config)
        self.jobs = JobQueue(
            config.queue_size, progress_interval_s=1.0 / config.progress_hz, name="render-worker"
        )
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()  # stop() wakes the loop at once
        self._wake_w.setblocking(False)
        self.sock: socket.socket | None = None
        self.dispatcher = Dispatcher(self.state, self.jobs, self.send, renderer, self._stop)

    # ------------------------------------------------------------------ socket
    def bind(self) -> Address:
        """Open and bind the UDP socket; returns the bound (host, port)."""
        infos = socket.getaddrinfo(
            self.config.host, self.config.port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP
        )
        family, _, _, _, sockaddr = infos[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        # Big buffers so bursts are queued, not dropped (the *FORCE variants pass the
        # system cap when running as root; plain ones are clamped to it otherwise).
        for force, plain in (("SO_RCVBUFFORCE", "SO_RCVBUF"), ("SO_SNDBUFFORCE", "SO_SNDBUF")):
            for opt in (getattr(socket, force, None), getattr(socket, plain)):
                if opt is None:
                    continue
                try:
                    sock.setsockopt(socket.SOL_SOCKET, opt, self.config.rcvbuf_bytes)
                    break
                except OSError:  # not permitted: fall back to the plain option
                    continue
        sock.bind(sockaddr)
        sock.setblocking(False)
        self.sock = sock
        host, port = sock.getsockname()[:2]
        log.info(
            "bound %s:%d (receive buffer %d bytes)",
            host,
            port,
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF),
        )
        return host, port

    def serve_forever(self) -> None:
        """Receive and answer datagrams until :meth:`stop`; then shut the queue down."""
        if self.sock is None:
            self.bind()
        assert self.sock is not None
        self.jobs.start()
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=1.0):
                    if key.fileobj is self.sock:
                        self._receive_ready()
        finally:
            selector.close()
            finished = self.jobs.shutdown(self.config.shutdown_timeout_s)
            if not finished:
                log.error(
                    "render worker did not stop within %.0f s", self.config.shutdown_timeout_s
                )
            self.sock.close()
            self._wake_r.close()
            self._wake_w.close()

    def _receive_ready(self, max_batch: int = 256) -> None:
        """Answer the datagrams waiting on the socket (at most ``max_batch``, so a flood
        cannot keep the loop from seeing a stop request)."""
        assert self.sock is not None
        for _ in range(max_batch):
            if self._stop.is_set():
                return
            try:
                data, addr = self.sock.recvfrom(proto.RECV_BUFFER)
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. an ICMP error surfaced by the OS: keep serving
                log.debug("recvfrom: %s", exc)
                return
            self.dispatcher.handle_datagram(data, (addr[0], addr[1]))

    def stop(self) -> None:
        """Ask the loop to stop (safe from a signal handler or another thread)."""
        self._stop.set()
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full or closed: the loop is already awake or gone
            log.debug("stop: wake-up byte not sent")

    # ----------------------------------------------------------------- sending
    def send(self, data: bytes, targets: Iterable[Address]) -> None:
        """Send one datagram to each target (a refused send is counted, not raised)."""
        assert self.sock is not None
        for addr in targets:
            try:
                self.sock.sendto(data, addr)
            except OSError as exc:
                self.state.count(SEND)
                log.debug("sendto %s: %s", addr, exc)


# --------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="creative-agent serve",
        description="OSC/UDP control server for a DAW (address table: docs/osc.md).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9000, help="UDP port (0 = any free port)")
    p.add_argument(
        "--root",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="folder clients may read/write (repeatable; default: the current folder)",
    )
    p.add_argument(
        "--model",
        type=Path,
        help="ONNX model to load at start (default: the bundled model, docs/model-card.md)",
    )
    p.add_argument(
        "--no-model",
        action="store_true",
        help="start without a model (load one later with /agent/model/load)",
    )
    p.add_argument("--chain", type=Path, help="effect chain JSON to load at start")
    add_provider_argument(p)
    p.add_argument("--reply-port", type=int, help="reply port for clients that did not /notify")
    p.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="ADDR",
        help="source address or network allowed to send (repeatable; others are ignored)",
    )
    p.add_argument("--queue-size", type=int, default=8, help="renders that may wait (default 8)")
    p.add_argument("--progress-hz", type=float, default=10.0, help="max progress messages/s/job")
    p.add_argument("--share-calibration", action=argparse.BooleanOptionalAction, default=True,
                   help="every render's masked share follows the balance (as render's flag; "
                   "default on)")  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true", help="log every failure")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        logging.getLogger("plugin_host").setLevel(logging.DEBUG)
    try:
        config = ServerConfig(
            host=args.host,
            port=args.port,
            roots=tuple(args.root),
            model=None if args.no_model else resolve_model(args.model)[0],
            chain=args.chain,
            provider=args.provider,
            reply_port=args.reply_port,
            allow=tuple(args.allow),
            queue_size=args.queue_size,
            progress_hz=args.progress_hz,
            share_calibration=args.share_calibration,
        )
        server = OscServer(config)
    except (ValueError, PathRefused, ModelLoadError, RenderError, OSError) as exc:
        print(f"creative-agent serve: error: {exc}", file=sys.stderr)
        return 1
    if not is_loopback(config.host):
        print(
            f"warning: binding {config.host} exposes the server beyond this machine and OSC "
            "has no authentication"
            + (
                f"; accepting only {', '.join(config.allow)}"
                if config.allow
                else "; restrict senders with --allow ADDR"
            ),
            file=sys.stderr,
            flush=True,
        )
    try:
        host, port = server.bind()
    except OSError as exc:
        print(
            f"creative-agent serve: error: cannot bind {config.host}:{config.port}: {exc}",
            file=sys.stderr,
        )
        return 1

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        server.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    roots = ", ".join(str(r) for r in server.state.roots.roots)
    loaded = server.state.model
    model = f"model {loaded.path} ({loaded.provider})" if loaded else "no model"
    print(
        f"creative-agent serve: listening on osc.udp://{host}:{port}/ ({model}; roots: {roots})",
        flush=True,
    )
    t0 = time.monotonic()
    server.serve_forever()
    s = server.state.status(server.jobs)
    print(
        f"creative-agent serve: stopped after {time.monotonic() - t0:.1f} s "
        f"({s['rendered']} rendered, {s['failed']} failed, {s['errors']} errors)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
