"""``/agent/param/ramp`` through the real OSC server (real UDP, a real server process):
argument checks, the ramp applied to the next render, then cleared."""

from __future__ import annotations

import json
import math
from pathlib import Path

from test_osc_harness import OscClient, make_clips, start_server

RENDER_TIMEOUT_S = 60.0  # a 2 s clip renders in about a second; CI may be loaded


def report_of(client: OscClient, clip_id: str) -> dict:
    client.send("/agent/render", "in.wav", "tg.wav", f"{clip_id}.wav", clip_id)
    replies = client.final("/agent/render", clip_id, timeout=RENDER_TIMEOUT_S)
    assert replies[-1] == ("/done", ["/agent/render", clip_id]), replies
    (report,) = [r for r in replies if r[0] == "/agent/render/report"]
    return json.loads(Path(report[1][-1]).read_text())


def test_ramp_applies_to_the_next_render_then_clears(tmp_path: Path, tiny_onnx: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    make_clips(root, seconds=2.0)
    server = start_server(root, "--model", str(tiny_onnx))
    client = OscClient(server.address)
    try:
        bad = [
            (("output_gain_db", 0.5, 1.0), "only balance can ramp, got 'output_gain_db'"),
            (("balance", 1.5, 1.0), "value must be in [0, 1], got 1.5"),
            (("balance", 0.5, -1.0), "seconds must be in [0, 3600], got -1"),
            (("balance", 0.5, 1e6), "seconds must be in [0, 3600], got 1e+06"),
        ]
        for args, message in bad:
            assert client.call("/agent/param/ramp", *args) == [
                ("/fail", ["/agent/param/ramp", message])
            ]
        typed = client.call("/agent/param/ramp", "balance", 0.5, "soon")
        assert typed[-1][0] == "/fail" and "seconds must be a number" in typed[-1][1][1]
        nan = client.call("/agent/param/ramp", "balance", math.nan, 1.0)
        assert nan[-1][0] == "/fail" and "NaN or infinite" in nan[-1][1][1]

        assert client.call("/agent/param/set", "balance", 0.25)[-1][0] == "/done"
        ok = client.call("/agent/param/ramp", "balance", 0.75, 1.0)
        assert ok == [("/done", ["/agent/param/ramp", "balance", 0.75, 1.0])]
        first = report_of(client, "r1")
        assert first["balance_curve"] == {"unit": "s", "points": [[0.0, 0.25], [1.0, 0.75]]}
        # 0.25 -> 0.75 over the first second, then 0.75 for the second: mean 0.625
        assert math.isclose(first["balance"], 0.625, abs_tol=0.01)
        value = client.call("/agent/param/get", "balance")
        assert value[0] == ("/agent/param/value", ["balance", 0.75])  # it ended there
        second = report_of(client, "r2")  # the ramp was used up
        assert second["balance_curve"] is None and second["balance"] == 0.75
    finally:
        client.close()
        assert server.stop() == 0, server.output()
