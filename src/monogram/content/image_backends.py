"""Pictures from elsewhere: bounded downloads, and the ``openai-images`` backend (any server
that speaks the OpenAI images API: OpenAI, LocalAI, a stable-diffusion.cpp or ComfyUI bridge).

A generated picture is cached by its prompt in the workspace, so customers whose prompts are
the same (the prompt sees only the fields the element lists) share one picture and one call.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx2 as httpx

from monogram.content.images import ImageError, Picture, _write_atomic, open_picture


def download(url: str, config: Any, timeout: float | None = None) -> bytes:
    """``url``'s bytes, refused when the answer is not an image or passes the size limit (the
    download stops there rather than reading on)."""
    limit = int(config.max_download_mb * 1_000_000)
    try:
        with httpx.stream(
            "GET", url, timeout=timeout or config.download_timeout_s, follow_redirects=True
        ) as response:
            if response.status_code != 200:
                raise ImageError(f"{url}: the server answered {response.status_code}")
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind and not kind.startswith("image/"):
                raise ImageError(f"{url}: {kind} is not an image")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ImageError(f"{url}: {declared} bytes is over images.max_download_mb")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ImageError(f"{url}: over images.max_download_mb, download stopped")
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise ImageError(f"{url}: timed out") from exc
    except httpx.HTTPError as exc:
        raise ImageError(f"{url}: {type(exc).__name__}: {exc}") from exc
    return b"".join(chunks)


class OpenAIImages:
    """Generates the picture from the element's prompt (``images.base_url``, ``images.model``)."""

    generated = True

    def __init__(self, config: Any, home: Path) -> None:
        if not config.base_url:
            raise ImageError("images.backend openai-images needs images.base_url")
        self.config = config
        self.sources = home / "images" / "sources"

    def picture(self, product: dict[str, Any] | None, prompt: str | None) -> Picture:
        if not prompt:
            return Picture(None, reason="no prompt for the image model")
        digest = hashlib.sha256(
            f"{self.config.base_url}|{self.config.model}|{self.config.generate_size}|{prompt}".encode()
        ).hexdigest()
        cached = self.sources / f"gen-{digest}.bin"
        try:
            data = cached.read_bytes() if cached.exists() else self._generate(prompt)
            image = open_picture(data, "the image server's answer")
        except ImageError as exc:
            return Picture(None, reason=str(exc))
        if not cached.exists():
            _write_atomic(cached, data)
        return Picture(image, hashlib.sha256(data).hexdigest(), "generated")

    def _generate(self, prompt: str) -> bytes:
        body: dict[str, Any] = {
            "prompt": prompt,
            "n": 1,
            "size": self.config.generate_size,
            "response_format": "b64_json",
        }
        if self.config.model:
            body["model"] = self.config.model
        headers = {}
        key = os.environ.get(self.config.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.config.base_url.rstrip("/") + "/images/generations"
        try:
            response = httpx.post(url, json=body, headers=headers, timeout=self.config.timeout_s)
        except httpx.TimeoutException as exc:
            raise ImageError(f"the image server timed out after {self.config.timeout_s} s") from exc
        except httpx.HTTPError as exc:
            raise ImageError(f"the image server is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ImageError(
                f"the image server answered {response.status_code}: {response.text[:200]}"
            )
        try:
            item = response.json()["data"][0]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ImageError("the image server's answer has no data[0]") from exc
        if item.get("b64_json"):
            try:
                return base64.b64decode(item["b64_json"], validate=True)
            except ValueError as exc:
                raise ImageError("the image server's b64_json is not base64") from exc
        if item.get("url"):
            return download(str(item["url"]), self.config, self.config.timeout_s)
        raise ImageError("the image server's answer has neither b64_json nor url")
