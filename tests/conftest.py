"""Shared fixtures: a tiny agent with non-trivial masks and its ONNX export (built once)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model import AgentConfig, CreativeAgent


def make_tiny_agent(seed: int = 0) -> CreativeAgent:
    """A ``tiny`` agent whose output layer is randomised, so masks vary in time and
    frequency (a freshly initialised core outputs constant masks). Every weight is a
    function of ``seed`` alone (not of the global random state other tests leave behind)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        agent = CreativeAgent(AgentConfig.preset("tiny"))
    with torch.no_grad():
        agent.core.out.weight.copy_(0.5 * torch.randn(agent.core.out.weight.shape, generator=gen))
    return agent.eval()


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
