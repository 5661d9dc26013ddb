"""Identity rebuild time for about 1,000,000 identifiers (250,000 people, four ids each).

Builds the store through the bulk importer, then times `monogram identity rebuild`: the whole
graph resolved again from the log in time order, and every profile refolded.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _common import fresh_workspace, machine, synthetic_people
from sqlalchemy import func, select

from monogram import samples
from monogram.cdp import files, unify
from monogram.store.tables import identifiers


def main(people: int = 250_000) -> None:
    data = Path(tempfile.mkdtemp(prefix="monogram-bench-")) / "people.jsonl"
    events = samples.write_jsonl(data, synthetic_people(people))
    ws = fresh_workspace()
    started = time.perf_counter()
    files.ingest_file(ws.store, ws.config, data)
    loaded = time.perf_counter() - started
    with ws.store.read() as conn:
        ids = conn.execute(select(func.count()).select_from(identifiers)).scalar_one()
    started = time.perf_counter()
    report = unify.rebuild_identities(ws.store, ws.config)
    seconds = time.perf_counter() - started
    print(f"machine: {machine()}; store: sqlite")
    print(
        f"loaded {events:,} events ({ids:,} identifiers) in {loaded:.1f} s "
        f"({events / loaded:,.0f} events/s)"
    )
    print(
        f"identity rebuild: {ids:,} identifiers, {report.profiles_after:,} profiles, "
        f"{report.merges:,} merges in {seconds:.1f} s"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
