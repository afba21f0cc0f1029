"""``/agent/render`` over OSC: the request checked at once, the job that renders it, and
the messages that answer it.

Everything that can be checked without rendering is checked when the command arrives
(paths through :class:`~plugin_host.paths.AllowedRoots`, the output format, the model),
so a bad request gets its ``/fail`` at once instead of after the queue. The request then
holds a snapshot of the server's model, chain and parameters: later commands do not
change a queued render.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from plugin_host import osc_protocol as proto
from plugin_host.audio_io import AudioFileError, check_output_format
from plugin_host.balance_curve import BalanceCurve
from plugin_host.chain import Chain
from plugin_host.jobs import Job, JobCancelled, ProgressFn
from plugin_host.osc_commands import REPLIES
from plugin_host.osc_state import COMMAND, INTERNAL, PATH, CommandFailed, ServerState
from plugin_host.paths import PathRefused
from plugin_host.render_files import sidecar_path
from plugin_host.render_musical import MusicalError, check_musical
from plugin_host.renderer import RenderCancelled, RenderError
from plugin_host.runtime import LoadedModel, ModelLoadError

Renderer = Callable[..., dict[str, Any]]

CLIP_ID = re.compile(r"[^\x00-\x1f#][^\x00-\x1f]{0,63}")
# The report's measures, (OSC type, report key), in the order /agent/render/report sends
# them: read from its signature in the reply table, between clip_id and report_path.
_REPORT_SIGNATURE = REPLIES["/agent/render/report"].split()
REPORT_FIELDS: tuple[tuple[str, str], ...] = tuple(
    zip(_REPORT_SIGNATURE[2:-2:2], _REPORT_SIGNATURE[3:-2:2], strict=True)
)


@dataclass(frozen=True)
class RenderRequest:
    """One checked render: resolved paths and the server's settings when it was queued.

    balance in [0, 1]; output_gain_db in dB (applied after the output chain); chain: a
    private copy, taken by :meth:`with_chain_copy` once the job is sure to be queued."""

    clip_id: str
    input: Path
    target: Path
    output: Path
    report: Path
    overwrite: bool
    model: LoadedModel
    balance: float | BalanceCurve  # a curve after /agent/param/ramp
    output_gain_db: float
    chain: Chain | None = None
    musical: tuple[tuple[str, Any], ...] = ()  # render's align/transpose, when not default

    @property
    def claims(self) -> list[str]:
        """Files no other waiting or running job may write."""
        return [str(self.output), str(self.report)]

    def with_chain_copy(self, state: ServerState) -> RenderRequest:
        return replace(self, chain=state.chain_copy())


def check_request(args: list[Any], state: ServerState) -> RenderRequest:
    """``s input s target s output [s clip_id [i overwrite]]`` -> a RenderRequest, or
    CommandFailed naming what is wrong (kind ``path`` or ``command``)."""
    raw_in, raw_tg, raw_out = args[:3]
    clip_id = clip_id_arg(args, 3, state)
    overwrite = bool(args[4]) if len(args) > 4 else False
    align, transpose = [*args[5:7], "", ""][:2]
    musical = musical_args(align, transpose, clip_id)
    model = loaded_model(state, clip_id)
    roots = state.roots
    try:
        inp = roots.existing_file(raw_in, "input")
        tgt = roots.existing_file(raw_tg, "target")
        _refuse_model(roots.resolve(raw_out, "output"), model, raw_out, "output")
        out = roots.output_file(raw_out, "output", overwrite=overwrite, inputs=(inp, tgt))
        check_output_format(Path(raw_out))  # named as the client sent it
        raw_report = str(sidecar_path(out, ".json"))
        _refuse_model(roots.resolve(raw_report, "report"), model, raw_report, "report")
        report = roots.output_file(
            raw_report, "report", overwrite=overwrite, inputs=(inp, tgt, out)
        )
    except PathRefused as exc:
        raise CommandFailed(PATH, str(exc), clip_id) from None
    except AudioFileError as exc:
        raise CommandFailed(PATH, f"output: {exc}", clip_id) from None
    return RenderRequest(
        clip_id=clip_id,
        input=inp,
        target=tgt,
        output=out,
        report=report,
        overwrite=overwrite,
        model=model,
        balance=state.render_balance(),
        output_gain_db=state.output_gain_db,
        musical=tuple(musical.items()),
    )


def clip_id_arg(args: list[Any], index: int, state: ServerState) -> str:
    """The optional ``s clip_id`` at ``args[index]``, checked, or the server's next one."""
    if len(args) <= index:
        return state.next_id("clip")
    clip_id: str = args[index]
    if not CLIP_ID.fullmatch(clip_id):
        raise CommandFailed(
            COMMAND, "clip_id must be 1-64 printable characters, not starting with '#'", clip_id
        )
    return clip_id


def loaded_model(state: ServerState, clip_id: str) -> LoadedModel:
    """The server's model, or CommandFailed when none is loaded."""
    if state.model is None:
        raise CommandFailed(
            COMMAND, "no model loaded (start with --model or send /agent/model/load)", clip_id
        )
    return state.model


def musical_args(align: str, transpose: str, clip_id: str | None = None) -> dict[str, Any]:
    """The optional ``s align s transpose`` (empty: the default) as render keyword
    arguments (only those not default); CommandFailed naming a bad one."""
    try:
        return check_musical(align or "none", transpose or "none", "auto").render_kwargs()
    except MusicalError as exc:
        raise CommandFailed(COMMAND, str(exc), clip_id) from None


def _refuse_model(path: Path, model: LoadedModel, raw: str, what: str) -> None:
    if path == model.path:
        raise PathRefused(f"{what}: {raw!r} is the model; refusing to overwrite it")


def run(
    request: RenderRequest,
    renderer: Renderer,
    state: ServerState,
    progress: ProgressFn,
    cancel: threading.Event,
) -> dict[str, Any]:
    """Render ``request`` with ``renderer`` (``plugin_host.render.render``'s signature);
    returns its report."""
    return renderer(
        request.input,
        request.target,
        request.model,
        request.output,
        chain=request.chain,
        output_gain_db=request.output_gain_db,
        balance=request.balance,
        report_path=request.report,
        overwrite=request.overwrite,
        progress=progress,
        cancel=cancel,
        allow_roots=state.roots,
        share_calibration=state.config.share_calibration,
        **dict(request.musical),
    )


def report_message(clip_id: str, report: dict[str, Any]) -> bytes:
    """``/agent/render/report``: the REPORT_FIELDS, each in its own typed slot, then the
    JSON report's path."""
    values = [report_value(report, key, tag) for tag, key in REPORT_FIELDS]
    path = report.get("report_path") or ""
    return proto.build("/agent/render/report", clip_id, *values, str(path))


def report_value(report: dict[str, Any], key: str, tag: str) -> str | float:
    """A report entry as its OSC type: ``s`` as text ('' when undefined), ``f`` as float
    (NaN when undefined, so the argument types never change)."""
    value = report.get(key)
    if tag == "s":
        return "" if value is None else str(value)
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def failure(error: BaseException, job: Job, stopping: bool) -> tuple[str, str | None]:
    """A failed render's ``/fail`` message and the error counter it adds to (None for a
    cancel, which is no error)."""
    if isinstance(error, JobCancelled):
        return f"cancelled ({error})", None
    if isinstance(error, RenderCancelled) or job.cancel.is_set():
        return f"cancelled ({'server is shutting down' if stopping else 'while rendering'})", None
    if isinstance(error, RenderError | PathRefused | ModelLoadError | ValueError):
        return str(error), COMMAND
    return f"internal error: {error}", INTERNAL
