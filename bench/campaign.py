"""Campaign throughput and `/v1/personalize` latency.

1. The step's own cost: a campaign with a fake model (context, four gated elements, records,
   delivery to a file) on SQLite, with the local executor, several runs.
2. The same on PostgreSQL with the local executor and with the ray executor (a local Ray, one
   actor and two): Ray's overhead per customer is (one actor's time - local time) / customers.
   PostgreSQL comes from BENCH_DATABASE_URL, else a throwaway server as the tests start one.
3. The bundled model: a campaign of N customers, every model call recorded, then the same calls
   replayed straight into llama-cpp-python (same prompts, options and seeds): what raw
   llama.cpp allows for the same generated tokens, measured in the same run.
4. `/v1/personalize` with warm caches.

    python bench/campaign.py [--customers 200] [--runs 3] [--bundled 8] [--skip-ray]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

from _common import Recording, fresh_workspace, machine, postgres_url
from fastapi.testclient import TestClient

from monogram import demo
from monogram.api.app import create_app
from monogram.campaigns import Campaign
from monogram.campaigns.executors import Executor, LocalExecutor, ProcessExecutor
from monogram.campaigns.run import run_campaign
from monogram.content.llm.llamacpp import LlamaCppModel
from monogram.delivery.channels.file import FileChannel
from monogram.keys import create_key
from monogram.workspace import Workspace

COPY = "Fresh running and hiking gear picked for your next trail"


def shop(url: str | None = None, customers: int = 600) -> Workspace:
    ws = fresh_workspace(url)
    (ws.home / "monogram.yaml").write_text(
        "llm: {backend: fake, options: {text: '" + COPY + "'}}\n", encoding="utf-8"
    )
    ws.close()
    ws = fresh_workspace_at(ws.home, url)
    demo.load_samples(ws, demo.write_samples(ws, customers=customers))
    return ws


def fresh_workspace_at(home: Path, url: str | None) -> Workspace:
    from monogram.core.settings import Settings
    from monogram.workspace import open_workspace

    return open_workspace(Settings(home=home, database_url=url))


def campaign(
    ws: Workspace, name: str, limit: int, executor: Executor | None = None
) -> tuple[int, float]:
    spec = Campaign(name=name, placement="email", audience="demo_audience", holdout=0.0)
    channel = FileChannel(ws.home / f"{name}.jsonl")
    summary = run_campaign(ws, spec, channel, limit=limit, executor=executor)
    assert not summary.errors, summary.errors
    return summary.audience, summary.seconds


class KeptWorkers(ProcessExecutor):
    """Workers kept between the runs of the benchmark (a run closes its executor)."""

    def close(self) -> None:
        return None


def fake_sqlite(customers: int, runs: int) -> None:
    ws = shop()
    campaign(ws, "warm-up", 20)  # the gate's models load once per process
    rates = []
    for run in range(runs):
        count, seconds = campaign(ws, f"fake-{run}", customers)
        rates.append(count / seconds)
    shown = ", ".join(f"{r:.1f}" for r in rates)
    print(
        f"campaign, fake model, SQLite, local executor: {count} customers a run, "
        f"{runs} runs: {shown} customers/s (median {statistics.median(rates):.1f}, "
        f"{1000 / statistics.median(rates):.1f} ms a customer)"
    )
    ws.close()
    ws = shop()  # fresh: the runs above used up the customers' frequency cap
    workers = os.cpu_count() or 1
    executor = KeptWorkers(workers=workers)
    started = time.perf_counter()
    executor.start(ws)  # the worker processes, their workspace, model and gate models
    start = time.perf_counter() - started
    rates = []
    for run in range(runs):
        count, seconds = campaign(ws, f"processes-{run}", customers, executor)
        rates.append(count / seconds)
    ProcessExecutor.close(executor)
    shown = ", ".join(f"{r:.1f}" for r in rates)
    print(
        f"campaign, fake model, SQLite, processes executor, {workers} workers: {count} "
        f"customers a run, {runs} runs: {shown} customers/s (median "
        f"{statistics.median(rates):.1f}; +{start:.1f} s once to start the workers)"
    )
    ws.close()


def fake_postgres(customers: int) -> None:
    from monogram.campaigns.ray_executor import RayExecutor

    with ExitStack() as stack:
        url = postgres_url(stack, required=False)
        if url is None:
            print("PostgreSQL: none available (set BENCH_DATABASE_URL); Ray figures skipped")
            return
        ws = shop(url)
        campaign(ws, "warm-up", 20)
        count, local = campaign(ws, "local", customers, LocalExecutor())
        print(
            f"campaign, fake model, PostgreSQL, local executor: {count} customers in "
            f"{local:.1f} s: {count / local:.1f} customers/s"
        )
        for workers in (1, 2):
            executor = RayExecutor(workers=workers, num_cpus=os.cpu_count(), batch_size=16)
            started = time.perf_counter()
            executor.start(ws)  # Ray, the actors, their workspace, model and gate models
            start = time.perf_counter() - started
            count, seconds = campaign(ws, f"ray-{workers}", customers, executor)
            print(
                f"campaign, fake model, PostgreSQL, ray executor, {workers} actor(s): "
                f"{count} customers in {seconds:.1f} s (+{start:.1f} s to start Ray and the "
                f"actors): {count / seconds:.1f} customers/s, "
                f"{count / seconds / (count / local):.2f}x local"
            )
            if workers == 1:
                overhead = 1000 * (seconds - local) / count
                print(f"  Ray overhead per customer (one actor vs local): {overhead:.1f} ms")
        ws.close()


def bundled(customers: int) -> None:
    ws = shop()
    model = Recording(LlamaCppModel(n_ctx=1024, threads=os.cpu_count()))
    ws.use_model(model)
    spec = Campaign(
        name="bundled", placement="email", audience="demo_audience", holdout=0.0,
        strategies=["warm", "practical"],
    )  # fmt: skip
    summary = run_campaign(ws, spec, FileChannel(ws.home / "bundled.jsonl"), limit=customers)
    ours = summary.seconds
    raw = LlamaCppModel(n_ctx=1024, threads=os.cpu_count())  # fresh: the same starting state
    started = time.perf_counter()
    for messages, options in model.calls:
        raw.complete(messages, options)
    raw_seconds = time.perf_counter() - started
    tokens = sum(c.completion_tokens for c in model.completions)
    prompt = sum(c.prompt_tokens for c in model.completions)
    count = summary.audience
    print(
        f"campaign, bundled SmolLM2-135M: {count} customers, {len(model.calls)} model calls, "
        f"{prompt:,} prompt + {tokens:,} completion tokens: {ours:.1f} s, "
        f"{count / ours:.2f} customers/s"
    )
    print(
        f"  raw llama-cpp-python, the same calls: {raw_seconds:.1f} s, "
        f"{count / raw_seconds:.2f} customers/s; the campaign reaches "
        f"{100 * raw_seconds / ours:.0f}% of it"
    )
    realtime(ws)
    ws.close()


def realtime(ws: Workspace) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=200, help="fake-model campaigns")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bundled", type=int, default=8, help="bundled-model customers (0: skip)")
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    fake_sqlite(args.customers, args.runs)
    if not args.skip_ray:
        fake_postgres(args.customers)
    if args.bundled:
        bundled(args.bundled)


if __name__ == "__main__":
    main()
