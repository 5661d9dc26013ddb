"""The openai backend against a local OpenAI-compatible server (llama-cpp-python's server
with the bundled model) at concurrency 1, 4 and 16: requests/s and completion tokens/s.

The local server evaluates one request at a time, so concurrency mostly shows that the client
queues correctly and that nothing is lost; a vLLM server would batch the concurrent requests.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import httpx2 as httpx
from _common import machine

from monogram.content.llm import GenerationOptions
from monogram.content.llm.llamacpp import bundled_model_path
from monogram.content.llm.openai import OpenAIModel

MESSAGES = [
    {"role": "system", "content": "You write short marketing copy. Reply with the copy only."},
    {"role": "user", "content": "Write an email subject line about new trail running shoes."},
]


def main(requests: int = 32) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(bundled_model_path()),
            "--model_alias",
            "smollm2",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--n_threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        print(f"machine: {machine()}; server: llama_cpp.server, bundled SmolLM2-135M, 2 threads")
        for concurrency in (1, 4, 16):
            model = OpenAIModel("smollm2", base_url=url, concurrency=concurrency, timeout_s=120)
            seconds, tokens = asyncio.run(_run(model, requests))
            print(
                f"  concurrency {concurrency:>2}: {requests} requests in {seconds:.1f} s: "
                f"{requests / seconds:.1f} requests/s, {tokens / seconds:.0f} completion tokens/s"
            )
    finally:
        server.terminate()
        server.wait(10)


async def _run(model: OpenAIModel, requests: int) -> tuple[float, int]:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            model.acomplete(MESSAGES, GenerationOptions(max_tokens=16, seed=i))
            for i in range(requests)
        )
    )
    seconds = time.perf_counter() - started
    await model.aclose()
    return seconds, sum(r[0].completion_tokens for r in results)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
