"""plugin_host.osc_render without a socket: the report message's typed slots and the
output gain stand-in. (Requests over real UDP: tests/test_osc_server.py.)"""

from __future__ import annotations

import math

from pythonosc.osc_message import OscMessage

from plugin_host.osc_commands import REPLIES
from plugin_host.osc_render import REPORT_FIELDS, report_message


def test_report_fields_follow_the_reply_signature_with_verdict_as_text() -> None:
    """Issue 13: the float list held the string ``verdict``; each measure now carries the
    type its slot has in /agent/render/report's signature."""
    signature = REPLIES["/agent/render/report"].split()
    assert [f"{t} {k}" for t, k in REPORT_FIELDS] == [
        " ".join(signature[i : i + 2]) for i in range(2, len(signature) - 2, 2)
    ]
    assert ("s", "verdict") in REPORT_FIELDS
    assert all(tag == "f" for tag, key in REPORT_FIELDS if key != "verdict")


def test_report_message_types_never_change() -> None:
    full = {
        "output_input_corr": 0.5,
        "output_target_corr": -0.25,
        "verdict": "balanced",
        "share_input": 0.75,
        "onset_corr_input": 0.125,
        "chroma_cos_target": 0.5,
        "rtf": 0.01,
        "report_path": "/r/out.json",
    }
    msg = OscMessage(report_message("c1", full))
    assert msg.address == "/agent/render/report"
    *head, rtf, path = msg.params
    assert head == ["c1", 0.5, -0.25, "balanced", 0.75, 0.125, 0.5]  # exact in float32
    assert math.isclose(rtf, 0.01, rel_tol=1e-6) and path == "/r/out.json"  # rtf: float32
    undefined = OscMessage(report_message("c2", {"verdict": None, "share_input": "n/a"}))
    types = ["s" if isinstance(v, str) else "f" for v in undefined.params]
    assert types == ["s", "f", "f", "s", "f", "f", "f", "f", "s"]
    assert undefined.params[3] == "" and undefined.params[8] == ""
    assert all(math.isnan(v) for v in undefined.params if isinstance(v, float))
