"""PostgreSQL at size: identity-heavy bulk ingest, customer context over HTTP, whole-base
segments and the database's size.

Each synthetic person browses on three devices, signs in on the first (identify with an
email), is aliased from the second, signs in again on the third, views products and orders:
ten events a person, every one resolved into the identity graph and folded into the profile
before its batch commits (what `monogram ingest` does).

    python bench/scale_postgres.py [--profiles 1000000] [--calls 2000] [--workers 2]

PostgreSQL comes from BENCH_DATABASE_URL, else a throwaway local server (as the tests start
one: fsync off). 1M profiles and 10M events take about 15 minutes to ingest and ~12 GB of disk
on a 2-core machine; `--profiles 100000` is the quick run.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
from _common import machine, postgres_url
from ingest_http import _port, _wait

from monogram import samples
from monogram.cdp import catalog, files, segments
from monogram.core.settings import Settings
from monogram.keys import create_key
from monogram.workspace import open_workspace, write_project_files

CATEGORIES = ["running", "hiking", "camping", "cycling", "yoga", "swimming", "climbing"]


def people(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Ten events a person, people in time order over the last 660 days (so a person's events
    sit close together in the stream, as they do in a real one, and the most recent people
    fall inside the segments' event windows)."""
    rng = random.Random(seed)
    span = 60 * 24 * 660  # minutes over which people arrive, ending today
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=span + 60 * 24)
    products = [p["id"] for p in samples.catalog()]
    for n in range(count):
        at = start + timedelta(minutes=span * n // count)
        user, devices = f"u{n}", [f"d{n}-{k}" for k in range(3)]
        email = f"person{n}@example.com"
        stamp = lambda minutes, at=at: (at + timedelta(minutes=minutes)).isoformat()[:19] + "Z"  # noqa: E731
        category = rng.choice(CATEGORIES)
        viewed = [rng.choice(products) for _ in range(3)]
        rows: list[dict[str, Any]] = [
            {"type": "track", "anonymousId": devices[0], "event": "Product Viewed",
             "properties": {"product_id": viewed[0], "category": category}},
            {"type": "identify", "anonymousId": devices[0], "userId": user,
             "traits": {"email": email, "first_name": "Pat",
                        "consent": {"email_marketing": True, "ai_generation": True}}},
            {"type": "track", "anonymousId": devices[1], "event": "Product Viewed",
             "properties": {"product_id": viewed[1], "category": category}},
            {"type": "alias", "previousId": devices[1], "userId": user},
            {"type": "track", "anonymousId": devices[2], "event": "Product Viewed",
             "properties": {"product_id": viewed[2], "category": category}},
            {"type": "identify", "anonymousId": devices[2], "userId": user},
            {"type": "page", "anonymousId": devices[2], "name": "Cart"},
            {"type": "track", "userId": user, "event": "Order Completed",
             "properties": {"order_id": f"o{n}", "revenue": round(rng.uniform(20, 300), 2),
                            "products": [{"product_id": viewed[0], "category": category}]}},
            {"type": "track", "userId": user, "event": "Email Opened", "properties": {}},
            {"type": "track", "anonymousId": devices[0], "event": "Product Viewed",
             "properties": {"product_id": viewed[1], "category": category}},
        ]  # fmt: skip
        for index, row in enumerate(rows):
            row["timestamp"] = stamp(index * 37)
            row["messageId"] = f"{n}-{index}"
            yield row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with ExitStack() as stack:
        url = postgres_url(stack)
        assert url is not None
        run(url, args.profiles, args.calls, args.workers)


def run(url: str, count: int, calls: int, workers: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="monogram-bench-"))
    data = folder / "events.jsonl"
    written = samples.write_jsonl(data, people(count))
    home = folder / "home"
    write_project_files(home, overwrite=False)
    ws = open_workspace(Settings(home=home, database_url=url))
    catalog.import_products(ws.store, enumerate(samples.catalog()))
    started = time.perf_counter()
    report = files.ingest_file(ws.store, ws.config, data)
    seconds = time.perf_counter() - started
    assert report.accepted == written, (report.accepted, written)
    with ws.store.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    with ws.store.read() as conn:
        profiles = conn.exec_driver_sql("SELECT count(*) FROM profiles").scalar()
        size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
    print(f"machine: {machine()}; PostgreSQL {_server_version(ws)} on the same machine")
    print(
        f"ingest (`monogram ingest`'s path): {written:,} events for {count:,} people "
        f"({profiles:,} profiles after identity resolution) in {seconds:,.0f} s: "
        f"{written / seconds:,.0f} events/s"
    )
    print(f"database size: {size / 1e9:.2f} GB")
    defined = ws.segments()
    for name, segment in defined.items():
        with ws.store.read() as conn:
            started = time.perf_counter()
            members = segments.count_members(conn, segment, ws.config)
            took = time.perf_counter() - started
        print(f"segment {name}: {members:,} members, counted in {took:.2f} s")
    key = create_key(ws.store, "read")[1]
    ws.close()
    context_over_http(home, url, key, count, calls, workers)


def _server_version(ws: Any) -> str:
    with ws.store.read() as conn:
        return str(conn.exec_driver_sql("SHOW server_version").scalar()).split()[0]


def context_over_http(home: Path, url: str, key: str, count: int, calls: int, workers: int) -> None:
    port = _port()
    env = {**os.environ, "MONOGRAM_HOME": str(home), "MONOGRAM_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "monogram", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(3)
    timings = []
    try:
        _wait(base)
        headers = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for _ in range(50):  # warm up both workers
                client.get("/v1/profiles/user_id:u1/context?purpose=email_marketing")
            for _ in range(calls):
                ref = f"user_id:u{rng.randrange(count)}"
                started = time.perf_counter()
                answer = client.get(f"/v1/profiles/{ref}/context?purpose=email_marketing")
                timings.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
                assert orjson.loads(answer.content)["consented"]
    finally:
        server.terminate()
        server.wait(10)
    timings.sort()
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(
        f"context over HTTP ({workers} server workers, one client, {calls:,} random people): "
        f"p50 {statistics.median(timings):.1f} ms, p99 {p99:.1f} ms, max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
