"""The OSC server's address table: every command's arguments, what it sends before its
final answer and its ``/done``; the messages the server sends; argument checking.

docs/osc.md's tables are generated from here (``address_table_markdown``) and a test
keeps them in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugin_host.osc_protocol import BAD_ARGS, Message, ProtocolError


@dataclass(frozen=True)
class Param:
    """One argument of a command: OSC type ('i', 'f' or 's') and name."""

    type: str
    name: str


@dataclass(frozen=True)
class Command:
    """A command address: its arguments (the first ``required`` are mandatory), what it
    sends before its final answer, the arguments of its ``/done``, and one line of help.
    Its ``/fail`` is always ``/fail s command s message`` (+ ``s clip_id`` for renders)."""

    address: str
    params: tuple[Param, ...]
    required: int
    replies: str
    done: str
    help: str

    def signature(self) -> str:
        """``s input s target s output [s clip_id [i overwrite]]``-style text."""
        parts = [f"{p.type} {p.name}" for p in self.params]
        text = " ".join(parts[: self.required])
        optional = parts[self.required :]
        if optional:
            tail = "".join(f" [{p}" for p in optional) + "]" * len(optional)
            text = (text + tail).strip()
        return text


def _cmd(address: str, sig: str, required: int, replies: str, done: str, help_: str) -> Command:
    tokens = sig.split()
    params = tuple(Param(tokens[i], tokens[i + 1]) for i in range(0, len(tokens), 2))
    return Command(address, params, required, replies, done, help_)


COMMANDS: dict[str, Command] = {
    c.address: c
    for c in (
        _cmd("/agent/ping", "i token", 0, "/agent/pong [i token]", "[i token]", "liveness check"),
        _cmd(
            "/agent/sync",
            "i id",
            1,
            "/agent/synced i id",
            "i id",
            "barrier: answered once every job queued before it has finished",
        ),
        _cmd(
            "/agent/version",
            "",
            0,
            "/agent/version.reply s name s version i protocol",
            "",
            "package and protocol version",
        ),
        _cmd(
            "/agent/status",
            "",
            0,
            "/agent/status.reply (below)",
            "",
            "model, provider, chain, parameters, jobs, error counts",
        ),
        _cmd(
            "/agent/notify",
            "i reply_port",
            1,
            "",
            "i reply_port",
            "also send replies, progress and reports to this port on the sender's host (0 = stop)",
        ),
        _cmd("/agent/model/load", "s path", 1, "", "s real_path", "load an ONNX model"),
        _cmd("/agent/chain/load", "s path", 1, "", "s real_path", "load an effect chain JSON"),
        _cmd(
            "/agent/param/set",
            "s name f value",
            2,
            "",
            "s name f value",
            "set balance (0..1), output_gain_db (-96..24) or a chain parameter "
            "(e.g. output_chain/0/threshold_db)",
        ),
        _cmd(
            "/agent/param/ramp",
            "s name f value f seconds",
            3,
            "",
            "s name f value f seconds",
            "the next render ramps balance from its current value to VALUE over SECONDS "
            "(0..3600), then holds; balance is VALUE afterwards",
        ),
        _cmd(
            "/agent/param/get",
            "s name",
            1,
            "/agent/param/value s name f value",
            "s name",
            "read a parameter",
        ),
        _cmd(
            "/agent/render",
            "s input s target s output s clip_id i overwrite s align s transpose",
            3,
            "/agent/render/queued, /agent/render/progress (≤ 10/s), /agent/render/report",
            "s clip_id",
            "queue a render of INPUT × TARGET into OUTPUT (report: OUTPUT plus .json, e.g. take2.wav.json); "
            "align none|tempo, transpose none|auto|N ('' = none)",
        ),
        _cmd(
            "/agent/render/variations",
            "s input s target s output s balances s transposes s clip_id i overwrite s align",
            4,
            "/agent/render/queued, /agent/render/progress (≤ 10/s), one /agent/render/report per variation",
            "s clip_id",
            "render every balance × transpose (comma lists, e.g. '0.3,0.5,0.7' and 'auto,0'; "
            "'' = the server's balance / none) into OUTPUT.b0.30.wav-style files with one model session",
        ),
        _cmd(
            "/agent/render/cancel",
            "s clip_id",
            1,
            "",
            "s clip_id",
            "cancel a queued or running render (the render then answers /fail)",
        ),
    )
}

# Messages the server sends (address -> argument signature), for docs and tests.
REPLIES: dict[str, str] = {
    "/done": "s command [extra...]",
    "/fail": "s command s message [s clip_id]",
    "/agent/pong": "[i token]",
    "/agent/synced": "i id",
    "/agent/version.reply": "s name s version i protocol",
    "/agent/status.reply": (
        "s model s provider s chain f balance f output_gain_db i queued s running "
        "i rendered i failed i errors s error_counts_json"
    ),
    "/agent/param/value": "s name f value",
    "/agent/render/queued": "s clip_id i position",
    "/agent/render/progress": "s clip_id f fraction",
    "/agent/render/report": (
        "s clip_id f output_input_corr f output_target_corr s verdict f share_input "
        "f onset_corr_input f chroma_cos_target f rtf s report_path"
    ),
}


def coerce_args(command: Command, msg: Message) -> list[Any]:
    """Check arity and types of ``msg`` against ``command``; returns the arguments as
    int / float / str. Numbers are lenient across i/f (Pd sends every number as f):
    an ``i`` parameter takes an integral float, an ``f`` parameter takes an int."""
    n = len(msg.args)
    if not command.required <= n <= len(command.params):
        raise ProtocolError(
            BAD_ARGS,
            command.address,
            f"expects {command.signature() or 'no arguments'}; got {n} argument(s)",
        )
    out: list[Any] = []
    for param, value, tag in zip(command.params, msg.args, msg.tags, strict=False):
        if param.type == "s":
            if not isinstance(value, str):
                raise ProtocolError(
                    BAD_ARGS, command.address, f"{param.name} must be a string (s), got {tag}"
                )
            out.append(value)
        elif isinstance(value, str):
            raise ProtocolError(
                BAD_ARGS,
                command.address,
                f"{param.name} must be a number ({param.type}), got a string",
            )
        elif param.type == "i":
            if isinstance(value, float) and not value.is_integer():
                raise ProtocolError(
                    BAD_ARGS, command.address, f"{param.name} must be an integer, got {value}"
                )
            out.append(int(value))
        else:
            out.append(float(value))
    return out


def address_table_markdown() -> str:
    """The command table of docs/osc.md (a test keeps the doc in sync with this)."""
    lines = [
        "| address | arguments | sends first | final answer | what it does |",
        "|---|---|---|---|---|",
    ]
    for c in COMMANDS.values():
        sig = f"`{c.signature()}`" if c.params else "—"
        replies = f"`{c.replies}`" if c.replies else "—"
        done = f"`/done s {c.address}" + (f" {c.done}`" if c.done else "`")
        lines.append(f"| `{c.address}` | {sig} | {replies} | {done} | {c.help} |")
    return "\n".join(lines)
