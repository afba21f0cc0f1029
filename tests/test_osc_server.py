"""plugin_host.osc_server end to end: a real server process, real UDP, the tiny ONNX model.

Every command must end with exactly one /done or /fail; bad input is answered and
counted, never a crash; paths stay inside the roots; renders write real WAV files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pedalboard.io import AudioFile
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient
from test_osc_harness import (
    REPLY_TIMEOUT_S,
    OscClient,
    Reply,
    ServerProcess,
    make_clips,
    start_server,
)

from plugin_host.measures import VERDICTS
from plugin_host.osc_protocol import BUNDLE_HEADER, MAX_BUNDLE_MESSAGES, ntp_now

RENDER_TIMEOUT_S = 60.0  # a 0.5 s clip renders in well under a second; CI may be loaded


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, tiny_onnx: Path) -> Path:
    base = tmp_path_factory.mktemp("osc")
    root = base / "root"
    outside = base / "outside"
    root.mkdir()
    outside.mkdir()
    make_clips(root)
    make_clips(outside)
    shutil.copy(tiny_onnx, root / "model.onnx")
    (root / "not_a_model.onnx").write_bytes(b"not onnx at all")
    os.symlink(outside / "in.wav", root / "escape.wav")
    os.symlink(outside, root / "escape_dir")
    return root


@pytest.fixture(scope="module")
def server(root: Path, tiny_onnx: Path) -> Iterator[ServerProcess]:
    proc = start_server(root, "--model", str(tiny_onnx))
    yield proc
    assert proc.stop() == 0, proc.output()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OscClient]:
    c = OscClient(server.address)
    yield c
    c.close()


def status(client: OscClient) -> dict[str, Any]:
    replies = client.call("/agent/status")
    assert replies[-1] == ("/done", ["/agent/status"])
    (reply,) = [r for r in replies if r[0] == "/agent/status.reply"]
    names = [
        "model", "provider", "chain", "balance", "output_gain_db", "queued", "running",
        "rendered", "failed", "errors", "error_counts",
    ]  # fmt: skip
    values = dict(zip(names, reply[1], strict=True))
    values["error_counts"] = json.loads(str(values["error_counts"]))
    return values


def finals(replies: list[Reply]) -> list[Reply]:
    return [r for r in replies if r[0] in ("/done", "/fail")]


def render(client: OscClient, *args: object) -> list[Reply]:
    """Send /agent/render and collect its replies up to its final answer."""
    client.send("/agent/render", *args)
    clip_id = str(args[3])
    return client.final("/agent/render", clip_id, timeout=RENDER_TIMEOUT_S)


# --------------------------------------------------------------------- queries


def test_ping_version_status_and_unknown(client: OscClient, tiny_onnx: Path) -> None:
    assert client.call("/agent/ping", 42) == [("/agent/pong", [42]), ("/done", ["/agent/ping", 42])]
    version = client.call("/agent/version")
    assert version[0][0] == "/agent/version.reply"
    assert version[0][1][0] == "creative-agent" and version[0][1][2] == 1
    s = status(client)
    assert s["model"] == str(tiny_onnx) and s["provider"] == "CPUExecutionProvider"
    assert s["balance"] == 0.5 and s["queued"] == 0 and s["running"] == ""
    assert client.call("/agent/nope") == [("/fail", ["/agent/nope", "command not found"])]
    client.send("/agent/ping", "extra")
    assert client.final("/agent/ping") == [
        ("/fail", ["/agent/ping", "token must be a number (i), got a string"])
    ]


def test_wildcards_are_refused_for_every_command(client: OscClient) -> None:
    for address in ("/agent/*", "/agent/rend?r", "/*/ping", "/agent/{ping,status}"):
        client.send(address)
        (fail,) = client.until(lambda r: r[0] == "/fail")
        assert fail[1][0] == address and "patterns" in fail[1][1]
    many = OscMessageBuilder("/" + "*" * 150 + "z").build().dgram
    t0 = time.monotonic()
    client.send_raw(many)
    (fail,) = client.until(lambda r: r[0] == "/fail")
    assert time.monotonic() - t0 < 1.0  # python-osc's dispatcher needs ~7 s for this one
    assert "patterns" in fail[1][1]
    assert client.call("/agent/ping") == [("/agent/pong", []), ("/done", ["/agent/ping"])]


def bundle(timetag: int, *messages: bytes) -> bytes:
    body = b"".join(struct.pack(">i", len(m)) + m for m in messages)
    return BUNDLE_HEADER + struct.pack(">Q", timetag) + body


def test_bad_datagrams_each_get_one_fail_and_are_counted(client: OscClient) -> None:
    ping = bytes(OscMessageBuilder("/agent/ping").build().dgram)
    render_msg = OscMessageBuilder("/agent/render")
    for a in ("in.wav", "tg.wav", "x.wav"):
        render_msg.add_arg(a, "s")
    render_dgram = bytes(render_msg.build().dgram)
    future = int((ntp_now() + 3600) * 2**32)
    nan = OscMessageBuilder("/agent/param/set")
    nan.add_arg("balance", "s")
    nan.add_arg(math.nan, "f")
    inf = OscMessageBuilder("/agent/param/set")
    inf.add_arg("balance", "s")
    inf.add_arg(math.inf, "d")
    huge = OscMessageBuilder("/agent/notify")
    huge.add_arg(2**40, "h")
    cases: list[tuple[bytes, str, str]] = [
        (b"", "malformed", "empty datagram"),
        (b"hello world!", "malformed", "no leading '/'"),
        (b"/agent/ping\0\0\0\0\0", "malformed", "type tag string missing"),
        (b"/agent/ping\0,i\0\0", "malformed", "shorter than type tags"),
        (b"/agent/ping\0,c\0\0\0\0\0a", "bad_args", "unsupported type tag 'c'"),
        (b"/agent/status\0\0\0,s\0\0\xff\xfe\0\0", "malformed", "UTF-8"),
        (b"/agent/render\0\0\0" + b"x" * 9000, "oversized", "9016 bytes"),
        (b"/agent/render\0\0\0" + b"x" * 65000, "oversized", "65016 bytes"),
        (bundle(future, ping), "bundle", "future"),
        (bundle(1, *[ping] * (MAX_BUNDLE_MESSAGES + 1)), "bundle", "more than"),
        (bundle(1, *[render_dgram] * 1000), "oversized", "bytes"),
        (BUNDLE_HEADER + struct.pack(">Qi", 1, -8), "bundle", "size -8"),
        (bytes(nan.build().dgram), "non_finite", "NaN"),
        (bytes(inf.build().dgram), "non_finite", "NaN or infinite"),
        (bytes(huge.build().dgram), "command", "not a UDP port"),
    ]
    before = status(client)["error_counts"]
    assert isinstance(before, dict)
    for data, _, needle in cases:
        client.send_raw(data)
        (fail,) = client.until(lambda r: r[0] in ("/fail", "/done"))
        assert fail[0] == "/fail" and needle in fail[1][1], (data[:40], fail)
    # arity and types, sent well-formed
    for address, args in [
        ("/agent/render", ("a.wav", "b.wav")),
        ("/agent/param/set", ("balance",)),
        ("/agent/param/set", (0.5, "balance")),
        ("/agent/version", ("x",)),
    ]:
        client.send(address, *args)
        (fail,) = client.until(lambda r: r[0] in ("/fail", "/done"))
        assert fail[0] == "/fail" and fail[1][0] == address, fail
    # no stray second answer to any of them: the next reply is the ping's
    assert client.call("/agent/ping") == [("/agent/pong", []), ("/done", ["/agent/ping"])]
    after = status(client)["error_counts"]
    assert isinstance(after, dict)
    grew = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    expected: dict[str, int] = {}
    for _, kind, _ in cases:
        expected[kind] = expected.get(kind, 0) + 1
    expected["bad_args"] += 4
    assert grew == expected


def test_a_valid_bundle_runs_each_command(client: OscClient) -> None:
    b = OscBundleBuilder(IMMEDIATELY)
    for token in (1, 2, 3):
        m = OscMessageBuilder("/agent/ping")
        m.add_arg(token, "i")
        b.add_content(m.build())
    client.send_raw(b.build().dgram)
    got = client.until(lambda r: r == ("/done", ["/agent/ping", 3]))
    assert finals(got) == [("/done", ["/agent/ping", t]) for t in (1, 2, 3)]


# ------------------------------------------------------------------ notify routing


def test_notify_sends_replies_to_the_registered_port(server: ServerProcess) -> None:
    sender = OscClient(server.address)
    listener = OscClient(server.address)  # a DAW's fixed listening port
    try:
        sender.send("/agent/notify", listener.port)
        assert sender.final("/agent/notify") == [("/done", ["/agent/notify", listener.port])]
        assert listener.recv() == ("/done", ["/agent/notify", listener.port])
        sender.send("/agent/ping", 7)
        assert listener.until(lambda r: r[0] == "/done") == [
            ("/agent/pong", [7]),
            ("/done", ["/agent/ping", 7]),
        ]
        sender.call("/agent/notify", 0)
        sender.call("/agent/ping", 8)
        assert listener.drain() == [("/done", ["/agent/notify", 0])]
        assert sender.call("/agent/notify", 70000)[-1] == (
            "/fail",
            ["/agent/notify", "reply_port 70000 is not a UDP port (0 = stop)"],
        )
    finally:
        sender.close()
        listener.close()


def test_reply_port_is_the_default_for_unregistered_senders(tmp_path: Path) -> None:
    listener = OscClient(("127.0.0.1", 9))  # only listens
    server = start_server(tmp_path, "--reply-port", str(listener.port))
    sender = OscClient(server.address)
    other = OscClient(server.address)
    try:
        assert sender.call("/agent/ping", 1)[-1] == ("/done", ["/agent/ping", 1])
        assert listener.until(lambda r: r[0] == "/done") == [
            ("/agent/pong", [1]),
            ("/done", ["/agent/ping", 1]),
        ]
        sender.call("/agent/notify", other.port)  # a registered port replaces the default
        sender.call("/agent/ping", 2)
        assert other.until(lambda r: r == ("/done", ["/agent/ping", 2]))
        # the default port saw the registration's confirmation, then nothing more
        assert listener.drain() == [("/done", ["/agent/notify", other.port])]
    finally:
        for c in (sender, other, listener):
            c.close()
        assert server.stop() == 0


# ---------------------------------------------------------------------- params


def test_param_set_and_get(client: OscClient) -> None:
    assert client.call("/agent/param/set", "balance", 0.75) == [
        ("/done", ["/agent/param/set", "balance", 0.75])
    ]
    assert client.call("/agent/param/get", "balance")[0] == (
        "/agent/param/value",
        ["balance", 0.75],
    )
    assert status(client)["balance"] == 0.75
    # Pd and Max may send an int for a float
    assert client.call("/agent/param/set", "balance", 1)[-1][0] == "/done"
    fail = client.call("/agent/param/set", "balance", 1.5)[-1]
    assert fail == ("/fail", ["/agent/param/set", "balance must be in [0, 1], got 1.5"])
    assert client.call("/agent/param/set", "balance", 0.5)[-1][0] == "/done"
    fail = client.call("/agent/param/set", "no_such_param", 1.0)[-1]
    assert fail == (
        "/fail",
        [
            "/agent/param/set",
            "unknown parameter 'no_such_param'; valid: balance, output_gain_db, or a chain "
            "parameter section/index/name like output_chain/0/threshold_db",
        ],
    )


# ---------------------------------------------------------------------- renders


def test_render_round_trip(client: OscClient, root: Path) -> None:
    replies = render(client, "in.wav", "tg.wav", "out/a.wav", "a")
    assert replies[-1][0] == "/fail" and "folder of 'out/a.wav' does not exist" in replies[-1][1][1]
    replies = render(client, "in.wav", "tg.wav", "out_a.wav", "a")
    kinds = [r[0] for r in replies]
    assert kinds[0] == "/agent/render/queued" and replies[0][1] == ["a", 1]
    assert kinds[-2:] == ["/agent/render/report", "/done"] and replies[-1][1] == [
        "/agent/render",
        "a",
    ]
    progress = [r[1][1] for r in replies if r[0] == "/agent/render/progress"]
    assert progress == sorted(progress) and all(0.0 <= f <= 1.0 for f in progress)
    report = replies[-2][1]
    assert report[0] == "a"
    corr_in, corr_tg, verdict, share, onset, chroma, rtf, report_path = report[1:]
    assert -1.0 <= corr_in <= 1.0 and -1.0 <= corr_tg <= 1.0
    assert verdict in VERDICTS
    for v in (share, onset, chroma):
        assert math.isnan(v) or -1.0 <= v <= 1.0
    assert rtf > 0.0
    with AudioFile(str(root / "out_a.wav")) as f:
        assert f.samplerate == 44100 and f.num_channels == 2 and f.frames > 0
    assert report_path and json.loads(Path(report_path).read_text())  # the full JSON report
    # the same output again: refused unless overwrite=1
    again = render(client, "in.wav", "tg.wav", "out_a.wav", "a2")
    assert again == [
        (
            "/fail",
            ["/agent/render", "output: 'out_a.wav' exists (send overwrite=1 to replace it)", "a2"],
        )
    ]
    again = render(client, "in.wav", "tg.wav", "out_a.wav", "a3", 1)
    assert again[-1] == ("/done", ["/agent/render", "a3"])
    assert status(client)["rendered"] >= 2


def test_output_gain_scales_the_render(client: OscClient, root: Path) -> None:
    """output_gain_db is applied after the output chain, to the render queued after it is
    set (the merge moves it from a Gain plugin into render(output_gain_db=...))."""
    gain_db = -12.0
    try:
        plain = render(client, "in.wav", "tg.wav", "gain_0.wav", "g0")
        assert client.call("/agent/param/set", "output_gain_db", gain_db)[-1][0] == "/done"
        quiet = render(client, "in.wav", "tg.wav", "gain_12.wav", "g12")
    finally:
        client.call("/agent/param/set", "output_gain_db", 0.0)
    assert plain[-1][0] == quiet[-1][0] == "/done", (plain, quiet)
    with AudioFile(str(root / "gain_0.wav")) as f:
        loud_audio = f.read(f.frames)
    with AudioFile(str(root / "gain_12.wav")) as f:
        quiet_audio = f.read(f.frames)
    assert loud_audio.shape == quiet_audio.shape and float(abs(loud_audio).max()) > 0.01
    # same model and inputs, so the same samples times the gain; float32 WAV: 1e-5 slack
    expected = loud_audio * 10 ** (gain_db / 20)
    assert float(abs(quiet_audio - expected).max()) < 1e-5


def test_python_osc_client_as_in_the_docs(server: ServerProcess, root: Path) -> None:
    """The snippet from docs/osc.md: python-osc's own UDP client sends and reads replies."""
    client = SimpleUDPClient(*server.address)
    client.send_message("/agent/render", ["in.wav", "tg.wav", "py_osc.wav", "py"])
    got = []
    for msg in client.get_messages(RENDER_TIMEOUT_S):
        got.append((msg.address, list(msg.params)))
        if msg.address in ("/done", "/fail"):
            break
    client.close()
    assert got[0][0] == "/agent/render/queued"
    assert got[-2][0] == "/agent/render/report" and got[-1] == ("/done", ["/agent/render", "py"])
    assert (root / "py_osc.wav").is_file() and (root / "py_osc.wav.json").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("../outside/in.wav", "tg.wav", "o1.wav"), "input: '../outside/in.wav' resolves outside"),
        (("in.wav", "escape.wav", "o1.wav"), "target: 'escape.wav' resolves outside"),
        (("in.wav", "tg.wav", "escape_dir/o1.wav"), "output: 'escape_dir/o1.wav' resolves outside"),
        (("/etc/hostname", "tg.wav", "o1.wav"), "input: '/etc/hostname' resolves outside"),
        (("in.wav", "tg.wav", "../o1.wav"), "output: '../o1.wav' resolves outside"),
        (("~/in.wav", "tg.wav", "o1.wav"), "'~' is not expanded"),
        (("in.wav", "tg.wav", "in.wav"), "is one of the inputs"),
        # refused at once, not queued to fail later (issue 11 item 10)
        (("in.wav", "tg.wav", "o1.m4a"), "cannot write .m4a; use one of .wav"),
        (("in.wav", "missing.wav", "o1.wav"), "target: 'missing.wav' is not an existing file"),
    ],
)
def test_paths_outside_the_roots_are_refused(
    client: OscClient, root: Path, args: tuple[str, str, str], needle: str
) -> None:
    replies = render(client, *args, "p", 1)
    assert len(replies) == 1 and replies[0][0] == "/fail", replies
    assert replies[0][1][0] == "/agent/render" and replies[0][1][2] == "p"
    assert needle in replies[0][1][1]
    assert not (root / "o1.wav").exists() and not (root.parent / "o1.wav").exists()
    assert not (root.parent / "outside" / "o1.wav").exists()


def test_model_and_chain_paths(client: OscClient, root: Path, tiny_onnx: Path) -> None:
    fail = client.call("/agent/model/load", "not_a_model.onnx")[-1]
    assert fail[0] == "/fail" and "not a loadable ONNX model" in fail[1][1]
    fail = client.call("/agent/model/load", str(tiny_onnx))[-1]
    assert fail[0] == "/fail" and "resolves outside" in fail[1][1]
    assert client.call("/agent/model/load", "model.onnx")[-1] == (
        "/done",
        ["/agent/model/load", str(root / "model.onnx")],
    )
    assert status(client)["model"] == str(root / "model.onnx")
    fail = client.call("/agent/chain/load", "../outside/chain.json")[-1]
    assert fail[0] == "/fail" and "resolves outside" in fail[1][1]


def test_chain_load_and_chain_params(client: OscClient, root: Path) -> None:
    chain = {"output_chain": [{"plugin": "Compressor", "params": {"threshold_db": -12.0}}]}
    (root / "chain.json").write_text(json.dumps(chain))
    (root / "bad_chain.json").write_text('{"output_chain": [{"plugin": "NoSuchPlugin"}]}')
    escape = {"output_chain": [{"plugin": "Convolution", "params": {"impulse_response_filename": "../outside/in.wav"}}]}  # fmt: skip
    (root / "escape_chain.json").write_text(json.dumps(escape))
    fail = client.call("/agent/chain/load", "bad_chain.json")[-1]
    assert fail[0] == "/fail" and "unknown plugin 'NoSuchPlugin'" in fail[1][1]
    fail = client.call("/agent/chain/load", "escape_chain.json")[-1]
    assert fail[0] == "/fail" and "outside the allowed roots" in fail[1][1]
    assert client.call("/agent/chain/load", "chain.json")[-1] == (
        "/done",
        ["/agent/chain/load", str(root / "chain.json")],
    )
    name = "output_chain/0/threshold_db"
    assert client.call("/agent/param/get", name)[0] == ("/agent/param/value", [name, -12.0])
    assert client.call("/agent/param/set", name, -20.0)[-1] == (
        "/done",
        ["/agent/param/set", name, -20.0],
    )
    assert client.call("/agent/param/get", name)[0] == ("/agent/param/value", [name, -20.0])
    fail = client.call("/agent/param/set", "output_chain/3/threshold_db", 1.0)[-1]
    assert fail[0] == "/fail" and "output_chain has 1 plugin(s)" in fail[1][1]
    assert client.call("/agent/param/set", "output_gain_db", -6.0)[-1][0] == "/done"
    fail = client.call("/agent/param/set", "output_gain_db", 99.0)[-1]
    assert fail == ("/fail", ["/agent/param/set", "output_gain_db must be in [-96, 24], got 99"])
    s = status(client)
    assert s["chain"] == str(root / "chain.json") and s["output_gain_db"] == -6.0
    replies = render(client, "in.wav", "tg.wav", "chained.wav", "ch", 1)
    assert replies[-1] == ("/done", ["/agent/render", "ch"])
    assert client.call("/agent/param/set", "output_gain_db", 0.0)[-1][0] == "/done"


def test_cancel_unknown_and_duplicate_ids(client: OscClient) -> None:
    assert client.call("/agent/render/cancel", "nothing") == [
        ("/fail", ["/agent/render/cancel", "no queued or running render 'nothing'", "nothing"])
    ]
    bad = render(client, "in.wav", "tg.wav", "o2.wav", "#sync-1")
    assert bad[-1][0] == "/fail" and "clip_id" in bad[-1][1][1]


def test_output_equal_to_the_model_is_refused_as_the_model(tmp_path: Path, tiny_onnx: Path) -> None:
    """Issue 11 item 10: it was refused as "one of the inputs"."""
    make_clips(tmp_path)
    shutil.copy(tiny_onnx, tmp_path / "model.onnx")
    server = start_server(tmp_path, "--model", str(tmp_path / "model.onnx"))
    c = OscClient(server.address)
    try:
        for output in ("model.onnx", "./sub/../model.onnx"):
            (tmp_path / "sub").mkdir(exist_ok=True)
            replies = render(c, "in.wav", "tg.wav", output, "m", 1)
            message = f"output: {output!r} is the model; refusing to overwrite it"
            assert replies == [("/fail", ["/agent/render", message, "m"])]
        assert (tmp_path / "model.onnx").read_bytes() == tiny_onnx.read_bytes()
    finally:
        c.close()
        assert server.stop() == 0


def test_syncs_are_not_counted_as_renders(tmp_path: Path, tiny_onnx: Path) -> None:
    """Issue 11 item 4: three /agent/sync on a fresh server gave rendered = 3, and the
    shutdown line counted them too."""
    make_clips(tmp_path)
    server = start_server(tmp_path, "--model", str(tiny_onnx))
    c = OscClient(server.address)
    try:
        for i in range(3):
            assert c.call("/agent/sync", i)[-2:] == [
                ("/agent/synced", [i]),
                ("/done", ["/agent/sync", i]),
            ]
        assert (status(c)["rendered"], status(c)["failed"]) == (0, 0)
        assert render(c, "in.wav", "tg.wav", "o.wav", "r")[-1] == ("/done", ["/agent/render", "r"])
        assert c.call("/agent/sync", 3)[-1] == ("/done", ["/agent/sync", 3])
        assert (status(c)["rendered"], status(c)["failed"]) == (1, 0)
    finally:
        c.close()
        assert server.stop() == 0
    assert "(1 rendered, 0 failed, 0 errors)" in server.output()


def test_render_without_a_model_fails(tmp_path: Path) -> None:
    make_clips(tmp_path)
    server = start_server(tmp_path, "--no-model")
    c = OscClient(server.address)
    try:
        replies = render(c, "in.wav", "tg.wav", "o.wav", "x")
        assert replies == [
            (
                "/fail",
                [
                    "/agent/render",
                    "no model loaded (start with --model or send /agent/model/load)",
                    "x",
                ],
            )
        ]
    finally:
        c.close()
        assert server.stop() == 0


# -------------------------------------------------------------- queue, cancel, stop


def long_clips(root: Path, seconds: float = 60.0) -> None:
    """Clips long enough that a render is still running when the test acts on it: a
    60 s mono clip renders in ~0.35 s here, the test acts within milliseconds of the
    first progress message, and the render checks its cancel event every 1.5 s of audio."""
    make_clips(root, seconds, prefix="long_", channels=1)


def test_cancel_queued_and_running_render(tmp_path: Path, tiny_onnx: Path) -> None:
    root = tmp_path
    make_clips(root)
    long_clips(root)
    server = start_server(root, "--model", str(tiny_onnx))
    c = OscClient(server.address)
    try:
        c.send("/agent/render", "long_in.wav", "long_tg.wav", "long_out.wav", "long")
        c.until(lambda r: r[0] == "/agent/render/progress")  # it is running
        c.send("/agent/render", "in.wav", "tg.wav", "short.wav", "short")
        assert c.until(lambda r: r[0] == "/agent/render/queued" and r[1][0] == "short")
        c.send("/agent/render/cancel", "short")
        got = c.final("/agent/render/cancel")
        assert ("/fail", ["/agent/render", "cancelled (before it started)", "short"]) in got
        c.send("/agent/render/cancel", "long")
        got = c.final("/agent/render", "long", timeout=RENDER_TIMEOUT_S)
        assert got[-1][0] == "/fail" and got[-1][1][1].startswith("cancelled")
        assert ("/done", ["/agent/render/cancel", "long"]) in got + c.drain()
        s = status(c)
        assert s["failed"] == 2 and s["running"] == "" and s["queued"] == 0
    finally:
        c.close()
        assert server.stop() == 0
    assert sorted(p.name for p in root.iterdir()) == [
        "in.wav", "long_in.wav", "long_tg.wav", "tg.wav",
    ]  # fmt: skip


def test_sigterm_during_a_render_leaves_no_partial_file(tmp_path: Path, tiny_onnx: Path) -> None:
    root = tmp_path
    long_clips(root)
    server = start_server(root, "--model", str(tiny_onnx))
    listener = OscClient(server.address)
    c = OscClient(server.address)
    try:
        c.call("/agent/notify", listener.port)
        c.send("/agent/render", "long_in.wav", "long_tg.wav", "out.wav", "running")
        c.send("/agent/render", "long_in.wav", "long_tg.wav", "out2.wav", "waiting")
        listener.until(lambda r: r[0] == "/agent/render/progress")
    finally:
        rc = server.stop(signal.SIGTERM)
    got = listener.drain()
    c.close()
    listener.close()
    assert rc == 0, server.output()
    fails = {r[1][2]: r[1][1] for r in got if r[0] == "/fail"}
    assert fails == {
        "waiting": "cancelled (server is shutting down)",
        "running": fails.get("running", "missing"),
    }
    assert fails["running"].startswith("cancelled"), got
    assert sorted(p.name for p in root.iterdir()) == ["long_in.wav", "long_tg.wav"]


def test_sync_waits_for_queued_jobs(client: OscClient, root: Path) -> None:
    client.send("/agent/render", "in.wav", "tg.wav", "sync_out.wav", "s1", 1)
    client.send("/agent/sync", 5)
    got = client.until(lambda r: r[0] == "/agent/synced", timeout=RENDER_TIMEOUT_S)
    assert ("/done", ["/agent/render", "s1"]) in got  # the render finished first
    assert client.recv() == ("/done", ["/agent/sync", 5])


def test_replies_fit_one_small_datagram(client: OscClient) -> None:
    client.send("/agent/render", "x" * 3000, "tg.wav", "o3.wav", "big")
    client.sock.settimeout(REPLY_TIMEOUT_S)
    data = client.sock.recv(65536)
    assert len(data) < 1024
    message = OscMessage(data).params[1]
    assert message.startswith("input: 'xxxx") and message.endswith("File name too long")


def test_server_survives_and_counts(server: ServerProcess, client: OscClient) -> None:
    assert server.proc.poll() is None
    s = status(client)
    assert isinstance(s["error_counts"], dict) and s["errors"] == sum(s["error_counts"].values())
