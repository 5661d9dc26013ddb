"""Console page times at scale: each page's server time with 100,000 profiles and 1,000,000
events on SQLite, and the customer search as you type.

Builds the shop once (100,000 people, ten events each: an identify with traits and consent,
product views, a cart add, an order, an email open, over the last 60 days) into a cached
workspace, signs in, then asks each page ``--runs`` times through the app in process (the
server's time: routing, queries, templates) and prints the median and the slowest.

    python bench/console.py [--people 100000] [--runs 5] [--rebuild]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import machine
from fastapi.testclient import TestClient

from monogram.api.app import create_app
from monogram.cdp import files
from monogram.core.settings import Settings
from monogram.keys import create_key
from monogram.workspace import Workspace, open_workspace

FIRST = ["Ada", "Ben", "Cleo", "Dev", "Edda", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kai", "Lena"]
LAST = ["Moss", "Reyes", "Okafor", "Lind", "Sato", "Berg", "Costa", "Nash", "Park", "Quinn"]
CATEGORIES = ["running", "hiking", "camping", "cycling", "yoga", "climbing", "apparel"]


def people(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    end = datetime.now(UTC)
    for n in range(count):
        user = f"u{n:06d}"
        category = rng.choice(CATEGORIES)
        start = end - timedelta(minutes=rng.randint(60, 60 * 24 * 60))

        def at(minutes: int, start: datetime = start) -> str:
            return (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

        yield {
            "type": "identify",
            "userId": user,
            "timestamp": at(0),
            "messageId": f"{user}-i",
            "traits": {
                "email": f"{user}@example.com",
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "consent": {
                    "email_marketing": rng.random() < 0.6,
                    "ai_generation": rng.random() < 0.7,
                    "personalization": True,
                },
            },
        }
        for v in range(6):
            yield {
                "type": "track",
                "userId": user,
                "event": "Product Viewed",
                "timestamp": at(1 + v),
                "messageId": f"{user}-v{v}",
                "properties": {
                    "product_id": f"{category[:3]}-{rng.randint(1, 18)}",
                    "category": category,
                },
            }
        yield {
            "type": "track",
            "userId": user,
            "event": "Product Added",
            "timestamp": at(8),
            "messageId": f"{user}-a",
            "properties": {"product_id": f"{category[:3]}-1", "category": category},
        }
        yield {
            "type": "track",
            "userId": user,
            "event": "Order Completed",
            "timestamp": at(9),
            "messageId": f"{user}-o",
            "properties": {
                "order_id": f"o{user}",
                "revenue": round(rng.uniform(20, 300), 2),
                "products": [{"product_id": f"{category[:3]}-1", "category": category}],
            },
        }
        yield {
            "type": "track",
            "userId": user,
            "event": "Email Opened",
            "timestamp": at(30),
            "messageId": f"{user}-e",
            "properties": {"campaign_id": "newsletter"},
        }


def build(home: Path, count: int) -> Workspace:
    import orjson

    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    data = home / "events.jsonl"
    with data.open("wb") as out:
        for event in people(count):
            out.write(orjson.dumps(event) + b"\n")
    ws = open_workspace(Settings(home=home, database_url=f"sqlite:///{home / 'monogram.db'}"))
    started = time.perf_counter()
    report = files.ingest_file(ws.store, ws.config, data)
    print(f"built: {report.accepted:,} events in {time.perf_counter() - started:.0f} s")
    data.unlink()
    return ws


def campaign_decisions(ws: Workspace, count: int) -> None:
    """A campaign's decision log for the results page: ``count`` customers, 10% held out
    (logged as a campaign run logs them; once per cached workspace)."""
    from sqlalchemy import func, select

    from monogram.learning import store as learning
    from monogram.store.tables import decisions, profiles

    with ws.store.read() as conn:
        done = conn.execute(
            select(func.count()).where(decisions.c.campaign == "bench-campaign")
        ).scalar_one()
        if done:
            return
        ids = list(conn.execute(select(profiles.c.profile_id).limit(count)).scalars())
    placement = ws.placements()["email"]
    with ws.store.write() as conn:
        for n, pid in enumerate(ids):
            learning.choose(
                conn,
                ws.config,
                placement,
                {"lifecycle_stage": "active"},
                profile_id=pid,
                key=("bench-campaign", pid),
                campaign="bench-campaign",
                holdout=n % 10 == 0,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.gettempdir()) / f"monogram-console-bench-{args.people}"
    marker = home / "built"
    if args.rebuild or not marker.exists():
        ws = build(home, args.people)
        marker.write_text("ok")
    else:
        ws = open_workspace(Settings(home=home, database_url=f"sqlite:///{home / 'monogram.db'}"))
    campaign_decisions(ws, 10_000)
    _, secret = create_key(ws.store, "admin", "bench")
    client = TestClient(create_app(ws))
    started = time.perf_counter()
    client.post("/ui/sign-in", data={"key": secret, "next": "/ui/"}, follow_redirects=False)
    signed_in = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    client.get("/ui/")
    first = (time.perf_counter() - started) * 1000
    with ws.store.read() as conn:
        from sqlalchemy import func, select

        from monogram.store.tables import events, profiles

        profile_count = conn.execute(select(func.count()).select_from(profiles)).scalar_one()
        event_count = conn.execute(select(func.count()).select_from(events)).scalar_one()
        someone = conn.execute(select(profiles.c.profile_id).limit(1).offset(4321)).scalar_one()
    print(
        f"console pages on {machine()}, SQLite, {profile_count:,} profiles, "
        f"{event_count:,} events, {args.runs} runs each (median / slowest, ms)"
    )
    pages = {
        "overview": "/ui/",
        "customers: search page": "/ui/customers?q=u04321",
        "customers: as you type 'u0'": "/ui/customers/search?q=u0",
        "customers: as you type 'u04321@'": "/ui/customers/search?q=u04321%40",
        "customers: as you type a name 'Cleo'": "/ui/customers/search?q=Cleo",
        "customer profile": f"/ui/customers/{someone}",
        "customer profile with context": f"/ui/customers/{someone}?purpose=email_marketing",
        "segments (every size counted)": "/ui/segments",
        "segment lapsed_runners (nobody matches)": "/ui/segments/lapsed_runners",
        "segment demo_audience": "/ui/segments/demo_audience",
        "content": "/ui/content",
        "review queue": "/ui/reviews",
        "campaigns": "/ui/campaigns",
        "campaign results, 10,000 decisions": "/ui/campaigns/bench-campaign/results",
        "learning": "/ui/learning",
        "keys": "/ui/keys",
    }
    print(f"  {'sign-in (starts the whole-base counts)':<40} {signed_in:8.1f}")
    print(f"  {'overview, first ask (counts running)':<40} {first:8.1f}")
    for name, path in pages.items():
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        print(f"  {name:<40} {statistics.median(times):8.1f} {max(times):8.1f}")
    ws.close()


if __name__ == "__main__":
    main()
