"""Bulk import of event files: JSONL (one Segment event per line) and CSV, streamed.

Batches commit one at a time, so a crash loses at most the batch in flight; a rerun skips
what is already in the log (by ``messageId``; events without one get a content-derived id,
so the same line dedupes too).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from monogram.cdp import unify
from monogram.cdp.csvrows import BrokenRow, read_csv
from monogram.cdp.ingest import IngestReport, Unparsable, validate
from monogram.core.clock import iso, now
from monogram.core.errors import ValidationError
from monogram.core.settings import ProjectConfig
from monogram.store import Store

BATCH = 25_000
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def read_events(path: Path) -> Iterator[tuple[int, int, int, Any]]:
    """(line number, bytes read so far, line size, raw event) for each line or row of ``path``."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        yield from _jsonl(path)
    elif suffix == ".csv":
        yield from _csv(path)
    else:
        raise ValidationError(f"{path}: unknown format {suffix!r}; use .jsonl or .csv")


def _jsonl(path: Path) -> Iterator[tuple[int, int, int, Any]]:
    done = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            done += len(line)
            if not line.strip():
                continue
            try:
                yield number, done, len(line), orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                text = line.decode("utf-8", "replace").rstrip("\n")
                yield number, done, len(line), Unparsable(f"malformed JSON: {exc}", text)


def _csv(
    path: Path, convert: Callable[[Mapping[str, str | None]], Any] | None = None
) -> Iterator[tuple[int, int, int, Any]]:
    """CSV rows as events (or, with ``convert``, as it makes them), with line and offset."""
    convert = convert or _row_event
    done = 0
    for number, row in read_csv(path):
        if isinstance(row, BrokenRow):
            size = len(row.text) + 1
            done += size
            yield number, done, size, Unparsable(row.reason, row.text)
            continue
        size = sum(len(v or "") + 1 for v in row.values())
        done += size
        yield number, done, size, convert(row)


def _row_event(row: Mapping[str, str | None]) -> dict[str, Any]:
    """A CSV row as an event: dotted headers nest (``properties.price``, ``traits.email``)."""
    event: dict[str, Any] = {}
    for header, text in row.items():
        if header is None or text is None or text == "":
            continue
        target = event
        parts = header.strip().split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = _cell(text) if len(parts) > 1 else text
    return event


def _cell(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _NUMBER.match(text.strip()):
        return float(text) if "." in text else int(text)
    if text.strip().startswith(("[", "{")):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return text


def check_file(path: Path, *, batch_size: int = BATCH) -> IngestReport:
    """What ``ingest_file`` would accept and reject, by line, without writing anything
    (duplicates of events already in the log are counted as accepted here)."""
    report = IngestReport()
    raws: list[Any] = []
    lines: list[int] = []

    def flush() -> None:
        good, bad = validate(raws, now())
        for rejection in bad:
            rejection.index = lines[rejection.index]
        report.accepted += len(good)
        report.rejected.extend(bad)
        raws.clear()
        lines.clear()

    for number, _offset, _size, raw in read_events(path):
        raws.append(raw)
        lines.append(number)
        if len(raws) >= batch_size:
            flush()
    if raws:
        flush()
    return report


def ingest_file(
    store: Store,
    config: ProjectConfig,
    path: Path,
    *,
    source: str = "file",
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH,
) -> IngestReport:
    """Stream ``path`` into the store in batches; ``progress(events, bytes)`` after each."""
    return _stream(
        store,
        config,
        read_events(path),
        source=source,
        sized=True,
        progress=progress,
        batch_size=batch_size,
    )


def _stream(
    store: Store,
    config: ProjectConfig,
    rows: Iterable[tuple[int, int, int, Any]],
    *,
    source: str,
    sized: bool,
    progress: Callable[[int, int], None] | None,
    batch_size: int,
) -> IngestReport:
    """Ingest (line, offset, size, raw event) rows in batches, rejections reported by line.
    ``sized``: each row's size is its event's encoded size (saves measuring it again)."""
    report = IngestReport()
    raws: list[Any] = []
    lines: list[int] = []
    sizes: list[int] = []
    done = 0

    def flush() -> None:
        part = unify.ingest_batch(
            store, config, raws, source=source, sizes=sizes if sized else None
        )
        for rejection in part.rejected:
            rejection.index = lines[rejection.index]  # report line numbers, not offsets
        report.add(part)
        if progress:
            progress(len(raws), done)
        raws.clear()
        lines.clear()
        sizes.clear()

    for number, offset, size, raw in rows:
        raws.append(raw)
        lines.append(number)
        sizes.append(size)
        done = offset
        if len(raws) >= batch_size:
            flush()
    if raws:
        flush()
    return report


# -- customer records --------------------------------------------------------------------------

RECORD_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


@dataclass
class RecordMapping:
    """How a CRM export's rows become identify events: which column is the record's id (and
    what type of identifier it is), and what each other column is called as a trait."""

    id_column: str
    id_type: str = "crm_id"
    rename: dict[str, str] = field(default_factory=dict)  # column -> trait name
    skip: set[str] = field(default_factory=set)

    def event(self, row: Mapping[str, Any], at: str) -> dict[str, Any] | Unparsable:
        record_id = str(row.get(self.id_column) or "").strip()
        if not record_id:
            return Unparsable(f"{self.id_column}: empty (every record needs its id)", str(row))
        traits: dict[str, Any] = {}
        for column, value in row.items():
            if column in (None, self.id_column) or column in self.skip:
                continue
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            text = value.strip() if isinstance(value, str) else value
            traits[self.rename.get(column, column)] = text
        content = orjson.dumps([self.id_type, record_id, traits], option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(content).hexdigest()
        event: dict[str, Any] = {
            "type": "identify",
            "traits": traits,
            "timestamp": at,
            "messageId": f"record-{digest[:32]}",  # the same row twice is one event
            "context": {"library": {"name": "monogram-records"}},
        }
        if self.id_type == "user_id":
            event["userId"] = record_id
        else:
            event["anonymousId"] = f"monogram-{self.id_type}-{record_id}"
            event["context"]["externalIds"] = [{"type": self.id_type, "id": record_id}]
        return event


def read_records(path: Path) -> Iterator[tuple[int, int, int, Any]]:
    """(line number, bytes so far, size, row as a mapping) for a CSV or JSONL of records."""
    if path.suffix.lower() == ".csv":
        yield from _csv(path, dict)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        yield from _jsonl(path)
    else:
        raise ValidationError(f"{path}: records are read from .csv or .jsonl, not {path.suffix!r}")


def ingest_records(
    store: Store,
    config: ProjectConfig,
    path: Path,
    mapping: RecordMapping,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH,
) -> IngestReport:
    """Stream a file of customer records (one row per record) in as identify events; a row
    without its id is reported by line, the rest go in. A rerun skips rows already in."""
    if not RECORD_FIELD.match(mapping.id_type):
        raise ValidationError(f"--id-type {mapping.id_type!r}: letters, digits and _ only")
    at = iso(now())

    def events() -> Iterator[tuple[int, int, int, Any]]:
        checked = False
        for number, offset, size, row in read_records(path):
            if not checked and isinstance(row, Mapping):
                if mapping.id_column not in row:
                    known = ", ".join(str(c) for c in row)
                    raise ValidationError(
                        f"{path}: no column {mapping.id_column!r} for the record id "
                        f"(columns: {known})"
                    )
                checked = True
            event = row if isinstance(row, Unparsable) else mapping.event(dict(row), at)
            yield number, offset, size, event

    return _stream(
        store,
        config,
        events(),
        source="records",
        sized=False,
        progress=progress,
        batch_size=batch_size,
    )
