"""Events in, unified profiles out: the in-stream path and the replays that must agree with it.

``ingest_batch`` validates a batch, and in one transaction dedupes it, resolves identities,
appends the log, folds the events into their profiles and quarantines what was refused. When
the batch commits, the events are durable and every profile they touch is current.

``replay`` recomputes identities and profiles from the log, for a part of the graph (a late
event near a refused merge, an unmerge) or for all of it (``rebuild``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, update

from monogram.cdp import identity, ingest, profiles
from monogram.cdp.events import Event
from monogram.cdp.identity import Graph
from monogram.core.clock import now, parse_timestamp
from monogram.core.errors import FieldError
from monogram.core.settings import ProjectConfig
from monogram.store import Store
from monogram.store.engine import bulk_sql, bulk_update, exclusive
from monogram.store.tables import (
    events,
    identifiers,
    identity_merges,
    identity_refusals,
    product_stats,
)
from monogram.store.tables import profiles as profiles_table

Progress = Callable[[int], None]
IDENTITY_LOCK = "identity"  # held by every transaction that changes the graph or profiles


def ingest_batch(
    store: Store,
    config: ProjectConfig,
    raws: Sequence[Any],
    *,
    source: str,
    received_at: datetime | None = None,
    prefix: str = "",
    first_index: int = 0,
    sizes: Sequence[int] | None = None,
    quarantine_limit: int | None = None,
) -> ingest.IngestReport:
    """Validate and ingest a batch of raw Segment events; rejects go to quarantine (at most
    ``quarantine_limit`` of them, the rest counted in ``quarantine_dropped``: a request of
    thousands of tiny bad events must not write thousands of rows)."""
    received_at = received_at or now()
    good, bad = ingest.validate(
        raws, received_at, prefix=prefix, first_index=first_index, sizes=sizes
    )
    good = _drop_unidentified(good, bad, config, prefix)
    report = ingest.IngestReport(rejected=bad)
    with store.write() as conn:
        report.accepted, report.duplicates = apply_events(conn, config, good, source)
        if bad:
            local = [ingest.Rejection(r.index - first_index, r.message_id, r.errors) for r in bad]
            if quarantine_limit is not None and len(local) > quarantine_limit:
                report.quarantine_dropped = len(local) - quarantine_limit
                local = local[:quarantine_limit]
            ingest.quarantine_rejects(conn, raws, local, source)
    return report


def _drop_unidentified(
    good: list[Event],
    bad: list[ingest.Rejection],
    config: ProjectConfig,
    prefix: str,
) -> list[Event]:
    """Events whose only ids are junk (``undefined``, ``0`` ...) cannot be attributed: reject."""
    kept = []
    for event in good:
        if identity.identifiers_of(event, config.identity):
            kept.append(event)
            continue
        field = f"{prefix}{event.index}.userId" if prefix else "userId"
        bad.append(
            ingest.Rejection(
                event.index,
                event.message_id,
                [FieldError(field, "userId and anonymousId are empty or placeholder values")],
            )
        )
    bad.sort(key=lambda r: r.index)
    return kept


def replay_quarantine(
    store: Store, config: ProjectConfig, ids: Sequence[int] | None = None
) -> ingest.IngestReport:
    """Retry quarantined events (after a fix or a rule change); what passes leaves quarantine."""
    report = ingest.IngestReport()
    with store.write() as conn:
        rows = list(ingest.quarantine_rows(conn, ids))
        raws: list[Any] = []
        for row in rows:
            try:
                raws.append(orjson.loads(row.payload))
            except orjson.JSONDecodeError as exc:
                raws.append(ingest.Unparsable(f"malformed JSON: {exc}", row.payload))
        good, bad = ingest.validate(raws, now())
        good = _drop_unidentified(good, bad, config, "")
        report.rejected = bad
        report.accepted, report.duplicates = apply_events(conn, config, good, "replay")
        still = {r.index for r in bad}
        ingest.mark_replayed(conn, [row.id for i, row in enumerate(rows) if i not in still])
        ingest.update_errors(conn, [(rows[r.index].id, r.errors) for r in bad])
    return report


def apply_events(
    conn: Connection, config: ProjectConfig, batch: Sequence[Event], source: str
) -> tuple[int, int]:
    """Dedupe, resolve, append and fold; returns (accepted, duplicates). Writers of the
    identity graph take turns (``IDENTITY_LOCK``), so concurrent batches about the same
    people never lose a merge or an update."""
    exclusive(conn, IDENTITY_LOCK)
    fresh, duplicates = ingest.fresh_events(conn, batch)
    if not fresh:
        return 0, duplicates
    fresh.sort(key=lambda e: e.key)
    keys = [identity.identifiers_of(e, config.identity) for e in fresh]
    graph = identity.load_graph(conn, config.identity, (k for ks in keys for k in ks))
    before = set(graph.members)
    stored = profiles.load_states(conn, before)
    marks = {
        pid: (s.get("watermark") or "", bool(s.get("conflicted"))) for pid, s in stored.items()
    }
    provisional = [
        graph.resolve(k, e.message_id, e.timestamp) for e, k in zip(fresh, keys, strict=True)
    ]
    identity.save_graph(conn, graph, stored=before)
    owners = [graph.final(pid) for pid in provisional]
    ingest.append(conn, fresh, owners, source)
    late = _fold_batch(conn, config, graph, fresh, owners, stored, marks)
    _count_products(conn, fresh)
    if late:
        replay(conn, config, identity.closure(conn, late))
    return len(fresh), duplicates


def _fold_batch(
    conn: Connection,
    config: ProjectConfig,
    graph: Graph,
    batch: Sequence[Event],
    owners: Sequence[str],
    states: dict[str, profiles.State],
    marks: dict[str, tuple[str, bool]],
) -> set[str]:
    """Fold a resolved batch into its profiles; return profiles that need a replay."""
    before = set(states)
    touched = {graph.final(pid) for pid in before} | set(owners)
    for merge in graph.merges:
        loser = states.pop(merge.loser, None) or profiles.empty_state()
        states[merge.winner] = profiles.merge_states(
            states.get(merge.winner) or profiles.empty_state(), loser
        )
    conflicted = {graph.final(r.profile_id) for r in graph.refusals}
    conflicted |= {graph.final(r.other_profile_id) for r in graph.refusals if r.other_profile_id}
    first_stamp: dict[str, str] = {}
    for event, owner in zip(batch, owners, strict=True):
        state = states.get(owner)
        if state is None:
            state = states[owner] = profiles.empty_state()
        profiles.fold(state, event, config)
        profiles.bump_watermark(state, event)
        first_stamp.setdefault(owner, f"{event.payload['timestamp']}|{event.message_id}")
    late: set[str] = set()
    for pid in before:
        stamp, was_conflicted = marks.get(pid, ("", False))
        final = graph.final(pid)
        if was_conflicted:
            conflicted.add(final)
        if final in first_stamp and stamp and _earlier(first_stamp[final], stamp):
            late.add(final)
    # A refusal caused by an event older than what either side has already seen would have
    # gone the other way in time order: replay both sides.
    stamps = {e.message_id: f"{e.payload['timestamp']}|{e.message_id}" for e in batch}
    for refusal in graph.refusals:
        sides = {graph.final(refusal.profile_id)}
        if refusal.other_profile_id:
            sides.add(graph.final(refusal.other_profile_id))
        for pid in before:
            stamp = marks.get(pid, ("", False))[0]
            if graph.final(pid) in sides and stamp and _earlier(stamps[refusal.message_id], stamp):
                late |= sides
    for pid in conflicted:
        if pid in states:
            states[pid]["conflicted"] = True
    losers = sorted(m.loser for m in graph.merges if m.loser in before)
    profiles.delete_profiles(conn, losers)
    survivors = {pid: s for pid, s in states.items() if pid in touched}
    profiles.save_states(conn, survivors, config, existing=before - set(losers))
    outside = sorted(conflicted - set(survivors))
    if outside:
        conn.execute(
            update(profiles_table)
            .where(profiles_table.c.profile_id.in_(outside))
            .values(conflicted=True)
        )
    return late & conflicted


def _earlier(stamp: str, watermark: str) -> bool:
    # Both are "timestamp|messageId"; compare parsed times so formats cannot disagree.
    ts_a, _, id_a = stamp.partition("|")
    ts_b, _, id_b = watermark.partition("|")
    return (parse_timestamp(ts_a), id_a) < (parse_timestamp(ts_b), id_b)


def _count_products(conn: Connection, batch: Sequence[Event]) -> None:
    views: dict[str, int] = defaultdict(int)
    purchases: dict[str, int] = defaultdict(int)
    for event in batch:
        _tally(event, views, purchases)
    bump_product_stats(conn, views, purchases)


def bump_product_stats(conn: Connection, views: dict[str, int], purchases: dict[str, int]) -> None:
    """Add view and purchase counts (one upsert; the same SQL on SQLite and PostgreSQL)."""
    ids = sorted(set(views) | set(purchases))
    bulk_sql(
        conn,
        "INSERT INTO product_stats (product_id, views, purchases) VALUES ({mark}, {mark}, {mark}) "
        "ON CONFLICT (product_id) DO UPDATE SET views = product_stats.views + excluded.views, "
        "purchases = product_stats.purchases + excluded.purchases",
        product_stats,
        ["product_id", "views", "purchases"],
        [
            {"product_id": i, "views": views.get(i, 0), "purchases": purchases.get(i, 0)}
            for i in ids
        ],
    )


# ---------------------------------------------------------------------------------------------
# Replays


@dataclass
class ReplayReport:
    events: int
    profiles_before: int
    profiles_after: int
    merges: int
    refusals: int
    profile_ids: list[str]


def replay(
    conn: Connection,
    config: ProjectConfig,
    scope: set[str] | None,
    *,
    progress: Progress | None = None,
) -> ReplayReport:
    """Recompute identities and profiles from the log for ``scope`` (None: everything).

    New profiles keep the id of the old profile they share most identifiers with.
    """
    exclusive(conn, IDENTITY_LOCK)
    old_owner = _old_owners(conn, scope)
    profiles_before = len(set(old_owner.values())) if scope is None else len(scope)
    if scope is None:
        conn.execute(delete(identifiers))
        for table in (identity_merges, identity_refusals):
            conn.execute(delete(table))
        conn.execute(delete(profiles_table))
    else:
        identity.forget_profiles(conn, scope)
        profiles.delete_profiles(conn, sorted(scope))
    graph = Graph(config.identity, splits=identity.load_splits(conn))
    assigned: list[tuple[int, str, str]] = []
    count = 0
    for event, seq, old_pid in _log(conn, scope):
        pid = graph.resolve(
            identity.identifiers_of(event, config.identity), event.message_id, event.timestamp
        )
        assigned.append((seq, pid, old_pid))
        count += 1
        if progress and count % 5000 == 0:
            progress(5000)
    finals = {pid: graph.final(pid) for pid in {pid for _, pid, _ in assigned}}
    rename = _keep_old_ids(graph, old_owner)
    _rename(graph, rename)
    owner = {pid: rename.get(final, final) for pid, final in finals.items()}
    identity.save_graph(conn, graph, stored=set())
    changed = [
        {"profile_id": owner[pid], "seq": seq} for seq, pid, old in assigned if owner[pid] != old
    ]
    bulk_update(conn, events, "seq", changed)
    conflicted = {graph.final(r.profile_id) for r in graph.refusals}
    conflicted |= {graph.final(r.other_profile_id) for r in graph.refusals if r.other_profile_id}
    final_ids = set(owner.values())
    refold(
        conn,
        config,
        final_ids if scope is not None else None,
        conflicted=conflicted,
        existing=set(),
    )
    if progress and count % 5000:
        progress(count % 5000)
    return ReplayReport(
        count,
        profiles_before,
        len(final_ids),
        len(graph.merges),
        len(graph.refusals),
        sorted(final_ids) if scope is not None else [],
    )


def _old_owners(conn: Connection, scope: set[str] | None) -> dict[tuple[str, str], str]:
    if scope is None:
        rows: Any = conn.execute(
            select(identifiers.c.type, identifiers.c.value, identifiers.c.profile_id)
        )
    else:
        rows = identity.rows_for_profiles(conn, scope)
    return {(r.type, r.value): r.profile_id for r in rows}


def _log(conn: Connection, scope: set[str] | None) -> Iterator[tuple[Event, int, str]]:
    query = select(events).order_by(events.c.ts, events.c.message_id)
    if scope is None:
        for row in conn.execute(query.execution_options(yield_per=5000)):
            yield ingest.stored_event(row), row.seq, row.profile_id
        return
    rows: list[Any] = []
    ordered = sorted(scope)
    for start in range(0, len(ordered), 400):
        rows.extend(
            conn.execute(query.where(events.c.profile_id.in_(ordered[start : start + 400])))
        )
    rows.sort(key=lambda r: (r.ts, r.message_id))
    for row in rows:
        yield ingest.stored_event(row), row.seq, row.profile_id


def _keep_old_ids(graph: Graph, old_owner: dict[tuple[str, str], str]) -> dict[str, str]:
    overlaps: list[tuple[int, str, str]] = []
    for pid, members in graph.members.items():
        counts: dict[str, int] = defaultdict(int)
        for key in members:
            if key in old_owner:
                counts[old_owner[key]] += 1
        overlaps.extend((-n, old, pid) for old, n in counts.items())
    overlaps.sort()
    rename: dict[str, str] = {}
    used: set[str] = set()
    for _, old, new in overlaps:
        if new not in rename and old not in used:
            rename[new] = old
            used.add(old)
    return rename


def _rename(graph: Graph, rename: dict[str, str]) -> None:
    if not rename:
        return

    def r(pid: str) -> str:
        return rename.get(pid, pid)

    graph.owner = {k: r(p) for k, p in graph.owner.items()}
    graph.members = defaultdict(set, {r(p): m for p, m in graph.members.items()})
    graph.redirect = {r(a): r(b) for a, b in graph.redirect.items()}
    for merge in graph.merges:
        merge.winner, merge.loser = r(merge.winner), r(merge.loser)
    for refusal in graph.refusals:
        refusal.profile_id = r(refusal.profile_id)
        refusal.other_profile_id = r(refusal.other_profile_id) if refusal.other_profile_id else ""


def refold(
    conn: Connection,
    config: ProjectConfig,
    scope: set[str] | None,
    *,
    conflicted: set[str] | None = None,
    existing: set[str] | None = None,
    progress: Progress | None = None,
) -> int:
    """Recompute profile states from the log (identities unchanged); returns profiles written."""
    exclusive(conn, IDENTITY_LOCK)
    if existing is None:
        flags = profiles.conflict_flags(conn, scope)
        existing = set(flags)
        if conflicted is None:
            conflicted = {pid for pid, flag in flags.items() if flag}
    conflicted = conflicted or set()
    query = select(events).order_by(events.c.profile_id, events.c.ts, events.c.message_id)
    if scope is None:
        conn.execute(delete(product_stats))
    written = 0
    pending: dict[str, profiles.State] = {}
    views: dict[str, int] = defaultdict(int)
    purchases: dict[str, int] = defaultdict(int)

    def flush() -> None:
        nonlocal written
        for pid in conflicted & set(pending):
            pending[pid]["conflicted"] = True
        profiles.save_states(conn, pending, config, existing=existing & set(pending))
        written += len(pending)
        if progress:
            progress(len(pending))
        pending.clear()

    for row in _rows_in_scope(conn, query, scope):
        event = ingest.stored_event(row)
        if row.profile_id not in pending and len(pending) >= 2000:
            flush()
        state = pending.setdefault(row.profile_id, profiles.empty_state())
        profiles.fold(state, event, config)
        profiles.bump_watermark(state, event)
        if scope is None:
            _tally(event, views, purchases)
    flush()
    if scope is None:
        bump_product_stats(conn, views, purchases)
    return written


def _rows_in_scope(conn: Connection, query: Any, scope: set[str] | None) -> Iterator[Any]:
    if scope is None:
        yield from conn.execute(query.execution_options(yield_per=5000))
        return
    ordered = sorted(scope)
    for start in range(0, len(ordered), 400):
        yield from conn.execute(query.where(events.c.profile_id.in_(ordered[start : start + 400])))


def _tally(event: Event, views: dict[str, int], purchases: dict[str, int]) -> None:
    """Count a product view or the products of an order (the same in-stream and in a rebuild)."""
    if event.type != "track":
        return
    props = event.properties
    if event.name == "Product Viewed" and (props.get("product_id") or props.get("sku")):
        views[str(props.get("product_id") or props.get("sku"))] += 1
    elif event.name == "Order Completed" and isinstance(props.get("products"), list):
        for item in props["products"]:
            if isinstance(item, dict) and (item.get("product_id") or item.get("sku")):
                purchases[str(item.get("product_id") or item.get("sku"))] += 1


def rebuild_identities(
    store: Store, config: ProjectConfig, progress: Progress | None = None
) -> ReplayReport:
    """``monogram identity rebuild``: recompute the whole graph and every profile from the log."""
    with store.write() as conn:
        return replay(conn, config, None, progress=progress)


def rebuild_profiles(store: Store, config: ProjectConfig, progress: Progress | None = None) -> int:
    """``monogram profiles rebuild``: recompute every profile from the log, identities kept."""
    with store.write() as conn:
        return refold(conn, config, None, progress=progress)


def unmerge(store: Store, config: ProjectConfig, merge_id: int, reason: str) -> list[str]:
    """Split a wrong merge: its sides stay apart and the profile is replayed from the log.

    Returns the ids of the profiles that now hold the events.
    """
    with store.write() as conn:
        holder = identity.record_split(conn, merge_id, reason)
        report = replay(conn, config, identity.closure(conn, {holder}))
        return report.profile_ids


def event_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
