"""Shared fixtures: a tiny agent with non-trivial masks and its ONNX export (built once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import CreativeAgent
from tests.helpers import make_tiny_agent


@pytest.fixture
def tiny_agent() -> CreativeAgent:
    return make_tiny_agent()


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to the tiny agent's core exported to ONNX (export once per test session)."""
    from export.onnx_export import export_core

    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    export_core(make_tiny_agent(), path)
    return path
