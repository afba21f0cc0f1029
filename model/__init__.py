"""The creative agent model: config, fixed DSP, learned core."""

from model.agent import AgentOutput, CreativeAgent
from model.config import AgentConfig

__all__ = ["AgentConfig", "AgentOutput", "CreativeAgent"]
