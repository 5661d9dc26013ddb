"""Bulk ingestion rate: `monogram ingest FILE` on the demo's ~100,000 events (SQLite by default).

Every event is validated, deduplicated, resolved into the identity graph and folded into its
profile before its batch commits, so the rate includes all of that.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _common import fresh_workspace, machine

from monogram import samples
from monogram.cdp import files


def main(customers: int = 2000, runs: int = 3) -> None:
    folder = Path(tempfile.mkdtemp(prefix="monogram-bench-"))
    data = folder / "events.jsonl"
    count = samples.write_jsonl(
        data, samples.events(samples.catalog(), sizes=samples.SampleSizes(customers=customers))
    )
    rates = []
    for _ in range(runs):
        ws = fresh_workspace()
        started = time.perf_counter()
        report = files.ingest_file(ws.store, ws.config, data)
        seconds = time.perf_counter() - started
        assert report.accepted == count, report.as_dict()
        rates.append(count / seconds)
        ws.close()
    print(f"machine: {machine()}; store: {ws.store.url.split(':')[0]}")
    print(
        f"bulk ingestion: {count:,} events, best of {runs}: {max(rates):,.0f} events/s "
        f"(runs: {', '.join(f'{r:,.0f}' for r in rates)})"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
