"""Customer-context latency at 100,000 profiles: p50 and p99 of one `customer_context` call.

Each call resolves an identifier, loads the profile, computes its traits, evaluates every
segment (including event-window rules), reads recent events and purchases, and scores the
catalogue for recommendations: what `GET /v1/profiles/{id}/context` does.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import fresh_workspace, machine, synthetic_people

from monogram import samples
from monogram.cdp import catalog, context, files


def main(people: int = 100_000, calls: int = 2000) -> None:
    data = Path(tempfile.mkdtemp(prefix="monogram-bench-")) / "people.jsonl"
    samples.write_jsonl(data, synthetic_people(people))
    ws = fresh_workspace()
    catalog.import_products(ws.store, enumerate(samples.catalog()))
    files.ingest_file(ws.store, ws.config, data)
    defined = ws.segments()
    rng = random.Random(5)
    timings = []
    with ws.store.read() as conn:
        for _ in range(50):  # warm caches (catalogue, SQLite pages)
            context.customer_context(
                conn, ws.config, defined, context.resolve(conn, "user_id:u1"), "email_marketing"
            )
        for _ in range(calls):
            ref = f"user_id:u{rng.randrange(people)}"
            started = time.perf_counter()
            profile_id = context.resolve(conn, ref)
            built = context.customer_context(
                conn, ws.config, defined, profile_id, "email_marketing"
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert built.consented
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(f"machine: {machine()}; store: sqlite; {people:,} profiles, {len(defined)} segments")
    print(
        f"context assembly over {calls:,} calls: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"max {timings[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
