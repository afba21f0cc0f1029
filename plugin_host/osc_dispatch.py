"""The OSC server's commands: one datagram in, its answers out.

:class:`Dispatcher` parses a datagram (:mod:`plugin_host.osc_protocol`), runs each
message's handler against the :class:`~plugin_host.osc_state.ServerState` and sends the
replies through the ``send`` callable it is given (the socket is the server's). Every
command ends with exactly one ``/done`` or ``/fail``; a bug in a handler is logged and
answered ``/fail "internal error: ..."``, never raised into the receive loop.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from plugin_host import osc_commands as commands
from plugin_host import osc_protocol as proto
from plugin_host import osc_render, osc_variations
from plugin_host.chain import Chain
from plugin_host.jobs import (
    DuplicateJob,
    Job,
    JobCancelled,
    JobQueue,
    ProgressFn,
    QueueFull,
    Work,
)
from plugin_host.osc_state import (
    COMMAND,
    DENIED,
    FAILED,
    INTERNAL,
    PATH,
    QUEUE_FULL,
    RENDERED,
    Address,
    CommandFailed,
    ServerState,
)
from plugin_host.paths import PathRefused
from plugin_host.renderer import RenderError
from plugin_host.runtime import ModelLoadError, load_model

log = logging.getLogger(__name__)

Send = Callable[[bytes, Iterable[Address]], None]


def package_version() -> str:
    try:
        return version("creative-agent")
    except PackageNotFoundError:
        return "unknown"


class Dispatcher:
    """Answers datagrams. renderer: renders one clip (``plugin_host.render.render``'s
    signature); stopping: set once the server shuts down (a cancelled render says so)."""

    def __init__(
        self,
        state: ServerState,
        jobs: JobQueue,
        send: Send,
        renderer: osc_render.Renderer,
        stopping: threading.Event,
    ) -> None:
        self.state = state
        self.jobs = jobs
        self.send = send
        self.renderer = renderer
        self.stopping = stopping
        self.handlers: dict[str, Callable[[list[Any], Address], None]] = {
            "/agent/ping": self._ping,
            "/agent/sync": self._sync,
            "/agent/version": self._version,
            "/agent/status": self._status,
            "/agent/notify": self._notify,
            "/agent/model/load": self._model_load,
            "/agent/chain/load": self._chain_load,
            "/agent/param/set": self._param_set,
            "/agent/param/ramp": self._param_ramp,
            "/agent/param/get": self._param_get,
            "/agent/render": self._render,
            "/agent/render/cancel": self._render_cancel,
            "/agent/render/variations": self._render_variations,
        }
        assert set(self.handlers) == set(commands.COMMANDS), "handler table out of sync"

    # ----------------------------------------------------------------- dispatch
    def handle_datagram(self, data: bytes, sender: Address) -> None:
        """Parse one datagram and answer each message it carries (never raises)."""
        if not self.state.allowed(sender[0]):
            self.state.count(DENIED)
            return
        try:
            messages = proto.parse_datagram(data, self.state.config.max_datagram)
        except proto.ProtocolError as exc:
            self._fail(sender, exc.kind, exc.command, exc.message)
            return
        for msg in messages:
            self._dispatch(msg, sender)

    def _dispatch(self, msg: proto.Message, sender: Address) -> None:
        command = commands.COMMANDS.get(msg.address)
        if command is None:
            self._fail(sender, proto.UNKNOWN_COMMAND, msg.address, "command not found")
            return
        try:
            args = commands.coerce_args(command, msg)
            self.handlers[msg.address](args, sender)
        except proto.ProtocolError as exc:
            self._fail(sender, exc.kind, msg.address, exc.message)
        except CommandFailed as exc:
            self._fail(sender, exc.kind, msg.address, exc.message, exc.clip_id)
        except Exception as exc:  # a bug must not stop the server: log it, answer /fail
            log.exception("command %s failed", msg.address)
            self._fail(sender, INTERNAL, msg.address, f"internal error: {exc}")

    def _fail(
        self, sender: Address, kind: str, command: str, message: str, clip_id: str | None = None
    ) -> None:
        self.state.count(kind)
        log.info("fail %s from %s:%d: %s", command or "?", *sender, message)
        self.send(proto.fail(command, message, clip_id), self.state.reply_targets(sender))

    def _reply(self, sender: Address, address: str, *args: Any) -> None:
        self.send(proto.build(address, *args), self.state.reply_targets(sender))

    def _done(self, sender: Address, command: str, *extra: Any) -> None:
        self.send(proto.done(command, *extra), self.state.reply_targets(sender))

    # ----------------------------------------------------------------- commands
    def _ping(self, args: list[Any], sender: Address) -> None:
        self._reply(sender, "/agent/pong", *args)
        self._done(sender, "/agent/ping", *args)

    def _sync(self, args: list[Any], sender: Address) -> None:
        (sync_id,) = args

        def finished(job: Job, result: Any, error: BaseException | None) -> None:
            if error is None:
                self._reply(sender, "/agent/synced", sync_id)
                self._done(sender, "/agent/sync", sync_id)
            else:
                self._fail(sender, COMMAND, "/agent/sync", str(error))

        try:
            self.jobs.submit(
                "#" + self.state.next_id("sync"), lambda progress, cancel: None, finished
            )
        except (QueueFull, JobCancelled) as exc:
            raise CommandFailed(QUEUE_FULL, str(exc)) from None

    def _version(self, args: list[Any], sender: Address) -> None:
        self._reply(
            sender,
            "/agent/version.reply",
            "creative-agent",
            package_version(),
            proto.PROTOCOL_VERSION,
        )
        self._done(sender, "/agent/version")

    def _status(self, args: list[Any], sender: Address) -> None:
        s = self.state.status(self.jobs)
        counts = json.dumps(s.pop("error_counts"), separators=(",", ":"))
        self._reply(sender, "/agent/status.reply", *s.values(), counts)
        self._done(sender, "/agent/status")

    def _notify(self, args: list[Any], sender: Address) -> None:
        (port,) = args
        before = self.state.reply_targets(sender)  # "stop" is confirmed where it stops
        self.state.register(sender, port)
        log.info("notify %s:%d -> reply port %d", *sender, port)
        targets = before | self.state.reply_targets(sender)
        self.send(proto.done("/agent/notify", port), targets)

    def _model_load(self, args: list[Any], sender: Address) -> None:
        try:
            path = self.state.roots.existing_file(args[0], "path")
            model = load_model(path, provider=self.state.config.provider)
        except PathRefused as exc:
            raise CommandFailed(PATH, str(exc)) from None
        except ModelLoadError as exc:
            raise CommandFailed(COMMAND, str(exc)) from None
        self.state.model = model
        log.info("model %s loaded (%s)", path, model.provider)
        self._done(sender, "/agent/model/load", str(path))

    def _chain_load(self, args: list[Any], sender: Address) -> None:
        roots = self.state.roots
        try:
            path = roots.existing_file(args[0], "path")
            chain = Chain.from_json(path, allow_roots=roots)
        except PathRefused as exc:
            raise CommandFailed(PATH, str(exc)) from None
        except (RenderError, ValueError, OSError) as exc:
            raise CommandFailed(COMMAND, str(exc)) from None
        self.state.chain, self.state.chain_path = chain, path
        log.info("chain %s loaded", path)
        self._done(sender, "/agent/chain/load", str(path))

    def _param_set(self, args: list[Any], sender: Address) -> None:
        name, value = args
        self.state.set_param(name, value)
        self._done(sender, "/agent/param/set", name, float(value))

    def _param_ramp(self, args: list[Any], sender: Address) -> None:
        name, value, seconds = args
        self.state.set_ramp(name, value, seconds)
        self._done(sender, "/agent/param/ramp", name, float(value), float(seconds))

    def _param_get(self, args: list[Any], sender: Address) -> None:
        (name,) = args
        self._reply(sender, "/agent/param/value", name, self.state.get_param(name))
        self._done(sender, "/agent/param/get", name)

    def _render(self, args: list[Any], sender: Address) -> None:
        request = osc_render.check_request(args, self.state)
        clip_id = request.clip_id
        self._check_room(clip_id)  # refuse before copying the chain
        request = request.with_chain_copy(self.state)
        targets = self.state.job_targets(sender)

        def work(progress: ProgressFn, cancel: threading.Event) -> dict[str, Any]:
            r = request
            log.info("render %s: %s x %s -> %s", clip_id, r.input, r.target, r.output)
            return osc_render.run(request, self.renderer, self.state, progress, cancel)

        def on_progress(job: Job, fraction: float) -> None:
            msg = proto.build("/agent/render/progress", clip_id, fraction)
            self.send(msg, targets | self.state.job_targets(sender))

        def on_finish(job: Job, result: Any, error: BaseException | None) -> None:
            self._render_finished(
                targets | self.state.job_targets(sender), clip_id, job, result, error
            )

        position = self._submit(clip_id, work, on_finish, on_progress, request.claims)
        self.state.ramp_used()
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
            self.state.count_render(RENDERED)
            report = dict(result or {})
            self.send(osc_render.report_message(clip_id, report), targets)
            self.send(proto.done("/agent/render", clip_id), targets)
            elapsed = (job.finished_at or 0.0) - (job.started_at or 0.0)
            verdict = report.get("verdict")
            log.info("render %s done in %.2f s (verdict %s)", clip_id, elapsed, verdict)
            return
        self._send_failure("/agent/render", clip_id, job, error, targets)

    def _render_variations(self, args: list[Any], sender: Address) -> None:
        """Like ``_render``: one job; a report per variation as it finishes, one /done."""
        request = osc_variations.check_request(args, self.state)
        clip_id = request.clip_id
        self._check_room(clip_id)
        request = request.with_chain_copy(self.state)
        targets = self.state.job_targets(sender)

        def work(progress: ProgressFn, cancel: threading.Event) -> dict[str, Any]:
            def on_report(variation: Any, report: dict[str, Any]) -> None:
                msg = osc_render.report_message(clip_id, report)
                self.send(msg, targets | self.state.job_targets(sender))

            log.info("variations %s: %d renders", clip_id, len(request.todo))
            osc_variations.run(request, self.state, progress, cancel, on_report)
            return {}

        def on_progress(job: Job, fraction: float) -> None:
            msg = proto.build("/agent/render/progress", clip_id, fraction)
            self.send(msg, targets | self.state.job_targets(sender))

        def on_finish(job: Job, result: Any, error: BaseException | None) -> None:
            to = targets | self.state.job_targets(sender)
            if error is None:
                self.state.count_render(RENDERED)
                self.send(proto.done("/agent/render/variations", clip_id), to)
                return
            self._send_failure("/agent/render/variations", clip_id, job, error, to)

        position = self._submit(clip_id, work, on_finish, on_progress, request.claims)
        self.send(proto.build("/agent/render/queued", clip_id, position), targets)

    def _check_room(self, clip_id: str) -> None:
        """CommandFailed (QUEUE_FULL) when no job can wait."""
        if len(self.jobs) >= self.jobs.maxsize:
            raise CommandFailed(
                QUEUE_FULL, f"queue full ({self.jobs.maxsize} jobs waiting)", clip_id
            )

    def _send_failure(
        self, address: str, clip_id: str, job: Job, error: BaseException, targets: set[Address]
    ) -> None:
        """Count a failed render job (and its kind), log it, send ``/fail`` to ``targets``."""
        self.state.count_render(FAILED)
        message, kind = osc_render.failure(error, job, self.stopping.is_set())
        if kind is not None:
            self.state.count(kind)
        if kind == INTERNAL:
            log.error("%s %s failed", address, clip_id, exc_info=error)
        log.info("%s %s failed: %s", address, clip_id, message)
        self.send(proto.fail(address, message, clip_id), targets)

    def _submit(
        self,
        clip_id: str,
        work: Work,
        on_finish: Callable[[Job, Any, BaseException | None], None],
        on_progress: Callable[[Job, float], None],
        claims: Iterable[str],
    ) -> int:
        """Queue a render job; its place in the queue. A full queue, a duplicate clip id or a
        cancelled job is a CommandFailed naming the clip."""
        try:
            _, position = self.jobs.submit(clip_id, work, on_finish, on_progress, claims=claims)
        except QueueFull as exc:
            raise CommandFailed(QUEUE_FULL, str(exc), clip_id) from None
        except (DuplicateJob, JobCancelled) as exc:
            raise CommandFailed(COMMAND, str(exc), clip_id) from None
        return position

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
