"""OSC 1.0 datagrams for the control server: strict parsing and reply building.

Nothing here touches a socket. ``parse_datagram`` turns untrusted bytes into a list of
:class:`Message` (a bundle is flattened) or raises :class:`ProtocolError` naming the kind
of fault (the server counts faults by kind) and, where it could be read, the address.
It never sleeps, never builds a regex from the address, and runs in time linear in the
datagram's length, so a hostile packet costs microseconds.

Rules (stricter than python-osc on purpose; see docs/osc.md):

- a datagram is at most ``max_size`` bytes and a multiple of 4 bytes long;
- strings are NUL-terminated, NUL-padded to 4 bytes and valid UTF-8;
- an address is printable ASCII starting with ``/``, at most ``MAX_ADDRESS`` bytes, and
  has no pattern characters ``* ? [ ] { }`` (every address here is a command);
- type tags ``i f s h d T F`` only (``h``/``d`` are widened, ``T``/``F`` become 1/0);
  any other tag refuses the message; floats must be finite;
- a bundle holds at most ``MAX_BUNDLE_MESSAGES`` messages, nests at most
  ``MAX_BUNDLE_DEPTH`` deep, and its timetag is "immediately" or not in the future
  (the server never schedules; a future bundle is refused, never slept on);
- a bundle is atomic: one bad element refuses the whole bundle.
"""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder

PROTOCOL_VERSION = 1
MAX_DATAGRAM = 8192  # bytes accepted in one datagram
RECV_BUFFER = 65536 + 4096  # read more than the largest UDP payload so nothing is truncated
MAX_ADDRESS = 128  # bytes
MAX_BUNDLE_MESSAGES = 32
MAX_BUNDLE_DEPTH = 4
FUTURE_TOLERANCE_S = 1.0  # clock slack before a bundle counts as "in the future"
MAX_REPLY_STRING = 512  # bytes per string argument in a reply (replies stay < ~1 KiB)
PATTERN_CHARS = frozenset("*?[]{}")
SUPPORTED_TAGS = frozenset("ifshdTF")
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
BUNDLE_HEADER = b"#bundle\0"
IMMEDIATE = 1  # the OSC timetag meaning "now"

# Error kinds (the server's counters in /agent/status.reply use these names).
OVERSIZED = "oversized"
MALFORMED = "malformed"
PATTERN = "pattern"
NON_FINITE = "non_finite"
BUNDLE = "bundle"
UNKNOWN_COMMAND = "unknown_command"
BAD_ARGS = "bad_args"
ERROR_KINDS = (OVERSIZED, MALFORMED, PATTERN, NON_FINITE, BUNDLE, UNKNOWN_COMMAND, BAD_ARGS)


class ProtocolError(ValueError):
    """A datagram or message the server refuses.

    kind: one of ``ERROR_KINDS``; command: the address if it could be read ('' if not,
    '#bundle' for a refused bundle); the message is one line for the ``/fail`` reply.
    """

    def __init__(self, kind: str, command: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.command = command
        self.message = message


@dataclass(frozen=True)
class Message:
    """One parsed OSC message: address, arguments (int, float or str) and the type tags
    as sent ('' when the sender omitted the type tag string)."""

    address: str
    args: tuple[Any, ...]
    tags: str


# ---------------------------------------------------------------------------- parsing


def _read_string(data: bytes, pos: int, what: str, command: str) -> tuple[str, int]:
    """A NUL-terminated, 4-byte padded UTF-8 string at ``pos`` -> (text, next offset)."""
    end = data.find(b"\0", pos)
    if end < 0:
        raise ProtocolError(MALFORMED, command, f"unterminated {what}")
    nxt = (end + 4) & ~3
    if nxt > len(data):
        raise ProtocolError(MALFORMED, command, f"{what} padding runs past the datagram")
    if data[end:nxt].strip(b"\0"):
        raise ProtocolError(MALFORMED, command, f"{what} padding is not NUL bytes")
    try:
        return data[pos:end].decode("utf-8"), nxt
    except UnicodeDecodeError:
        raise ProtocolError(MALFORMED, command, f"{what} is not valid UTF-8") from None


def peek_address(data: bytes) -> str:
    """The address at the start of ``data`` if it reads as one, else '' (for ``/fail``
    replies to datagrams refused before parsing, e.g. oversized ones)."""
    if data.startswith(BUNDLE_HEADER):
        return "#bundle"
    head = data[: MAX_ADDRESS + 1]
    end = head.find(b"\0")
    if end <= 0 or not head.startswith(b"/"):
        return ""
    raw = head[:end]
    if all(0x21 <= c <= 0x7E for c in raw):
        return raw.decode("ascii")
    return ""


def check_address(address: str) -> None:
    """Refuse addresses that are not plain printable command paths (O(len))."""
    if not address.startswith("/"):
        raise ProtocolError(MALFORMED, "", "address does not start with '/'")
    if len(address) > MAX_ADDRESS:
        raise ProtocolError(MALFORMED, address[:64], f"address longer than {MAX_ADDRESS} bytes")
    if not all(0x21 <= ord(c) <= 0x7E for c in address):
        raise ProtocolError(MALFORMED, "", "address has non-printable or non-ASCII characters")
    if any(c in PATTERN_CHARS for c in address):
        raise ProtocolError(
            PATTERN, address, "address patterns (* ? [ ] { }) are not accepted for commands"
        )


def parse_message(data: bytes) -> Message:
    """Parse one OSC message (``len(data) % 4 == 0`` already checked by the caller)."""
    if not data.startswith(b"/"):
        raise ProtocolError(MALFORMED, "", "not an OSC message (no leading '/')")
    # Length-limit before decoding so a megabyte of stars is never even scanned twice.
    head_end = data.find(b"\0", 0, MAX_ADDRESS + 1)
    if head_end < 0:
        cmd = peek_address(data)
        if any(c in data[:MAX_ADDRESS] for c in b"*?[]{}"):
            raise ProtocolError(
                PATTERN, cmd, "address patterns (* ? [ ] { }) are not accepted for commands"
            )
        raise ProtocolError(MALFORMED, cmd, f"address unterminated within {MAX_ADDRESS} bytes")
    address, pos = _read_string(data, 0, "address", "")
    check_address(address)
    if pos == len(data):  # old senders omit the type tag string: no arguments
        return Message(address, (), "")
    if data[pos : pos + 1] != b",":
        raise ProtocolError(MALFORMED, address, "type tag string missing (expected ',')")
    tags, pos = _read_string(data, pos, "type tag string", address)
    tags = tags[1:]
    for tag in tags:
        if tag not in SUPPORTED_TAGS:
            raise ProtocolError(BAD_ARGS, address, f"unsupported type tag {tag!r} (use i, f or s)")
    args: list[Any] = []
    for tag in tags:
        if tag in "if":
            if pos + 4 > len(data):
                raise ProtocolError(MALFORMED, address, "arguments shorter than type tags say")
            (value,) = struct.unpack_from(">i" if tag == "i" else ">f", data, pos)
            pos += 4
        elif tag in "hd":
            if pos + 8 > len(data):
                raise ProtocolError(MALFORMED, address, "arguments shorter than type tags say")
            (value,) = struct.unpack_from(">q" if tag == "h" else ">d", data, pos)
            pos += 8
        elif tag == "s":
            value, pos = _read_string(data, pos, "string argument", address)
        else:  # T / F carry no bytes
            value = 1 if tag == "T" else 0
        if isinstance(value, float) and not math.isfinite(value):
            raise ProtocolError(NON_FINITE, address, "NaN or infinite float argument")
        args.append(value)
    if pos != len(data):
        raise ProtocolError(MALFORMED, address, f"{len(data) - pos} bytes after the arguments")
    return Message(address, tuple(args), tags)


def ntp_now() -> float:
    """Now as NTP seconds (since 1900), the clock OSC timetags use."""
    return time.time() + NTP_EPOCH_OFFSET


def _parse_bundle(data: bytes, depth: int, now: float, out: list[Message]) -> None:
    if depth > MAX_BUNDLE_DEPTH:
        raise ProtocolError(BUNDLE, "#bundle", f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    if len(data) < 16:
        raise ProtocolError(BUNDLE, "#bundle", "bundle shorter than its 16-byte header")
    (timetag,) = struct.unpack_from(">Q", data, 8)
    if timetag > IMMEDIATE:
        when = (timetag >> 32) + (timetag & 0xFFFFFFFF) / 2**32
        if when > now + FUTURE_TOLERANCE_S:
            raise ProtocolError(
                BUNDLE,
                "#bundle",
                f"bundle timetag is {when - now:.0f} s in the future (scheduling is not supported)",
            )
    pos = 16
    if pos == len(data):
        raise ProtocolError(BUNDLE, "#bundle", "empty bundle")
    while pos < len(data):
        if pos + 4 > len(data):
            raise ProtocolError(BUNDLE, "#bundle", "bundle element size cut off")
        (size,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if size <= 0 or size % 4 or pos + size > len(data):
            raise ProtocolError(BUNDLE, "#bundle", f"bad bundle element size {size}")
        element = data[pos : pos + size]
        pos += size
        if element.startswith(BUNDLE_HEADER):
            _parse_bundle(element, depth + 1, now, out)
        else:
            out.append(parse_message(element))
        if len(out) > MAX_BUNDLE_MESSAGES:
            raise ProtocolError(
                BUNDLE, "#bundle", f"bundle holds more than {MAX_BUNDLE_MESSAGES} messages"
            )


def parse_datagram(
    data: bytes, max_size: int = MAX_DATAGRAM, now_ntp: float | None = None
) -> list[Message]:
    """Untrusted bytes -> the messages they carry, in order (bundles flattened).

    Raises ProtocolError; a refused bundle runs none of its messages.
    """
    if len(data) > max_size:
        raise ProtocolError(
            OVERSIZED, peek_address(data), f"datagram of {len(data)} bytes (max {max_size})"
        )
    if not data:
        raise ProtocolError(MALFORMED, "", "empty datagram")
    if len(data) % 4:
        raise ProtocolError(
            MALFORMED, peek_address(data), f"datagram length {len(data)} is not a multiple of 4"
        )
    if data.startswith(BUNDLE_HEADER):
        out: list[Message] = []
        _parse_bundle(data, 1, ntp_now() if now_ntp is None else now_ntp, out)
        return out
    return [parse_message(data)]


# --------------------------------------------------------------------------- replies


def clip_text(text: str, limit: int = MAX_REPLY_STRING) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes (on a character boundary), one line."""
    one_line = " ".join(str(text).split())
    raw = one_line.encode("utf-8")
    if len(raw) <= limit:
        return one_line
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "..."


def build(address: str, *args: Any) -> bytes:
    """An OSC message as bytes. Arguments: str -> s, bool/int -> i (int32, clamped),
    float -> f (NaN stays NaN: it marks an undefined measure); strings are clipped so a
    reply stays well under 1 KiB."""
    b = OscMessageBuilder(address)
    for a in args:
        if isinstance(a, str):
            b.add_arg(clip_text(a), "s")
        elif isinstance(a, bool | int):
            b.add_arg(max(-(2**31), min(2**31 - 1, int(a))), "i")
        elif isinstance(a, float):
            b.add_arg(a, "f")
        else:
            raise TypeError(f"build: unsupported reply argument {a!r}")
    return bytes(b.build().dgram)


def fail(command: str, message: str, clip_id: str | None = None) -> bytes:
    """``/fail s command s message [s clip_id]``."""
    args = [clip_text(command, 128), clip_text(message, 300)]
    if clip_id is not None:
        args.append(clip_text(clip_id, 128))
    return build("/fail", *args)


def done(command: str, *extra: Any) -> bytes:
    """``/done s command [extra...]``."""
    return build("/done", command, *extra)
