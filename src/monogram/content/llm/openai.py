"""Any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, OpenAI) through ``openai``.

Async underneath, with a concurrency limit, a timeout per call, retries with exponential
backoff on errors worth retrying, and a circuit breaker: after ``breaker_failures`` failures in
a row the model is not called for ``breaker_cooldown_s`` seconds and calls fail at once with
ModelUnavailable (the caller falls back to approved content instead of waiting).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import openai

from monogram.content.llm import Completion, GenerationOptions, Message
from monogram.core.errors import ModelError, ModelUnavailable

T = TypeVar("T")
RETRYABLE = (
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.RateLimitError,
    openai.InternalServerError,
)


class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; half-opens after ``cooldown`` seconds."""

    def __init__(self, failures: int = 5, cooldown: float = 30.0) -> None:
        self.failures, self.cooldown = failures, cooldown
        self._count = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def check(self) -> None:
        with self._lock:
            if self._opened_at is None:
                return
            if time.monotonic() - self._opened_at < self.cooldown:
                left = self.cooldown - (time.monotonic() - self._opened_at)
                raise ModelUnavailable(
                    f"model circuit open after {self._count} failures in a row; "
                    f"next try in {left:.0f} s"
                )
            self._opened_at = None  # half-open: let one call through

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self._count, self._opened_at = 0, None
                return
            self._count += 1
            if self._count >= self.failures:
                self._opened_at = time.monotonic()


class OpenAIModel:
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 4,
        timeout_s: float = 30.0,
        retries: int = 2,
        breaker_failures: int = 5,
        breaker_cooldown_s: float = 30.0,
    ) -> None:
        self.model_id = model
        self.base_url = base_url
        self._api_key = api_key or "not-needed"
        self.timeout_s = timeout_s
        self.retries = retries
        self.concurrency = concurrency
        self.breaker = CircuitBreaker(breaker_failures, breaker_cooldown_s)
        self._loop_state = threading.local()

    def _new_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=self.base_url, api_key=self._api_key, timeout=self.timeout_s, max_retries=0
        )

    def _session(self) -> tuple[openai.AsyncOpenAI, asyncio.Semaphore]:
        # One client and semaphore per event loop: asyncio objects belong to the loop they
        # were made in. ``aclose`` closes the current loop's client.
        loop = asyncio.get_running_loop()
        state = getattr(self._loop_state, "state", None)
        if state is None or state[0] is not loop:
            state = (loop, self._new_client(), asyncio.Semaphore(self.concurrency))
            self._loop_state.state = state
        return state[1], state[2]

    async def aclose(self) -> None:
        state = getattr(self._loop_state, "state", None)
        if state is not None:
            self._loop_state.state = None
            await state[1].close()
            await asyncio.sleep(0.01)

    def complete(self, messages: list[Message], options: GenerationOptions) -> list[Completion]:
        async def once() -> list[Completion]:
            try:
                async with self._new_client() as client:
                    session = (client, asyncio.Semaphore(self.concurrency))
                    return await self._candidates(session, messages, options)
            finally:
                await asyncio.sleep(0.01)  # let closed connections finish before the loop ends

        return _run(once())

    async def acomplete(
        self, messages: list[Message], options: GenerationOptions
    ) -> list[Completion]:
        """For callers in an event loop; candidates run concurrently under the limit."""
        return await self._candidates(self._session(), messages, options)

    async def _candidates(
        self,
        session: tuple[openai.AsyncOpenAI, asyncio.Semaphore],
        messages: list[Message],
        options: GenerationOptions,
    ) -> list[Completion]:
        # Candidates are separate requests: many servers ignore ``n``.
        seeds = [None if options.seed is None else options.seed + i for i in range(options.n)]
        return list(
            await asyncio.gather(
                *(
                    self._one(session, messages, options, s, options.temperature_of(i))
                    for i, s in enumerate(seeds)
                )
            )
        )

    async def _one(
        self,
        session: tuple[openai.AsyncOpenAI, asyncio.Semaphore],
        messages: list[Message],
        options: GenerationOptions,
        seed: int | None,
        temperature: float,
    ) -> Completion:
        client, semaphore = session
        self.breaker.check()
        kwargs: dict[str, Any] = {
            "model": self.model_id,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": options.max_tokens,
        }
        if options.stop:
            kwargs["stop"] = list(options.stop)
        if seed is not None:
            kwargs["seed"] = seed
        if options.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "element", "schema": options.json_schema},
            }
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                async with semaphore:
                    response = await client.chat.completions.create(**kwargs)
            except RETRYABLE as exc:
                last = exc
                self.breaker.record(False)
                if attempt < self.retries:
                    await asyncio.sleep(min(8.0, 0.25 * 2**attempt) * (0.5 + random.random()))
                    self.breaker.check()
                continue
            except openai.APIError as exc:
                self.breaker.record(False)
                raise ModelError(f"model server refused the request: {exc}") from exc
            self.breaker.record(True)
            choice = response.choices[0]
            usage = response.usage
            return Completion(
                text=choice.message.content or "",
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                finish_reason=choice.finish_reason or "stop",
                seconds=time.perf_counter() - started,
            )
        raise ModelError(f"model server failed after {self.retries + 1} tries: {last}")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, also when the caller is inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    result: list[T] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def from_config(config: Any) -> OpenAIModel:
    import os

    return OpenAIModel(
        config.model,
        base_url=config.base_url,
        api_key=os.environ.get(config.api_key_env),
        concurrency=config.concurrency,
        timeout_s=config.timeout_s,
        retries=config.retries,
        breaker_failures=config.breaker_failures,
        breaker_cooldown_s=config.breaker_cooldown_s,
    )
