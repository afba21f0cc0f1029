"""docs/osc.md, docs/daw.md and examples/creative_agent.pd agree with the code: the
address table is the one the server uses, every address the docs and the Pd patch send
exists with a valid argument list, and the REAPER script in daw.md really talks to a
server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_osc_harness import REPO, make_clips, start_server

from plugin_host import osc_commands as commands
from plugin_host import osc_protocol as proto

DOCS = REPO / "docs"
PATCH = REPO / "examples" / "creative_agent.pd"


def test_osc_md_holds_the_address_table_and_replies() -> None:
    text = (DOCS / "osc.md").read_text()
    assert commands.address_table_markdown() in text
    for address, sig in commands.REPLIES.items():
        assert f"| `{address}` | `{sig}` |" in text, address


def test_every_address_in_the_docs_exists() -> None:
    known = set(commands.COMMANDS) | set(commands.REPLIES)
    for name in ("osc.md", "daw.md"):
        text = (DOCS / name).read_text()
        found = set(re.findall(r"(?<![\w/])/agent/[a-z/._]*[a-z]", text))
        assert found, name
        unknown = found - known - {"/agent/rend"}  # "/agent/rend*": the refused pattern
        assert not unknown, f"{name}: {unknown}"


def pd_records() -> list[str]:
    """The patch's records (``#X ...;``) with escaped ``\\,`` kept inside a record."""
    text = PATCH.read_text()
    return [r.strip() for r in re.split(r"(?<!\\);\n", text) if r.strip()]


def check_sent(address: str, tags: str, args: list[str]) -> None:
    command = commands.COMMANDS[address]
    assert len(tags) == len(args), (address, tags, args)
    assert command.required <= len(args) <= len(command.params), (address, args)
    for tag, param in zip(tags, command.params, strict=False):
        assert (tag == "s") == (param.type == "s"), (address, tag, param)


def test_pd_patch_messages_match_the_protocol() -> None:
    records = pd_records()
    objects = [
        r for r in records if r.startswith(("#X obj", "#X msg", "#X text", "#X float", "#X symbol"))
    ]
    messages = 0
    for rec in records:
        if not rec.startswith("#X msg"):
            continue
        body = rec.split(" ", 4)[4]
        parts = [p.strip() for p in body.split("\\,")]
        if not parts[0].startswith("format"):
            continue
        fmt, target, sent = parts
        tags = fmt.split()[1] if len(fmt.split()) > 1 else ""
        words = target.split()
        assert words[0] == "set" and words[1] == "agent", target
        address = "/" + "/".join(words[1:])
        args = sent.split()[1:]
        if not tags:  # Pd's default: symbols as s, numbers as f
            tags = "".join("f" if re.fullmatch(r"-?[\d.]+|\\\$\d", a) else "s" for a in args)
        check_sent(address, tags, args)
        messages += 1
    assert messages >= 10
    # connections point at existing objects; the notify port is the one netreceive uses
    for rec in records:
        if rec.startswith("#X connect"):
            src, _, dst, _ = (int(x) for x in rec.split()[2:6])
            assert src < len(objects) and dst < len(objects), rec
    assert any("netreceive -u -b 9001" in r for r in records)
    assert any("set agent notify \\, list 9001" in r for r in records)


def test_daw_md_max_messages_match_the_protocol() -> None:
    text = (DOCS / "daw.md").read_text()
    block = text.split("Message boxes, exactly:")[1].split("```")[1]
    for line in block.strip().splitlines():
        words = re.findall(r'"[^"]*"|\S+', line)
        address, args = words[0], words[1:]
        tags = "".join(
            "s" if not re.fullmatch(r"-?[\d.]+|\$\d", a) else "i" if a.isdigit() else "f"
            for a in args
        )
        check_sent(address, tags, args)


def reaper_script() -> str:
    text = (DOCS / "daw.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (script,) = [b for b in blocks if "render_pair" in b]
    return script


def test_the_reaper_script_renders_through_a_real_server(tmp_path: Path, tiny_onnx: Path) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(reaper_script(), "daw.md:reaper", "exec"), namespace)  # outside REAPER: no main()
    inp, tgt = make_clips(tmp_path)
    server = start_server(tmp_path, "--model", str(tiny_onnx))
    try:
        report = namespace["render_pair"](
            str(inp), str(tgt), str(tmp_path / "reaper out.wav"), "reaper", server.address, 60.0
        )
        assert report[0] == "reaper" and report[3] in (
            "noise",
            "copying_target",
            "copying_input",
            "mixing",
        )
        assert (tmp_path / "reaper out.wav").is_file()
        with pytest.raises(RuntimeError, match="exists"):
            namespace["render_pair"](
                str(inp), str(tgt), str(tmp_path / "reaper out.wav"), "again", server.address, 60.0
            )
        message = namespace["osc_message"]("/agent/param/set", "balance", 0.25)
        assert proto.parse_datagram(message) == [
            proto.Message("/agent/param/set", ("balance", 0.25), "sf")
        ]
        assert namespace["osc_parse"](proto.done("/agent/ping", 3)) == ("/done", ["/agent/ping", 3])
    finally:
        assert server.stop() == 0
