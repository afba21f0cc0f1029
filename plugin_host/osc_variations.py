"""``/agent/render/variations`` over OSC: every balance x transpose of one pair in one job
(:mod:`plugin_host.variations`), one ``/agent/render/report`` per variation as it finishes,
then one ``/done``; and the optional ``align``/``transpose`` arguments of ``/agent/render``.

Arguments: ``s input s target s output s balances [s transposes [s clip_id [i overwrite
[s align]]]]``; ``balances`` and ``transposes`` are comma lists (``"0.3,0.5,0.7"``,
``"auto,0"``); an empty ``balances`` takes the server's balance, an empty ``transposes``
``none``. Every variation's output and report path is checked when the command arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from plugin_host.audio_io import AudioFileError, check_output_format
from plugin_host.balance_curve import parse_balances
from plugin_host.chain import Chain
from plugin_host.jobs import ProgressFn
from plugin_host.osc_render import clip_id_arg, loaded_model
from plugin_host.osc_state import COMMAND, PATH, CommandFailed, ServerState
from plugin_host.paths import PathRefused
from plugin_host.render_files import sidecar_path
from plugin_host.render_musical import MusicalError, check_musical
from plugin_host.renderer import RenderError
from plugin_host.runtime import LoadedModel
from plugin_host.variations import Variation, plan, render_variations


@dataclass(frozen=True)
class VariationsRequest:
    """One checked variations job: resolved paths, the plan, the server's settings."""

    clip_id: str
    input: Path
    target: Path
    output: Path
    todo: tuple[Variation, ...]
    align: str
    overwrite: bool
    model: LoadedModel
    output_gain_db: float
    chain: Chain | None = None

    @property
    def claims(self) -> list[str]:
        """Every variation's audio and report."""
        return [str(p) for v in self.todo for p in (v.output, sidecar_path(v.output, ".json"))]

    def with_chain_copy(self, state: ServerState) -> VariationsRequest:
        return replace(self, chain=state.chain_copy())


def _floats(text: str, default: float) -> list[float]:
    if not text.strip():
        return [default]
    try:
        return parse_balances(text)
    except ValueError as exc:
        raise CommandFailed(COMMAND, f"balances {exc}") from None


def check_request(args: list[Any], state: ServerState) -> VariationsRequest:
    """The command's arguments -> a VariationsRequest, or CommandFailed (``path`` or
    ``command``) naming what is wrong."""
    raw_in, raw_tg, raw_out, raw_b = args[:4]
    raw_t = args[4] if len(args) > 4 else ""
    clip_id = clip_id_arg(args, 5, state)
    overwrite = bool(args[6]) if len(args) > 6 else False
    align = (args[7] if len(args) > 7 else "") or "none"
    model = loaded_model(state, clip_id)
    try:
        balances = _floats(raw_b, state.balance)
        if any(not 0.0 <= b <= 1.0 for b in balances):
            raise CommandFailed(COMMAND, f"balances {raw_b!r}: each must be in [0, 1]", clip_id)
        check_musical(align, "none", "auto")
        todo = plan(raw_out, balances, raw_t.split(",") if raw_t.strip() else ["none"])
    except (MusicalError, RenderError) as exc:
        raise CommandFailed(COMMAND, str(exc), clip_id) from None
    roots = state.roots
    try:
        inp = roots.existing_file(raw_in, "input")
        tgt = roots.existing_file(raw_tg, "target")
        check_output_format(Path(raw_out))
        checked = []
        for v in todo:
            taken = (inp, tgt, model.path)
            out = roots.output_file(str(v.output), "output", overwrite=overwrite, inputs=taken)
            roots.output_file(str(sidecar_path(out, ".json")), "report", overwrite=overwrite,
                              inputs=(*taken, out))  # fmt: skip
            checked.append(replace(v, output=out))
    except PathRefused as exc:
        raise CommandFailed(PATH, str(exc), clip_id) from None
    except AudioFileError as exc:
        raise CommandFailed(PATH, f"output: {exc}", clip_id) from None
    base = roots.resolve(raw_out, "output")
    return VariationsRequest(clip_id, inp, tgt, base, tuple(checked), align, overwrite, model,
                             state.output_gain_db)  # fmt: skip


def run(
    request: VariationsRequest,
    state: ServerState,
    progress: ProgressFn,
    cancel: threading.Event,
    on_report: Callable[[Variation, dict[str, Any]], None],
) -> list[tuple[Variation, dict[str, Any]]]:
    """Render every variation of ``request`` (one model session); ``on_report`` gets each
    report as it finishes. Returns them ranked."""
    todo = request.todo
    return render_variations(
        request.input, request.target, request.model, request.output,
        balances=list(dict.fromkeys(v.balance for v in todo)),
        transposes=list(dict.fromkeys(v.transpose for v in todo)),
        align=request.align, overwrite=request.overwrite, allow_roots=state.roots,
        progress=progress, cancel=cancel, on_report=on_report, chain=request.chain,
        output_gain_db=request.output_gain_db,
        share_calibration=state.config.share_calibration,
    )  # fmt: skip
