"""A scripted model for fast tests of everything around a model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monogram.content.llm import Completion, GenerationOptions, Message
from monogram.core.errors import ModelError

Script = Callable[[list[Message], GenerationOptions], str]


class FakeModel:
    """Answers with ``script(messages, options)``; records every call."""

    def __init__(
        self, script: Script | None = None, model_id: str = "fake", *, record: bool = True
    ) -> None:
        self.model_id = model_id
        self.record = record  # keep every call (tests read them); off for long runs
        self.script = script or (lambda messages, options: "A fresh pick for your next trail.")
        self.calls: list[tuple[list[Message], GenerationOptions]] = []

    def complete(self, messages: list[Message], options: GenerationOptions) -> list[Completion]:
        if self.record:
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
    """``llm: {backend: fake, options: {text: ..., delay_s: ...}}``: a fixed answer (default:
    the scripted one) after an optional delay, to stand in for a model in tests and
    benchmarks of the code around it."""
    import time

    text = str(config.options.get("text") or "")
    delay = float(config.options.get("delay_s") or 0)
    default = FakeModel().script

    def answer(messages: list[Message], options: GenerationOptions) -> str:
        if delay:
            time.sleep(delay)
        return text or default(messages, options)

    return FakeModel(answer, record=False)
