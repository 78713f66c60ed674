"""Runtime of the functional-token model (llama.cpp). Work in progress: interface only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """A validated device call, or "not a command" (function None)."""

    function: str | None
    """Catalog function name such as ``light.set_brightness``; None: not a command."""

    arguments: dict[str, Any] = field(default_factory=dict)
    """Validated arguments (device id first); empty for not-a-command."""

    def to_json(self) -> dict[str, Any]:
        return {"function": self.function, "arguments": dict(self.arguments)}
