"""The demo's chain file is valid for the host (the demo itself trains: run by `make demo`)."""

from __future__ import annotations

from bench.demo import DEMO_CHAIN
from plugin_host.chain import Chain


def test_demo_chain_builds_with_real_plugins() -> None:
    chain = Chain.from_json(DEMO_CHAIN)
    assert chain.get_param("input_chain/0/threshold_db") == -18.0
    assert chain.get_param("output_chain/0/threshold_db") == -1.0
