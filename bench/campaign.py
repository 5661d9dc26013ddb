"""Campaign throughput (bundled model, and a fake model to show the pipeline's own cost) and
`/v1/personalize` latency with warm caches."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine
from fastapi.testclient import TestClient

from monogram import demo
from monogram.api.app import create_app
from monogram.campaigns import Campaign
from monogram.campaigns.run import run_campaign
from monogram.content.llm.fake import FakeModel
from monogram.core.settings import Settings
from monogram.delivery.channels.file import FileChannel
from monogram.keys import create_key
from monogram.workspace import Workspace, open_workspace


def shop() -> Workspace:
    ws = open_workspace(Settings(home=Path(tempfile.mkdtemp(prefix="monogram-bench-"))))
    demo.load_samples(ws, demo.write_samples(ws, customers=600))
    return ws


def campaign(ws: Workspace, name: str, limit: int) -> tuple[int, float]:
    spec = Campaign(name=name, placement="email", audience="demo_audience", holdout=0.0)
    summary = run_campaign(ws, spec, FileChannel(ws.home / f"{name}.jsonl"), limit=limit)
    return summary.audience, summary.seconds


def main(bundled_customers: int = 10, fake_customers: int = 200) -> None:
    print(f"machine: {machine()}")
    ws = shop()
    ws.use_model(FakeModel(lambda m, o: "Fresh running and hiking gear picked for your next trail"))
    count, seconds = campaign(ws, "fake", fake_customers)
    rate = count / seconds
    print(f"campaign, fake model: {count} customers in {seconds:.1f} s: {rate:.1f} customers/s")
    ws.close()
    ws = shop()
    count, seconds = campaign(ws, "bundled", bundled_customers)
    rate = count / seconds
    print(f"campaign, bundled SmolLM2-135M: {count} customers in {seconds:.1f} s: {rate:.2f}/s")
    key = create_key(ws.store, "read")[1]
    client = TestClient(create_app(ws))
    headers = {"Authorization": f"Bearer {key}"}
    refs = [f"user_id:cust-{n:05d}" for n in range(1, 61)]
    for ref in refs:  # warm: first call writes (or falls back), later calls hit the cache
        client.post(
            "/v1/personalize", json={"customer": ref, "placement": "landing_page"}, headers=headers
        )
    time.sleep(2)
    timings = []
    for _ in range(5):
        for ref in refs:
            started = time.perf_counter()
            client.post(
                "/v1/personalize",
                json={"customer": ref, "placement": "landing_page"},
                headers=headers,
            )
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(
        f"/v1/personalize, warm caches, {len(timings)} calls: "
        f"p50 {statistics.median(timings):.1f} ms, "
        f"p99 {timings[int(len(timings) * 0.99) - 1]:.1f} ms"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
