"""Every subcommand's ``--help`` as a user sees it: plain text (no reStructuredText markup),
a description, and help text for every option and argument."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from plugin_host.cli import COMMANDS

MARKUP = [
    (re.compile(r"``"), "RST literal (``)"),
    (re.compile(r":(func|class|meth|mod|attr|data|ref|doc):`"), "RST role (:func:` etc.)"),
]
# An entry of an argparse section: 2 spaces, the invocation, then (after 2+ spaces) its help.
ENTRY = re.compile(r"^  (?P<invocation>\S(?:\S| (?! ))*)(?: {2,}(?P<help>\S.*))?$")


def help_text(command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "plugin_host.cli", command, "--help"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "100"},  # argparse wraps to this width
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def problems(text: str) -> list[str]:
    """Everything wrong with one ``--help`` output (empty list: fine)."""
    found = [f"{why}: {m.group(0)!r}" for rx, why in MARKUP for m in rx.finditer(text)]
    for n, line in enumerate(text.splitlines(), 1):
        if line.count("`") % 2:
            found.append(f"line {n}: unclosed backtick: {line.strip()!r}")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    description = paragraphs[1] if len(paragraphs) > 1 else ""
    if not description or description.endswith(":") or re.match(r"^\S.*:\n  ", description):
        found.append("no description after the usage line")
    elif not description.rstrip().endswith((".", ")", "!")):
        found.append(f"description stops mid-sentence: ...{description[-40:]!r}")
    lines = text.splitlines()
    in_section = False
    for i, line in enumerate(lines):
        if line and not line.startswith(" "):
            in_section = line.endswith(":")  # "options:", "positional arguments:", groups
            continue
        m = ENTRY.match(line) if in_section else None
        if m is None or m["help"]:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if not (nxt.startswith("     ") and nxt.strip()):  # help wrapped onto the next line
            found.append(f"no help text for {m['invocation']!r}")
    return found


def test_the_checker_catches_each_fault():
    good = "usage: x [-h]\n\nDoes a thing.\n\noptions:\n  -h, --help  show help\n"
    assert problems(good) == []
    assert problems(good.replace("Does a thing.", "Use ``x``.")) != []
    assert problems(good.replace("Does a thing.", "See :func:`f`.")) != []
    assert problems(good.replace("Does a thing.", "Uses `x.")) != []
    assert problems(good.replace("Does a thing.\n\n", "")) != []
    assert problems(good.replace("Does a thing.", "Does a thing and")) != []
    assert problems(good + "  --provider {auto,cpu}\n  --json      print JSON\n") == [
        "no help text for '--provider {auto,cpu}'"
    ]
    assert problems(good + "  --output OUTPUT\n                        where to write\n") == []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_help_is_plain_complete_text(command: str):
    text = help_text(command)
    assert text.startswith(f"usage: creative-agent {command}"), text[:200]
    assert problems(text) == [], text
