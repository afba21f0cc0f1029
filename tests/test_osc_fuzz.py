"""Fuzz the OSC server with malformed datagrams (hypothesis): every datagram is answered,
and the server keeps answering /agent/ping.

Each example sends one datagram, then ``/agent/ping i k`` as a barrier: the server
handles datagrams in order, so the fuzz datagram's own answer (at least one /done or
/fail) must arrive before the barrier's /done.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder
from test_osc_harness import OscClient, ServerProcess, start_server

from plugin_host.osc_protocol import BUNDLE_HEADER

# Seeds to mutate: well-formed messages of the real address space (no /agent/sync: its
# answer comes from the worker, after the barrier).
SEED_MESSAGES: list[tuple[str, list[tuple[Any, str]]]] = [
    ("/agent/ping", [(3, "i")]),
    ("/agent/status", []),
    ("/agent/param/set", [("balance", "s"), (0.25, "f")]),
    ("/agent/param/get", [("balance", "s")]),
    ("/agent/render", [("in.wav", "s"), ("tg.wav", "s"), ("fz.wav", "s"), ("fz", "s")]),
    ("/agent/render/cancel", [("fz", "s")]),
    ("/agent/model/load", [("../x.onnx", "s")]),
]
SEEDS: list[bytes] = []
for address, args in SEED_MESSAGES:
    b = OscMessageBuilder(address)
    for value, tag in args:
        b.add_arg(value, tag)
    SEEDS.append(bytes(b.build().dgram))


def bundle_of(timetag: int, parts: list[bytes]) -> bytes:
    return (
        BUNDLE_HEADER
        + struct.pack(">Q", timetag)
        + b"".join(struct.pack(">i", len(p)) + p for p in parts)
    )


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed with bytes flipped, cut, inserted or appended."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "append"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            data += draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@st.composite
def structured(draw: st.DrawFn) -> bytes:
    """A message-shaped datagram: odd addresses (patterns, long, non-ASCII), any type
    tags (including unsupported ones) and arbitrary argument bytes."""
    # (never /agent/notify: a random reply port could be another program's on this machine)
    address = draw(
        st.one_of(
            st.sampled_from(["/agent/render", "/agent/ping", "/agent/status", "/agent/*"]),
            st.text(alphabet="/agent*?[]{},!#é ", min_size=0, max_size=40),
            st.just("/" + "*" * 150 + "z"),
        )
    ).encode("utf-8")
    tags = draw(st.text(alphabet="ifshdTFNcmbrt[]", max_size=8)).encode()
    payload = draw(st.binary(max_size=64))
    pad = lambda b: b + b"\0" * (4 - len(b) % 4)  # noqa: E731
    return pad(address) + pad(b"," + tags) + payload


@st.composite
def bundles(draw: st.DrawFn) -> bytes:
    timetag = draw(st.one_of(st.just(1), st.integers(0, 2**64 - 1)))
    parts = draw(st.lists(st.one_of(st.sampled_from(SEEDS), mutated()), max_size=5))
    data = bundle_of(timetag, parts)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
    return data


DATAGRAMS = st.one_of(
    st.binary(max_size=512),
    mutated(),
    structured(),
    bundles(),
    # around the size limit (hypothesis cannot draw 8 KiB of random bytes itself)
    st.tuples(st.sampled_from(SEEDS), st.integers(8180, 8200)).map(
        lambda t: (t[0] * (t[1] // len(t[0]) + 1))[: t[1]]
    ),
)


@pytest.fixture(scope="module")
def fuzz_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_onnx: Path
) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("fuzz")
    server = start_server(root, "--model", str(tiny_onnx))
    yield server
    assert server.stop() == 0, server.output()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_server: ServerProcess) -> Iterator[OscClient]:
    c = OscClient(fuzz_server.address)
    yield c
    c.close()


class Barrier:
    token = 700_000_000  # far from any token a mutated seed ping could carry


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: a CI failure reproduces
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=DATAGRAMS)
def test_every_datagram_is_answered_and_ping_survives(
    fuzz_server: ServerProcess, fuzz_client: OscClient, data: bytes
) -> None:
    Barrier.token += 1
    token = Barrier.token
    fuzz_client.send_raw(data)
    fuzz_client.send("/agent/ping", token)
    got = fuzz_client.until(lambda r: r == ("/done", ["/agent/ping", token]))
    before_barrier = got[: got.index(("/agent/pong", [token]))]
    answers = [r for r in before_barrier if r[0] in ("/done", "/fail")]
    assert answers, f"no answer to {data[:64]!r}: {got}"
    for addr, args in answers:
        assert isinstance(args[0], str) and (addr == "/done" or isinstance(args[1], str))


def test_server_still_healthy_after_fuzzing(
    fuzz_server: ServerProcess, fuzz_client: OscClient
) -> None:
    fuzz_client.drain(0.1)
    assert fuzz_client.call("/agent/ping", 0) == [
        ("/agent/pong", [0]),
        ("/done", ["/agent/ping", 0]),
    ]
    assert fuzz_server.proc.poll() is None
    assert "Traceback" not in fuzz_server.output()
