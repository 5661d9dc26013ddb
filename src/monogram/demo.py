"""The end-to-end demo: generated sample data through the same paths users use.

Writes a catalogue and about 100,000 events to ``{home}/samples/`` as files, imports them with
the catalogue importer and the bulk event importer (``monogram catalog import`` and
``monogram ingest`` do the same), so identities resolve in-stream and profiles are current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from monogram import samples
from monogram.cdp import catalog, files
from monogram.cdp.ingest import IngestReport, count_quarantined
from monogram.store.tables import events, identifiers, identity_merges, identity_refusals, products
from monogram.store.tables import profiles as profiles_table
from monogram.workspace import Workspace


@dataclass
class DemoData:
    catalog_file: Path
    events_file: Path
    products: int
    events: int


def write_samples(ws: Workspace, *, seed: int = 7, customers: int = 2000) -> DemoData:
    folder = ws.home / "samples"
    items = samples.catalog(seed)
    catalog_file = folder / "catalog.jsonl"
    events_file = folder / "events.jsonl"
    samples.write_jsonl(catalog_file, items)
    sizes = samples.SampleSizes(customers=customers)
    count = samples.write_jsonl(events_file, samples.events(items, seed=seed, sizes=sizes))
    return DemoData(catalog_file, events_file, len(items), count)


def load_samples(
    ws: Workspace, data: DemoData, progress: Callable[[int, int], None] | None = None
) -> tuple[int, IngestReport]:
    report = catalog.import_products(ws.store, catalog.read_rows(data.catalog_file))
    ingested = files.ingest_file(
        ws.store, ws.config, data.events_file, source="demo", progress=progress
    )
    return report.imported, ingested


def stats(ws: Workspace) -> dict[str, Any]:
    """Counts of what the workspace holds (``monogram stats``)."""
    with ws.store.read() as conn:

        def count(table: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

        return {
            "events": count(events),
            "profiles": count(profiles_table),
            "identifiers": count(identifiers),
            "quarantined": count_quarantined(conn),
            "products": count(products),
            "merges": count(identity_merges),
            "refused_merges": count(identity_refusals),
            "segments": len(ws.segments()),
        }
