"""A scripted model for fast tests of everything around a model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monogram.content.llm import Completion, GenerationOptions, Message
from monogram.core.errors import ModelError

Script = Callable[[list[Message], GenerationOptions], str]


class FakeModel:
    """Answers with ``script(messages, options)``; records every call."""

    def __init__(self, script: Script | None = None, model_id: str = "fake") -> None:
        self.model_id = model_id
        self.script = script or (lambda messages, options: "A fresh pick for your next trail.")
        self.calls: list[tuple[list[Message], GenerationOptions]] = []

    def complete(self, messages: list[Message], options: GenerationOptions) -> list[Completion]:
        self.calls.append((messages, options))
        out = []
        for _ in range(options.n):
            text = self.script(messages, options)
            if text is None:
                raise ModelError("fake model failure")
            out.append(
                Completion(
                    text,
                    prompt_tokens=sum(len(m["content"]) // 4 for m in messages),
                    completion_tokens=len(text) // 4,
                )
            )
        return out


def from_config(config: Any) -> FakeModel:
    """``llm: {backend: fake}``: the scripted default answer (``options.text`` replaces it)."""
    text = str(config.options.get("text") or "")
    return FakeModel((lambda messages, options: text) if text else None)
