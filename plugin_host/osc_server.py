"""``creative-agent serve``: the OSC/UDP control server a DAW talks to.

One thread receives on a plain UDP socket and answers every datagram itself (parsing and
validation in :mod:`plugin_host.osc_protocol`, paths in :mod:`plugin_host.paths`); renders
go to one worker thread through a bounded queue (:mod:`plugin_host.jobs`), so pings are
answered while a render runs. Every command ends with exactly one ``/done`` or ``/fail``
(scsynth's convention); the address table and the reply routing are in docs/osc.md.

Replies to a command go to its sender and to the reply port its host registered with
``/agent/notify`` (or ``--reply-port`` if it registered none). A render's progress,
report and final answer also go to every registered client.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import re
import selectors
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from typing import Any

from plugin_host import osc_protocol as proto
from plugin_host.chain import Chain
from plugin_host.jobs import DuplicateJob, Job, JobCancelled, JobQueue, ProgressFn, QueueFull
from plugin_host.paths import AllowedRoots, PathRefused
from plugin_host.render import RenderCancelled, RenderError, render
from plugin_host.runtime import LoadedModel, ModelLoadError, load_model

log = logging.getLogger(__name__)

Address = tuple[str, int]
Renderer = Callable[..., dict[str, Any]]

# Server-side error kinds, besides the protocol's (proto.ERROR_KINDS).
PATH = "path"
QUEUE_FULL = "queue_full"
COMMAND = "command"  # a well-formed command that could not be carried out
DENIED = "denied"  # datagrams from a source outside --allow (dropped, never answered)
SEND = "send"  # replies the OS refused to send
INTERNAL = "internal"
ERROR_KINDS = (*proto.ERROR_KINDS, PATH, QUEUE_FULL, COMMAND, DENIED, SEND, INTERNAL)

OUTPUT_GAIN_RANGE_DB = (-96.0, 24.0)
CLIP_ID = re.compile(r"[^\x00-\x1f#][^\x00-\x1f]{0,63}")
REPORT_FLOATS = (
    "output_input_corr",
    "output_target_corr",
    "verdict",
    "share_input",
    "onset_corr_input",
    "chroma_cos_target",
    "rtf",
)


class CommandFailed(Exception):
    """A command that is answered with /fail: kind (an error counter), one-line message."""

    def __init__(self, kind: str, message: str, clip_id: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.clip_id = clip_id


@dataclass
class ServerConfig:
    """Everything ``serve`` is started with (CLI flags of the same names)."""

    host: str = "127.0.0.1"
    port: int = 9000
    roots: tuple[Path, ...] = ()
    model: Path | None = None
    chain: Path | None = None
    provider: str = "auto"
    reply_port: int | None = None
    allow: tuple[str, ...] = ()
    queue_size: int = 8
    max_datagram: int = proto.MAX_DATAGRAM
    progress_hz: float = 10.0
    max_clients: int = 16
    rcvbuf_bytes: int = 4 * 1024 * 1024
    shutdown_timeout_s: float = 30.0
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default=(), init=False
    )

    def __post_init__(self) -> None:
        try:
            self.allow_networks = tuple(ipaddress.ip_network(a, strict=False) for a in self.allow)
        except ValueError as exc:
            raise ValueError(f"--allow: {exc}") from None
        for name, port in (("port", self.port), ("reply_port", self.reply_port)):
            if port is not None and not 0 <= port <= 65535:
                raise ValueError(f"--{name.replace('_', '-')}: {port} is not a UDP port")


def package_version() -> str:
    try:
        return version("creative-agent")
    except PackageNotFoundError:
        return "unknown"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OscServer:
    """The server's state (model, chain, parameters, clients, counters) and its loop.

    renderer: the function that renders one clip (``plugin_host.render.render``'s
    signature); tests may pass another callable to drive the queue.
    """

    def __init__(self, config: ServerConfig, renderer: Renderer = render) -> None:
        self.config = config
        self.renderer = renderer
        self.roots = AllowedRoots(config.roots or (Path.cwd(),))
        self.model: LoadedModel | None = None
        self.chain: Chain | None = None
        self.chain_path: Path | None = None
        self.balance = 0.5
        self.output_gain_db = 0.0
        self.clients: set[Address] = set()
        self.errors: Counter[str] = Counter()
        self.jobs = JobQueue(
            config.queue_size, progress_interval_s=1.0 / config.progress_hz, name="render-worker"
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()  # stop() wakes the loop at once
        self._wake_w.setblocking(False)
        self._next_clip = 0
        self._next_sync = 0
        self.sock: socket.socket | None = None
        self.handlers: dict[str, Callable[[list[Any], Address], None]] = {
            "/agent/ping": self._ping,
            "/agent/sync": self._sync,
            "/agent/version": self._version,
            "/agent/status": self._status,
            "/agent/notify": self._notify,
            "/agent/model/load": self._model_load,
            "/agent/chain/load": self._chain_load,
            "/agent/param/set": self._param_set,
            "/agent/param/get": self._param_get,
            "/agent/render": self._render,
            "/agent/render/cancel": self._render_cancel,
        }
        assert set(self.handlers) == set(proto.COMMANDS), "handler table out of sync"
        if config.model is not None:
            self.model = load_model(config.model.resolve(), provider=config.provider)
        if config.chain is not None:
            self.chain_path = config.chain.resolve()
            self.chain = Chain.from_json(self.chain_path)

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
            self.handle_datagram(data, (addr[0], addr[1]))

    def stop(self) -> None:
        """Ask the loop to stop (safe from a signal handler or another thread)."""
        self._stop.set()
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full or closed: the loop is already awake or gone
            log.debug("stop: wake-up byte not sent")

    # ----------------------------------------------------------------- sending
    def send(self, data: bytes, targets: Sequence[Address] | set[Address]) -> None:
        assert self.sock is not None
        for addr in targets:
            try:
                self.sock.sendto(data, addr)
            except OSError as exc:
                self._count(SEND)
                log.debug("sendto %s: %s", addr, exc)

    def reply_targets(self, sender: Address) -> set[Address]:
        """The sender, plus its host's registered reply port(s) (or --reply-port)."""
        with self._lock:
            registered = {c for c in self.clients if c[0] == sender[0]}
        if not registered and self.config.reply_port:
            registered = {(sender[0], self.config.reply_port)}
        return {sender} | registered

    def job_targets(self, sender: Address) -> set[Address]:
        """Where a job's progress/report/final answer go: the requester and all clients."""
        with self._lock:
            everyone = set(self.clients)
        return self.reply_targets(sender) | everyone

    def _count(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1

    def _fail(
        self, sender: Address, kind: str, command: str, message: str, clip_id: str | None = None
    ) -> None:
        self._count(kind)
        log.info("fail %s from %s:%d: %s", command or "?", *sender, message)
        self.send(proto.fail(command, message, clip_id), self.reply_targets(sender))

    def _done(self, sender: Address, command: str, *extra: Any) -> None:
        self.send(proto.done(command, *extra), self.reply_targets(sender))

    # ----------------------------------------------------------------- dispatch
    def handle_datagram(self, data: bytes, sender: Address) -> None:
        """Parse one datagram and answer each message it carries (never raises)."""
        if self.config.allow_networks and not self._allowed(sender[0]):
            self._count(DENIED)
            return
        try:
            messages = proto.parse_datagram(data, self.config.max_datagram)
        except proto.ProtocolError as exc:
            self._fail(sender, exc.kind, exc.command, exc.message)
            return
        for msg in messages:
            self._dispatch(msg, sender)

    def _allowed(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        return any(ip in net for net in self.config.allow_networks)

    def _dispatch(self, msg: proto.Message, sender: Address) -> None:
        command = proto.COMMANDS.get(msg.address)
        if command is None:
            self._fail(sender, proto.UNKNOWN_COMMAND, msg.address, "command not found")
            return
        try:
            args = proto.coerce_args(command, msg)
            self.handlers[msg.address](args, sender)
        except proto.ProtocolError as exc:
            self._fail(sender, exc.kind, msg.address, exc.message)
        except CommandFailed as exc:
            self._fail(sender, exc.kind, msg.address, exc.message, exc.clip_id)
        except Exception as exc:  # a bug must not stop the server: log it, answer /fail
            log.exception("command %s failed", msg.address)
            self._fail(sender, INTERNAL, msg.address, f"internal error: {exc}")

    # ----------------------------------------------------------------- commands
    def _ping(self, args: list[Any], sender: Address) -> None:
        self.send(proto.build("/agent/pong", *args), self.reply_targets(sender))
        self._done(sender, "/agent/ping", *args)

    def _sync(self, args: list[Any], sender: Address) -> None:
        (sync_id,) = args
        with self._lock:
            self._next_sync += 1
            job_id = f"#sync-{self._next_sync}"

        def finished(job: Job, result: Any, error: BaseException | None) -> None:
            if error is None:
                self.send(proto.build("/agent/synced", sync_id), self.reply_targets(sender))
                self._done(sender, "/agent/sync", sync_id)
            else:
                self._fail(sender, COMMAND, "/agent/sync", str(error))

        try:
            self.jobs.submit(job_id, lambda progress, cancel: None, finished)
        except (QueueFull, JobCancelled) as exc:
            raise CommandFailed(QUEUE_FULL, str(exc)) from None

    def _version(self, args: list[Any], sender: Address) -> None:
        reply = proto.build(
            "/agent/version.reply", "creative-agent", package_version(), proto.PROTOCOL_VERSION
        )
        self.send(reply, self.reply_targets(sender))
        self._done(sender, "/agent/version")

    def status(self) -> dict[str, Any]:
        """The values of /agent/status.reply, by name."""
        with self._lock:
            errors = {k: self.errors.get(k, 0) for k in ERROR_KINDS}
        model = self.model
        return {
            "model": str(model.path) if model else "",
            "provider": model.provider if model else "",
            "chain": str(self.chain_path) if self.chain_path else "",
            "balance": float(self.balance),
            "output_gain_db": float(self.output_gain_db),
            "queued": len(self.jobs),
            "running": self.jobs.running_id or "",
            "rendered": self.jobs.finished["done"],
            "failed": self.jobs.finished["failed"] + self.jobs.finished["cancelled"],
            "errors": sum(errors.values()),
            "error_counts": errors,
        }

    def _status(self, args: list[Any], sender: Address) -> None:
        s = self.status()
        reply = proto.build(
            "/agent/status.reply",
            s["model"],
            s["provider"],
            s["chain"],
            s["balance"],
            s["output_gain_db"],
            s["queued"],
            s["running"],
            s["rendered"],
            s["failed"],
            s["errors"],
            json.dumps(s["error_counts"], separators=(",", ":")),
        )
        self.send(reply, self.reply_targets(sender))
        self._done(sender, "/agent/status")

    def _notify(self, args: list[Any], sender: Address) -> None:
        (port,) = args
        if not 0 <= port <= 65535:
            raise CommandFailed(COMMAND, f"reply_port {port} is not a UDP port (0 = stop)")
        targets = self.reply_targets(sender)  # before: "stop" is confirmed where it stops
        with self._lock:
            if port == 0:
                self.clients = {c for c in self.clients if c[0] != sender[0]}
            else:
                if (sender[0], port) not in self.clients and len(
                    self.clients
                ) >= self.config.max_clients:
                    raise CommandFailed(
                        COMMAND, f"too many registered clients ({self.config.max_clients})"
                    )
                self.clients.add((sender[0], port))
        log.info("notify %s:%d -> reply port %d", *sender, port)
        self.send(proto.done("/agent/notify", port), targets | self.reply_targets(sender))

    def _model_load(self, args: list[Any], sender: Address) -> None:
        try:
            path = self.roots.existing_file(args[0], "path")
            model = load_model(path, provider=self.config.provider)
        except PathRefused as exc:
            raise CommandFailed(PATH, str(exc)) from None
        except ModelLoadError as exc:
            raise CommandFailed(COMMAND, str(exc)) from None
        self.model = model
        log.info("model %s loaded (%s)", path, model.provider)
        self._done(sender, "/agent/model/load", str(path))

    def _chain_load(self, args: list[Any], sender: Address) -> None:
        try:
            path = self.roots.existing_file(args[0], "path")
            chain = Chain.from_json(path, allow_roots=self.roots)
        except PathRefused as exc:
            raise CommandFailed(PATH, str(exc)) from None
        except (RenderError, ValueError, OSError) as exc:
            raise CommandFailed(COMMAND, str(exc)) from None
        self.chain, self.chain_path = chain, path
        log.info("chain %s loaded", path)
        self._done(sender, "/agent/chain/load", str(path))

    def _param_set(self, args: list[Any], sender: Address) -> None:
        name, value = args
        if name == "balance":
            if not 0.0 <= value <= 1.0:
                raise CommandFailed(COMMAND, f"balance must be in [0, 1], got {value:g}")
            self.balance = value
        elif name == "output_gain_db":
            lo, hi = OUTPUT_GAIN_RANGE_DB
            if not lo <= value <= hi:
                raise CommandFailed(
                    COMMAND, f"output_gain_db must be in [{lo:g}, {hi:g}], got {value:g}"
                )
            self.output_gain_db = value
        else:
            check_param_name(name)
            try:
                (self.chain or Chain.from_json({})).set_param(name, value)
            except ValueError as exc:  # ChainError: one line naming the parameter
                raise CommandFailed(COMMAND, str(exc)) from None
        self._done(sender, "/agent/param/set", name, float(value))

    def _param_get(self, args: list[Any], sender: Address) -> None:
        (name,) = args
        if name == "balance":
            value = self.balance
        elif name == "output_gain_db":
            value = self.output_gain_db
        else:
            check_param_name(name)
            try:
                value = float((self.chain or Chain.from_json({})).get_param(name))
            except ValueError as exc:
                raise CommandFailed(COMMAND, str(exc)) from None
        self.send(proto.build("/agent/param/value", name, value), self.reply_targets(sender))
        self._done(sender, "/agent/param/get", name)

    def chain_snapshot(self) -> Chain | None:
        """A private copy of the chain for one render (later /agent/param/set calls do not
        touch a queued render), with ``output_gain_db`` as a final Gain plugin."""
        if self.chain is None and self.output_gain_db == 0.0:
            return None
        data = self.chain.to_dict() if self.chain is not None else {}
        if self.output_gain_db != 0.0:
            gain = {"plugin": "Gain", "params": {"gain_db": float(self.output_gain_db)}}
            data["output_chain"] = [*data.get("output_chain", []), gain]
        return Chain.from_json(data)

    def _render(self, args: list[Any], sender: Address) -> None:
        raw_in, raw_tg, raw_out = args[:3]
        if len(args) > 3:
            clip_id = args[3]
            if not CLIP_ID.fullmatch(clip_id):
                raise CommandFailed(
                    COMMAND,
                    "clip_id must be 1-64 printable characters, not starting with '#'",
                    clip_id,
                )
        else:
            with self._lock:
                self._next_clip += 1
                clip_id = f"clip-{self._next_clip}"
        overwrite = bool(args[4]) if len(args) > 4 else False
        model = self.model
        if model is None:
            raise CommandFailed(
                COMMAND, "no model loaded (start with --model or send /agent/model/load)", clip_id
            )
        try:
            inp = self.roots.existing_file(raw_in, "input")
            tgt = self.roots.existing_file(raw_tg, "target")
            out = self.roots.output_file(
                raw_out, "output", overwrite=overwrite, inputs=(inp, tgt, model.path)
            )
            report_path = self.roots.output_file(
                str(out.with_suffix(".json")),
                "report",
                overwrite=overwrite,
                inputs=(inp, tgt, model.path, out),
            )
        except PathRefused as exc:
            raise CommandFailed(PATH, str(exc), clip_id) from None
        if len(self.jobs) >= self.jobs.maxsize:  # refuse before copying the chain
            raise CommandFailed(
                QUEUE_FULL, f"queue full ({self.jobs.maxsize} jobs waiting)", clip_id
            )
        chain = self.chain_snapshot()
        balance = self.balance
        targets = self.job_targets(sender)

        def work(progress: ProgressFn, cancel: threading.Event) -> dict[str, Any]:
            log.info("render %s: %s x %s -> %s", clip_id, inp, tgt, out)
            return self.renderer(
                inp,
                tgt,
                model,
                out,
                chain=chain,
                balance=balance,
                report_path=report_path,
                overwrite=overwrite,
                progress=progress,
                cancel=cancel,
                allow_roots=list(self.roots.roots),
            )

        def on_progress(job: Job, fraction: float) -> None:
            msg = proto.build("/agent/render/progress", clip_id, fraction)
            self.send(msg, targets | self.job_targets(sender))

        def on_finish(job: Job, result: Any, error: BaseException | None) -> None:
            self._render_finished(targets | self.job_targets(sender), clip_id, job, result, error)

        try:
            _, position = self.jobs.submit(
                clip_id, work, on_finish, on_progress, claims=[str(out), str(report_path)]
            )
        except QueueFull as exc:
            raise CommandFailed(QUEUE_FULL, str(exc), clip_id) from None
        except (DuplicateJob, JobCancelled) as exc:
            raise CommandFailed(COMMAND, str(exc), clip_id) from None
        self.send(proto.build("/agent/render/queued", clip_id, position), targets)

    def _render_finished(
        self,
        targets: set[Address],
        clip_id: str,
        job: Job,
        result: Any,
        error: BaseException | None,
    ) -> None:
        """Send a finished render's report and /done, or its /fail, to ``targets``."""
        if error is None:
            report = dict(result or {})
            values = [report_value(report, k) for k in REPORT_FLOATS]
            report_path = report.get("report_path") or ""
            msg = proto.build("/agent/render/report", clip_id, *values, str(report_path))
            self.send(msg, targets)
            self.send(proto.done("/agent/render", clip_id), targets)
            elapsed = (job.finished_at or 0.0) - (job.started_at or 0.0)
            log.info("render %s done in %.2f s (verdict %s)", clip_id, elapsed, values[2])
            return
        if isinstance(error, JobCancelled):
            message = f"cancelled ({error})"
        elif isinstance(error, RenderCancelled) or job.cancel.is_set():
            why = "server is shutting down" if self._stop.is_set() else "while rendering"
            message = f"cancelled ({why})"
        elif isinstance(error, RenderError | PathRefused | ModelLoadError | ValueError):
            message = str(error)
            self._count(COMMAND)
        else:
            log.error("render %s failed", clip_id, exc_info=error)
            message = f"internal error: {error}"
            self._count(INTERNAL)
        log.info("render %s failed: %s", clip_id, message)
        self.send(proto.fail("/agent/render", message, clip_id), targets)

    def _render_cancel(self, args: list[Any], sender: Address) -> None:
        (clip_id,) = args
        if clip_id.startswith("#"):
            raise CommandFailed(COMMAND, f"no queued or running render {clip_id!r}", clip_id)
        try:
            where = self.jobs.cancel(clip_id)
        except KeyError:
            raise CommandFailed(
                COMMAND, f"no queued or running render {clip_id!r}", clip_id
            ) from None
        log.info("cancel %s (%s)", clip_id, where)
        self._done(sender, "/agent/render/cancel", clip_id)


def check_param_name(name: str) -> None:
    """Names other than the server's own must look like ``section/index/name``."""
    if "/" not in name:
        raise CommandFailed(
            COMMAND,
            f"unknown parameter {name!r}; valid: balance, output_gain_db, or a chain "
            "parameter section/index/name like output_chain/0/threshold_db",
        )


def report_value(report: dict[str, Any], key: str) -> Any:
    """A report entry for the OSC report: verdict as text ('' if undefined), numbers as
    float (NaN if undefined, so the argument types never change)."""
    value = report.get(key)
    if key == "verdict":
        return "" if value is None else str(value)
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


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
    p.add_argument("--model", type=Path, help="ONNX model to load at start")
    p.add_argument("--chain", type=Path, help="effect chain JSON to load at start")
    p.add_argument("--provider", default="auto", choices=("auto", "cpu", "cuda"))
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
            model=args.model,
            chain=args.chain,
            provider=args.provider,
            reply_port=args.reply_port,
            allow=tuple(args.allow),
            queue_size=args.queue_size,
            progress_hz=args.progress_hz,
        )
        server = OscServer(config)
    except (ValueError, PathRefused, ModelLoadError, RenderError, OSError) as exc:
        print(f"creative-agent serve: {exc}", file=sys.stderr)
        return 2
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
            f"creative-agent serve: cannot bind {config.host}:{config.port}: {exc}", file=sys.stderr
        )
        return 2

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        server.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    roots = ", ".join(str(r) for r in server.roots.roots)
    model = f"model {server.model.path} ({server.model.provider})" if server.model else "no model"
    print(
        f"creative-agent serve: listening on osc.udp://{host}:{port}/ ({model}; roots: {roots})",
        flush=True,
    )
    t0 = time.monotonic()
    server.serve_forever()
    s = server.status()
    print(
        f"creative-agent serve: stopped after {time.monotonic() - t0:.1f} s "
        f"({s['rendered']} rendered, {s['failed']} failed, {s['errors']} errors)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
