"""/agent/render/variations, /agent/param/ramp and /agent/render's align/transpose, end to
end through one real server process over real UDP (the bundled model, clips made in code)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from musical_clips import chord_loop, drum_loop, write_clip
from test_osc_harness import OscClient, start_server

from plugin_host.bundled import DEFAULT_ONNX

RENDER_TIMEOUT_S = 120.0  # four 5 s renders plus one analysis; the machine may be loaded


def test_variations_and_align_over_osc(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    write_clip(str(root / "drums.wav"), drum_loop(100.0, "breakbeat", bars=2))
    write_clip(str(root / "chords.wav"), chord_loop(128.0, 2, False, degrees=(1, 4)))
    server = start_server(root, "--model", str(DEFAULT_ONNX))
    client = OscClient(server.address)
    try:
        client.send("/agent/render/variations", "drums.wav", "chords.wav", "mix.wav",
                    "0.3,0.7", "auto,0", "v1", 0, "tempo")  # fmt: skip
        replies = client.final("/agent/render/variations", "v1", timeout=RENDER_TIMEOUT_S)
        kinds = [r[0] for r in replies if r[0] != "/agent/render/progress"]
        assert kinds == ["/agent/render/queued", *["/agent/render/report"] * 4, "/done"], replies
        assert replies[-1] == ("/done", ["/agent/render/variations", "v1"])
        paths = sorted(Path(str(r[1][-1])).name for r in replies if r[0] == "/agent/render/report")
        assert paths == sorted(f"mix.b{b}.t{t}.wav.json" for b in ("0.30", "0.70")
                               for t in ("auto", "0"))  # fmt: skip
        for name in paths:
            rep = json.loads((root / name).read_text())
            assert rep["alignment"]["align"] == "tempo"
            assert (root / name.removesuffix(".json")).stat().st_size > 0
        # the same outputs again: refused at once, nothing queued
        client.send("/agent/render/variations", "drums.wav", "chords.wav", "mix.wav",
                    "0.3,0.7", "auto,0", "v2")  # fmt: skip
        again = client.final("/agent/render/variations", "v2")
        assert again[-1][0] == "/fail" and "exists" in again[-1][1][1]
        client.send("/agent/render/variations", "drums.wav", "chords.wav", "m.wav", "0.3,2")
        bad = client.final("/agent/render/variations")
        assert bad[-1][0] == "/fail" and "each must be in [0, 1]" in bad[-1][1][1]
        # /agent/render with align and transpose
        client.send("/agent/render", "drums.wav", "chords.wav", "one.wav", "r1", 0, "tempo", "+2")
        one = client.final("/agent/render", "r1", timeout=RENDER_TIMEOUT_S)
        assert one[-1] == ("/done", ["/agent/render", "r1"])
        a = json.loads((root / "one.wav.json").read_text())["alignment"]
        assert a["align"] == "tempo" and a["shift_semitones"] == 2
        client.send("/agent/render", "drums.wav", "chords.wav", "two.wav", "r2", 0, "", "up")
        two = client.final("/agent/render", "r2")
        assert two == [("/fail", ["/agent/render",
                                  "transpose 'up': use none, auto or a whole number of semitones",
                                  "r2"])]  # fmt: skip
        # a balance ramp for the next render, in the same session as the variations
        assert client.call("/agent/param/ramp", "balance", 0.8, 2.0)[-1][0] == "/done"
        client.send("/agent/render", "drums.wav", "chords.wav", "ramp.wav", "r3", 0, "tempo")
        ramp = client.final("/agent/render", "r3", timeout=RENDER_TIMEOUT_S)
        assert ramp[-1] == ("/done", ["/agent/render", "r3"])
        rep = json.loads((root / "ramp.wav.json").read_text())
        curve = rep["balance_curve"]
        assert curve["unit"] == "s" and len(curve["points"]) == 2
        # OSC sends float32: 0.8 arrives as 0.800000011920929 (rounding, 1e-7)
        assert np.allclose(curve["points"], [[0.0, 0.5], [2.0, 0.8]], atol=1e-6)
        assert rep["alignment"]["align"] == "tempo" and rep["timeline"]["unit"] == "bar"
    finally:
        client.close()
        assert server.stop() == 0, server.output()
