"""Real models: the bundled SmolLM2 through llama.cpp, and the openai backend against a real
OpenAI-compatible server (llama-cpp-python's own, serving the bundled model) on localhost."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from monogram.content.generate import options_for
from monogram.content.llm import GenerationOptions
from monogram.content.llm.llamacpp import LlamaCppModel, bundled_model_path
from monogram.content.llm.openai import OpenAIModel
from monogram.content.placements import Strategy
from monogram.core.errors import ModelError, ModelUnavailable
from monogram.core.settings import LLMConfig
from monogram.pipeline import draft_for
from monogram.workspace import Workspace
from tests.test_content_quality import element as element_spec
from tests.test_generation import seed_customers

MESSAGES = [
    {"role": "system", "content": "You write short marketing copy. Reply with the copy only."},
    {"role": "user", "content": "Write an email subject line about new trail running shoes."},
]


@pytest.fixture(scope="module")
def bundled() -> LlamaCppModel:
    return LlamaCppModel(n_ctx=1024, threads=2, cache_mb=64)


def test_bundled_model_generates_for_real(bundled: LlamaCppModel) -> None:
    options = GenerationOptions(temperature=0.7, max_tokens=16, seed=7, n=2, stop=("\n",))
    first = bundled.complete(MESSAGES, options)
    assert len(first) == 2
    assert all(c.text.strip() for c in first)
    assert all(0 < c.completion_tokens <= 16 and c.prompt_tokens > 10 for c in first)
    again = bundled.complete(MESSAGES, options)
    assert [c.text for c in again] == [c.text for c in first]  # same seed, same text
    assert bundled.model_id == bundled_model_path().name


def test_the_first_candidate_is_the_likely_answer(bundled: LlamaCppModel) -> None:
    ladder = {"temperature": 1.2, "first_temperature": 0.0, "max_tokens": 16, "n": 2}
    one = bundled.complete(MESSAGES, GenerationOptions(seed=1, stop=("\n",), **ladder))
    two = bundled.complete(MESSAGES, GenerationOptions(seed=2, stop=("\n",), **ladder))
    # The first candidate at temperature 0 is the same whatever the seed; the others vary.
    assert one[0].text == two[0].text
    assert one[1].text != two[1].text
    defaults = options_for(element_spec(max_chars=60), Strategy(name="s", kind="generative"), 5)
    assert (defaults.n, defaults.temperature, defaults.first_temperature) == (3, 0.7, 0.21)
    set_first = element_spec(max_chars=60, options={"temperature": 0.9, "first_temperature": 0.5})
    assert options_for(set_first, Strategy(name="s", kind="generative"), 5).temperature_of(0) == 0.5


def test_pipeline_with_the_bundled_model(
    sqlite_workspace: Workspace, bundled: LlamaCppModel
) -> None:
    ws = sqlite_workspace
    seed_customers(ws)
    ws.use_model(bundled)
    draft = draft_for(ws, "user_id:u1", "email", strategy="practical")
    generated = [e for e in draft.elements.values() if e.prompt_hash]
    assert len(generated) == 4
    for element in generated:
        assert element.source in ("generated", "fallback")
        assert element.text
        assert element.completion_tokens > 0 or element.reason
        if element.source == "fallback":
            assert element.reason  # the reason is always kept
    assert draft.provenance["model"] == bundled.model_id


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def model_server() -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the bundled model, on localhost."""
    port = _port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(bundled_model_path()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--n_threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("llama_cpp.server did not start")
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(10)


def test_openai_backend_against_a_real_server(model_server: str) -> None:
    model = OpenAIModel("smollm2", base_url=model_server, concurrency=2, timeout_s=60)
    options = GenerationOptions(temperature=0.7, max_tokens=12, seed=3, n=2)
    results = model.complete(MESSAGES, options)
    assert len(results) == 2 and all(r.text.strip() for r in results)
    assert all(r.completion_tokens > 0 for r in results)

    async def many() -> list[int]:
        batches = await asyncio.gather(
            *(model.acomplete(MESSAGES, GenerationOptions(max_tokens=6, seed=i)) for i in range(4))
        )
        await model.aclose()
        return [len(b) for b in batches]

    assert asyncio.run(many()) == [1, 1, 1, 1]


def test_pipeline_through_the_openai_backend(
    sqlite_workspace: Workspace, model_server: str
) -> None:
    ws = sqlite_workspace
    seed_customers(ws)
    ws.config.llm = LLMConfig(backend="openai", model="smollm2", base_url=model_server)
    draft = draft_for(ws, "user_id:u1", "ad")
    assert draft.provenance["model"] == "smollm2"
    headline = draft.elements["headline"]
    assert headline.source in ("generated", "fallback") and headline.text
    assert len(headline.text) <= 30


def test_circuit_breaker_fails_fast_when_the_server_is_down() -> None:
    model = OpenAIModel(
        "x",
        base_url=f"http://127.0.0.1:{_port()}/v1",
        retries=1,
        breaker_failures=2,
        breaker_cooldown_s=60,
        timeout_s=2,
    )
    with pytest.raises(ModelError, match="after 2 tries"):
        model.complete(MESSAGES, GenerationOptions(max_tokens=4))
    with pytest.raises(ModelUnavailable, match="circuit open"):
        model.complete(MESSAGES, GenerationOptions(max_tokens=4))


def test_structured_output_follows_the_schema(bundled: LlamaCppModel) -> None:
    import json

    schema = {
        "type": "object",
        "properties": {"subject": {"type": "string", "maxLength": 60}},
        "required": ["subject"],
    }
    options = GenerationOptions(max_tokens=64, seed=1, temperature=0.5, json_schema=schema)
    result = bundled.complete(
        [{"role": "system", "content": "Reply in JSON."}, MESSAGES[1]], options
    )[0]
    parsed = json.loads(result.text)
    assert isinstance(parsed["subject"], str) and len(parsed["subject"]) <= 60
