"""What the OSC server knows between datagrams: its configuration, the loaded model and
chain, the two server parameters, registered reply ports and the counters.

Commands read and change a :class:`ServerState`; the render worker reads it through a
lock-free snapshot taken when a render is queued (see :mod:`plugin_host.osc_render`).
"""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin_host import osc_protocol as proto
from plugin_host.balance_curve import BalanceCurve
from plugin_host.chain import Chain
from plugin_host.jobs import JobQueue
from plugin_host.paths import AllowedRoots
from plugin_host.runtime import LoadedModel, load_model

Address = tuple[str, int]

# Server-side error kinds, besides the protocol's (proto.ERROR_KINDS).
PATH = "path"
QUEUE_FULL = "queue_full"
COMMAND = "command"  # a well-formed command that could not be carried out
DENIED = "denied"  # datagrams from a source outside --allow (dropped, never answered)
SEND = "send"  # replies the OS refused to send
INTERNAL = "internal"
ERROR_KINDS = (*proto.ERROR_KINDS, PATH, QUEUE_FULL, COMMAND, DENIED, SEND, INTERNAL)

BALANCE_RANGE = (0.0, 1.0)
OUTPUT_GAIN_RANGE_DB = (-96.0, 24.0)
RAMP_SECONDS_RANGE = (0.0, 3600.0)  # /agent/param/ramp's duration
# Finished renders, by outcome (/agent/status.reply and the shutdown line).
RENDERED = "rendered"
FAILED = "failed"  # failed or cancelled


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
    share_calibration: bool = True  # every render's masked share follows the knob
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


class ServerState:
    """The server's state; every method is safe to call from the receive loop and the
    render worker (a lock guards the clients and the counters)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.roots = AllowedRoots(config.roots or (Path.cwd(),))
        self.model: LoadedModel | None = None
        self.chain: Chain | None = None
        self.chain_path: Path | None = None
        self.balance = 0.5
        self.output_gain_db = 0.0
        self.ramp: tuple[float, float] | None = None  # (value, seconds) for the next render
        self.clients: set[Address] = set()
        self.errors: Counter[str] = Counter()
        self.renders: Counter[str] = Counter()
        self._serials: Counter[str] = Counter()
        self._lock = threading.Lock()
        if config.model is not None:
            self.model = load_model(config.model.resolve(), provider=config.provider)
        if config.chain is not None:
            self.chain_path = config.chain.resolve()
            self.chain = Chain.from_json(self.chain_path)

    # ----------------------------------------------------------------- counters
    def next_id(self, prefix: str) -> str:
        """``prefix-1``, ``prefix-2``, ... (default clip ids, internal job ids)."""
        with self._lock:
            self._serials[prefix] += 1
            return f"{prefix}-{self._serials[prefix]}"

    def count(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1

    def count_render(self, outcome: str) -> None:
        """One finished render: ``RENDERED`` or ``FAILED`` (syncs are not renders)."""
        with self._lock:
            self.renders[outcome] += 1

    def status(self, jobs: JobQueue) -> dict[str, Any]:
        """The values of /agent/status.reply, by name."""
        with self._lock:
            errors = {k: self.errors.get(k, 0) for k in ERROR_KINDS}
            renders = dict(self.renders)
        model = self.model
        return {
            "model": str(model.path) if model else "",
            "provider": model.provider if model else "",
            "chain": str(self.chain_path) if self.chain_path else "",
            "balance": float(self.balance),
            "output_gain_db": float(self.output_gain_db),
            "queued": len(jobs),
            "running": jobs.running_id or "",
            "rendered": renders.get(RENDERED, 0),
            "failed": renders.get(FAILED, 0),
            "errors": sum(errors.values()),
            "error_counts": errors,
        }

    # ------------------------------------------------------------------ clients
    def allowed(self, host: str) -> bool:
        """Whether a datagram from ``host`` is answered (always, without --allow)."""
        if not self.config.allow_networks:
            return True
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        return any(ip in net for net in self.config.allow_networks)

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

    def register(self, sender: Address, port: int) -> None:
        """/agent/notify: add (sender's IP, port) as a reply target; 0 removes the IP's."""
        if not 0 <= port <= 65535:
            raise CommandFailed(COMMAND, f"reply_port {port} is not a UDP port (0 = stop)")
        with self._lock:
            if port == 0:
                self.clients = {c for c in self.clients if c[0] != sender[0]}
                return
            limit = self.config.max_clients
            if (sender[0], port) not in self.clients and len(self.clients) >= limit:
                raise CommandFailed(COMMAND, f"too many registered clients ({limit})")
            self.clients.add((sender[0], port))

    # --------------------------------------------------------------- parameters
    def set_param(self, name: str, value: float) -> None:
        """Set ``balance``, ``output_gain_db`` or a chain parameter ``section/index/name``."""
        if name == "balance":
            self.balance = _in_range(name, value, BALANCE_RANGE)
        elif name == "output_gain_db":
            self.output_gain_db = _in_range(name, value, OUTPUT_GAIN_RANGE_DB)
        else:
            _check_param_name(name)
            try:
                (self.chain or Chain.from_json({})).set_param(name, value)
            except ValueError as exc:  # ChainError: one line naming the parameter
                raise CommandFailed(COMMAND, str(exc)) from None

    def set_ramp(self, name: str, value: float, seconds: float) -> None:
        """/agent/param/ramp: the next render ramps ``balance`` to ``value`` over ``seconds``."""
        if name != "balance":
            raise CommandFailed(COMMAND, f"only balance can ramp, got {name!r}")
        self.ramp = (
            _in_range("value", value, BALANCE_RANGE),
            _in_range("seconds", seconds, RAMP_SECONDS_RANGE),
        )

    def render_balance(self) -> float | BalanceCurve:
        """The next render's knob: a ramp from ``balance`` when one is set, else ``balance``."""
        if self.ramp is None:
            return float(self.balance)
        return BalanceCurve.ramp(self.balance, *self.ramp)

    def ramp_used(self) -> None:
        """A render took the ramp (queued): balance is now its end value; the ramp is cleared."""
        if self.ramp is not None:
            self.balance, self.ramp = self.ramp[0], None

    def get_param(self, name: str) -> float:
        if name == "balance":
            return float(self.balance)
        if name == "output_gain_db":
            return float(self.output_gain_db)
        _check_param_name(name)
        try:
            return float((self.chain or Chain.from_json({})).get_param(name))
        except ValueError as exc:
            raise CommandFailed(COMMAND, str(exc)) from None

    def chain_copy(self) -> Chain | None:
        """A private copy of the chain for one render (later /agent/param/set calls do not
        touch a queued render)."""
        return None if self.chain is None else Chain.from_json(self.chain.to_dict())


def _in_range(name: str, value: float, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    if not lo <= value <= hi:
        raise CommandFailed(COMMAND, f"{name} must be in [{lo:g}, {hi:g}], got {value:g}")
    return float(value)


def _check_param_name(name: str) -> None:
    """Names other than the server's own must look like ``section/index/name``."""
    if "/" not in name:
        raise CommandFailed(
            COMMAND,
            f"unknown parameter {name!r}; valid: balance, output_gain_db, or a chain "
            "parameter section/index/name like output_chain/0/threshold_db",
        )
