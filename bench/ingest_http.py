"""HTTP ingestion rate through `POST /v1/batch` (100 events a request, 4 clients).

Starts `monogram serve` on localhost (SQLite by default; `--postgres` uses BENCH_DATABASE_URL or
a throwaway local server), sends the demo's events as Segment batches with Basic auth, and
counts acknowledged events per second. Client and server share the machine.

    python bench/ingest_http.py [--customers 1000] [--clients 4] [--per-request 100]
                                [--postgres] [--workers N]
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2 as httpx
import orjson
from _common import machine, postgres_url

from monogram import samples
from monogram.core.settings import Settings
from monogram.keys import create_key
from monogram.workspace import open_workspace


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(
    customers: int = 1000,
    clients: int = 4,
    per_request: int = 100,
    url_db: str | None = None,
    workers: int | None = None,
) -> None:
    home = Path(tempfile.mkdtemp(prefix="monogram-bench-"))
    ws = open_workspace(Settings(home=home, database_url=url_db))
    key = create_key(ws.store, "write")[1]
    ws.close()
    events = samples.events(samples.catalog(), sizes=samples.SampleSizes(customers=customers))
    bodies = [
        orjson.dumps({"batch": events[i : i + per_request]})
        for i in range(0, len(events), per_request)
    ]
    port = _port()
    env = {**os.environ, "MONOGRAM_HOME": str(home)}
    env.pop("MONOGRAM_DATABASE_URL", None)
    if url_db:
        env["MONOGRAM_DATABASE_URL"] = url_db
    command = [sys.executable, "-m", "monogram", "serve", "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url)
        headers = {
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Content-Type": "application/json",
        }
        accepted = [0] * clients

        def send(worker: int) -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                for body in bodies[worker::clients]:
                    response = client.post("/v1/batch", content=body)
                    response.raise_for_status()
                    accepted[worker] += response.json()["accepted"]

        started = time.perf_counter()
        threads = [threading.Thread(target=send, args=(w,)) for w in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
    total = sum(accepted)
    assert total == len(events), (total, len(events))
    store = "postgresql" if url_db else "sqlite"
    print(f"machine: {machine()}; store: {store}; client and server on the same machine")
    print(
        f"HTTP /v1/batch: {total:,} events in {len(bodies):,} requests of {per_request}, "
        f"{clients} clients, {workers or 'default'} server workers: "
        f"{total / seconds:,.0f} events/s"
    )


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


if __name__ == "__main__":
    import argparse
    from contextlib import ExitStack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--per-request", type=int, default=100)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    with ExitStack() as stack:
        database = None
        if args.postgres:
            database = postgres_url(stack)
        main(args.customers, args.clients, args.per_request, database, args.workers)
