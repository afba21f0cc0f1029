"""The host: ONNX Runtime + numpy DSP + pedalboard chains, no torch.

``render`` (the function :func:`plugin_host.renderer.render`), ``Chain``, ``RenderError``
and ``RenderCancelled`` are loaded on first use, so ``import plugin_host`` stays light (no
onnxruntime, pedalboard or scipy until needed).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plugin_host.chain import Chain
    from plugin_host.renderer import RenderCancelled, RenderError, render

__all__ = ["Chain", "RenderCancelled", "RenderError", "render"]

_LAZY = {
    "render": "plugin_host.renderer",
    "RenderError": "plugin_host.renderer",
    "RenderCancelled": "plugin_host.renderer",
    "Chain": "plugin_host.chain",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'plugin_host' has no attribute {name!r}")
