"""Shared set-up for the benchmark scripts (not tests: they print figures)."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from monogram.core.settings import Settings
from monogram.workspace import Workspace, open_workspace


def machine() -> str:
    cpus = os.cpu_count()
    arch = platform.processor() or platform.machine()
    return f"{arch}, {cpus} cores, Python {platform.python_version()}"


def fresh_workspace(url: str | None = None) -> Workspace:
    """A new workspace in a temporary folder (SQLite unless ``url`` names another database)."""
    home = Path(tempfile.mkdtemp(prefix="monogram-bench-"))
    return open_workspace(
        Settings(home=home, database_url=url or os.environ.get("BENCH_DATABASE_URL"))
    )


def postgres_url(stack: ExitStack, *, required: bool = True) -> str | None:
    """BENCH_DATABASE_URL, else a throwaway local server (as the tests start one) that lives as
    long as ``stack``; without either, exit with a clear message (or None if not required)."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pg import postgres_server

        url = stack.enter_context(postgres_server())
    if url is None and required:
        raise SystemExit("no PostgreSQL: set BENCH_DATABASE_URL or install postgresql")
    return url


def synthetic_people(people: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """Compact synthetic events: per person two devices, an email, a login on each device,
    a few product views and usually an order. Four identifiers a person."""
    import random
    from datetime import UTC, datetime, timedelta

    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    categories = [
        "running",
        "hiking",
        "camping",
        "cycling",
        "yoga",
        "swimming",
        "climbing",
        "apparel",
    ]
    for n in range(people):
        user, a1, a2 = f"u{n}", f"a{n}-1", f"a{n}-2"
        at = start + timedelta(minutes=rng.randint(0, 60 * 24 * 600))

        def stamp(minutes: int, at: datetime = at) -> str:
            return (at + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

        category = rng.choice(categories)
        yield {
            "type": "page",
            "anonymousId": a1,
            "name": "Home",
            "timestamp": stamp(0),
            "messageId": f"{n}-p",
        }
        yield {
            "type": "identify",
            "anonymousId": a1,
            "userId": user,
            "timestamp": stamp(5),
            "messageId": f"{n}-i1",
            "traits": {
                "email": f"person{n}@example.com",
                "first_name": "Pat",
                "consent": {"email_marketing": True, "ai_generation": True},
            },
        }
        yield {
            "type": "track",
            "anonymousId": a2,
            "event": "Product Viewed",
            "timestamp": stamp(60),
            "messageId": f"{n}-v",
            "properties": {
                "product_id": f"{category[:3]}-{rng.randint(1, 18)}",
                "category": category,
            },
        }
        yield {
            "type": "identify",
            "anonymousId": a2,
            "userId": user,
            "timestamp": stamp(61),
            "messageId": f"{n}-i2",
        }
        if rng.random() < 0.7:
            yield {
                "type": "track",
                "userId": user,
                "event": "Order Completed",
                "timestamp": stamp(90),
                "messageId": f"{n}-o",
                "properties": {
                    "order_id": f"o{n}",
                    "revenue": round(rng.uniform(20, 300), 2),
                    "products": [{"product_id": f"{category[:3]}-1", "category": category}],
                },
            }


class Recording:
    """A llama.cpp model that keeps every call and completion, to replay them raw."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.model_id = inner, inner.model_id
        self.calls: list[tuple[list[dict[str, str]], Any]] = []
        self.completions: list[Any] = []

    def complete(self, messages: list[dict[str, str]], options: Any) -> list[Any]:
        self.calls.append((messages, options))
        out = self.inner.complete(messages, options)
        self.completions.extend(out)
        return out
