"""What becomes of profiles that identity matching finds to be one person.

``run`` reads every profile as a record (``matching``), trains a model when there is none (or
when asked) and stores it with a version, scores candidate pairs (all of them, or incrementally
the profiles changed since the last run against all the others), and decides:

* at or above ``identity.matching.auto_merge``: merged through the ordinary identity path. Two
  ``Identity Matched`` events, one on each profile, carry a shared ``monogram_match``
  identifier, so the graph joins them with its merge guards (identifier limits) and its audit
  record, a rebuild from the log keeps the merge, and ``monogram identity unmerge`` splits it;
* between ``review`` and ``auto_merge``, and any pair a household guard stops (first names
  that disagree without a matching date of birth, or dates of birth that clearly differ): a
  suggestion a person accepts or rejects; a rejected pair is never suggested again;
* profiles that both hold a hard identifier (``user_id``) with different values: never merged.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
import pyarrow as pa
from sqlalchemy import Connection, insert, select, update

from monogram.cdp import context, identity, linkage, matching, privacy, unify
from monogram.core.clock import now
from monogram.core.errors import ConflictError, NotFound, ValidationError
from monogram.core.settings import ProjectConfig
from monogram.store import Store
from monogram.store.tables import identifiers as identifiers_table
from monogram.store.tables import identity_splits, match_models, match_pairs, match_runs
from monogram.store.tables import profiles as profiles_table

LINK_TYPE = "monogram_match"
KEY_ORDER = ("user_id", "email", "phone", "anonymous_id")
MAX_CLUSTER = 10  # a chain of automatic merges larger than this waits for a person instead


@dataclass
class Side:
    key: str  # an identifier, TYPE:VALUE, that finds the profile after later merges
    hard: dict[str, set[str]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)


@dataclass
class Report:
    mode: str
    model_version: int
    trained: bool
    records: int
    scored: int = 0  # candidate pairs at or above the review threshold
    merged: int = 0
    suggested: int = 0
    refused: int = 0  # a merge guard said no
    conflicts: int = 0  # hard identifiers differ
    known: int = 0  # decided before (rejected, split by a person, merged)
    clusters: int = 0
    largest_cluster: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def profile_records(
    conn: Connection, config: ProjectConfig
) -> tuple[pa.Table, dict[str, Side], dict[str, Any]]:
    """Every profile as a matching record, its identifiers, and when each was last changed."""
    sides: dict[str, Side] = {}
    contact: dict[str, dict[str, str]] = defaultdict(dict)
    for kind, value, profile_id in conn.execute(
        select(identifiers_table.c.type, identifiers_table.c.value, identifiers_table.c.profile_id)
    ):
        side = sides.setdefault(profile_id, Side(key=""))
        side.keys.add(identity.key_text((kind, value)))
        if kind in config.identity.matching.hard_identifiers:
            side.hard.setdefault(kind, set()).add(value)
        if kind in ("email", "phone") and kind not in contact[profile_id]:
            contact[profile_id][kind] = value
    for side in sides.values():
        side.key = _representative(side.keys)
    records, changed = [], {}
    region = config.identity.default_phone_region
    for profile_id, traits, updated_at in conn.execute(
        select(profiles_table.c.profile_id, profiles_table.c.traits, profiles_table.c.updated_at)
    ):
        if profile_id not in sides:
            continue
        raw = {**contact[profile_id], **(traits if isinstance(traits, dict) else {})}
        records.append(matching.Record(profile_id, matching.normalised(raw, region)))
        changed[profile_id] = updated_at
    return matching.table(records), sides, changed


def _representative(keys: set[str]) -> str:
    for kind in KEY_ORDER:
        found = sorted(k for k in keys if k.startswith(f"{kind}:"))
        if found:
            return found[0]
    return sorted(keys)[0]


def current_model(conn: Connection) -> tuple[int, dict[str, Any]] | None:
    row = conn.execute(
        select(match_models.c.version, match_models.c.model)
        .order_by(match_models.c.version.desc())
        .limit(1)
    ).first()
    return (int(row.version), orjson.loads(row.model)) if row is not None else None


def run(
    store: Store,
    config: ProjectConfig,
    *,
    retrain: bool = False,
    incremental: bool = True,
    dry_run: bool = False,
) -> Report:
    """Match the workspace's profiles and act on what is found (see the module docstring)."""
    started = time.perf_counter()
    settings = config.identity.matching
    with store.read() as conn:
        data, sides, changed = profile_records(conn, config)
        found = current_model(conn)
        last = conn.execute(
            select(match_runs.c.at, match_runs.c.model_version)
            .order_by(match_runs.c.id.desc())
            .limit(1)
        ).first()
    trained = found is None or retrain
    if trained:
        matching.require_fields(data)
        model = linkage.train(data, max_pairs=settings.sample_pairs)
        version = 0
        if not dry_run:
            with store.write() as conn:
                version = int(
                    conn.execute(
                        insert(match_models)
                        .values(
                            created_at=now(),
                            records=data.num_rows,
                            fields=matching.usable(data),
                            model=orjson.dumps(model).decode(),
                        )
                        .returning(match_models.c.version)
                    ).scalar_one()
                )
    else:
        assert found is not None
        version, model = found
    new_ids = None
    if incremental and not trained and last is not None and last.model_version == version:
        new_ids = [pid for pid, at in changed.items() if at is not None and at > last.at]
    report = Report(
        mode="incremental" if new_ids is not None else "full",
        model_version=version,
        trained=trained,
        records=data.num_rows,
    )
    if new_ids == []:
        report.seconds = round(time.perf_counter() - started, 2)
        return _finish(store, report, dry_run)
    pairs = linkage.score(model, data, threshold=settings.review, new_ids=new_ids)
    report.scored = len(pairs)
    _decide_all(store, config, pairs, sides, version, report, dry_run)
    report.seconds = round(time.perf_counter() - started, 2)
    return _finish(store, report, dry_run)


def _finish(store: Store, report: Report, dry_run: bool) -> Report:
    if not dry_run:
        with store.write() as conn:
            conn.execute(
                insert(match_runs).values(
                    at=now(),
                    model_version=report.model_version,
                    mode=report.mode,
                    records=report.records,
                    pairs=report.scored,
                    merged=report.merged,
                    suggested=report.suggested,
                    seconds=report.seconds,
                )
            )
    return report


def household(pair: linkage.Pair) -> str | None:
    """Why a likely pair still needs a person: two people of one household share an email, an
    address and a last name, but not a first name and a date of birth."""
    if pair.disagrees("first_name") and not pair.agrees("dob"):
        return "first names differ and no date of birth agrees (one household?)"
    if pair.evidence.get("dob", 0.0) < -3:
        return "dates of birth differ"
    return None


def _decide_all(
    store: Store,
    config: ProjectConfig,
    pairs: list[linkage.Pair],
    sides: dict[str, Side],
    version: int,
    report: Report,
    dry_run: bool,
) -> None:
    settings = config.identity.matching
    with store.read() as conn:
        known = {
            (row.left_id, row.right_id)
            for row in conn.execute(select(match_pairs.c.left_id, match_pairs.c.right_id))
        }
        split = _split_keys(conn)
    automatic: list[linkage.Pair] = []
    rows: list[dict[str, Any]] = []
    for pair in pairs:
        left, right = sides.get(pair.left), sides.get(pair.right)
        if left is None or right is None:
            continue
        if (pair.left, pair.right) in known or _split_before(left, right, split):
            report.known += 1
            continue
        status, note = "suggested", household(pair)
        clash = _hard_conflict(left, right)
        if clash:
            status, note = "conflict", clash
            report.conflicts += 1
        elif pair.probability >= settings.auto_merge and note is None:
            automatic.append(pair)
            continue
        else:
            report.suggested += 1
        rows.append(_row(pair, left, right, status, note, version))
    clusters = _clusters(automatic)
    report.clusters = len(clusters)
    report.largest_cluster = max((len(c) for c in clusters), default=0)
    oversized = {pid for c in clusters if len(c) > MAX_CLUSTER for pid in c}
    for pair in automatic:
        if pair.left in oversized:
            report.suggested += 1
            note = f"part of a chain of more than {MAX_CLUSTER} profiles: a person decides"
            rows.append(_row(pair, sides[pair.left], sides[pair.right], "suggested", note, version))
            continue
        rows.append(_row(pair, sides[pair.left], sides[pair.right], "merging", None, version))
    if dry_run:
        report.merged = sum(1 for r in rows if r["status"] == "merging")
        return
    with store.write() as conn:
        for chunk in matching.chunks(rows, 500):
            conn.execute(insert(match_pairs), chunk)
    merging = [r for r in rows if r["status"] == "merging"]
    for chunk in matching.chunks(merging, 500):
        outcome = merge_pairs(store, config, chunk, decided_by="identity matching")
        report.merged += outcome["merged"]
        report.refused += outcome["refused"]


def _row(
    pair: linkage.Pair, left: Side, right: Side, status: str, note: str | None, version: int
) -> dict[str, Any]:
    return {
        "left_id": pair.left,
        "right_id": pair.right,
        "left_key": left.key,
        "right_key": right.key,
        "probability": pair.probability,
        "evidence": {**pair.evidence, "strongest": pair.strongest()},
        "status": status,
        "model_version": version,
        "created_at": now(),
        "note": note,
    }


def _hard_conflict(left: Side, right: Side) -> str | None:
    for kind in set(left.hard) & set(right.hard):
        if left.hard[kind] != right.hard[kind]:
            return f"both hold a different {kind}"
    return None


def _split_keys(conn: Connection) -> list[tuple[set[str], set[str]]]:
    out = []
    for row in conn.execute(select(identity_splits.c.side_a, identity_splits.c.side_b)):
        out.append((set(orjson.loads(row.side_a)), set(orjson.loads(row.side_b))))
    return out


def _split_before(left: Side, right: Side, split: list[tuple[set[str], set[str]]]) -> bool:
    """A person split these two apart before (``monogram identity unmerge``): keep them so."""
    return any(
        (left.keys & a and right.keys & b) or (left.keys & b and right.keys & a) for a, b in split
    )


def _clusters(pairs: list[linkage.Pair]) -> list[set[str]]:
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        parent[root(pair.left)] = root(pair.right)
    groups: dict[str, set[str]] = defaultdict(set)
    for member in parent:
        groups[root(member)].add(member)
    return list(groups.values())


def merge_pairs(
    store: Store, config: ProjectConfig, rows: list[dict[str, Any]], *, decided_by: str
) -> dict[str, int]:
    """Merge each pair through the identity graph (two linking events each) and record what
    happened: merged, or refused by a merge guard."""
    events: list[dict[str, Any]] = []
    with store.read() as conn:
        for row in rows:
            events += _link_events(conn, row, decided_by)
    if events:
        unify.ingest_batch(store, config, events, source="identity-match")
    counts = {"merged": 0, "refused": 0}
    with store.write() as conn:
        for row in rows:
            try:
                left = context.resolve(conn, row["left_key"])
                right = context.resolve(conn, row["right_key"])
            except NotFound:
                continue
            status = "merged" if left == right else "refused"
            counts[status] += 1
            conn.execute(
                update(match_pairs)
                .where(
                    match_pairs.c.left_id == row["left_id"],
                    match_pairs.c.right_id == row["right_id"],
                )
                .values(
                    status=status,
                    decided_at=now(),
                    decided_by=decided_by,
                    note=row.get("note")
                    if status == "merged"
                    else "a merge guard refused it (see monogram identity merges)",
                )
            )
    return counts


def _link_events(conn: Connection, row: dict[str, Any], decided_by: str) -> list[dict[str, Any]]:
    pair_key = f"{row['left_id']}|{row['right_id']}"
    link = {"type": LINK_TYPE, "id": hashlib.sha256(pair_key.encode()).hexdigest()[:24]}
    properties = {
        "probability": round(float(row["probability"]), 6),
        "strongest": row["evidence"].get("strongest", ""),
        "evidence": {k: v for k, v in row["evidence"].items() if k != "strongest"},
        "decided_by": decided_by,
    }
    events = []
    for side, key in (("l", row["left_key"]), ("r", row["right_key"])):
        try:
            profile_id = context.resolve(conn, key)
        except NotFound:
            return []
        address = privacy.address_of(conn, profile_id)
        if address is None:
            return []
        extra = dict(address.get("context") or {})
        extra["externalIds"] = [*extra.get("externalIds", []), link]
        extra["library"] = {"name": "monogram"}
        events.append(
            {
                "type": "track",
                "event": "Identity Matched",
                **{k: v for k, v in address.items() if k != "context"},
                "context": extra,
                "properties": properties,
                "messageId": f"match-{link['id']}-{side}",
            }
        )
    return events


def suggestions(
    conn: Connection, status: str = "suggested", limit: int = 100
) -> list[dict[str, Any]]:
    query = (
        select(match_pairs)
        .where(match_pairs.c.status == status)
        .order_by(match_pairs.c.probability.desc(), match_pairs.c.id)
        .limit(limit)
    )
    return [_pair_dict(row) for row in conn.execute(query)]


def _pair_dict(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "left": {"profile_id": row.left_id, "key": row.left_key},
        "right": {"profile_id": row.right_id, "key": row.right_key},
        "probability": round(float(row.probability), 6),
        "evidence": row.evidence,
        "status": row.status,
        "note": row.note,
        "model_version": row.model_version,
        "decided_by": row.decided_by,
    }


def decide(
    store: Store, config: ProjectConfig, pair_id: int, action: str, by: str, note: str = ""
) -> dict[str, Any]:
    """A person's decision on a suggestion: ``accept`` merges it, ``reject`` keeps the two
    apart for good (never suggested again)."""
    if action not in ("accept", "reject"):
        raise ValidationError(f"action must be accept or reject, not {action!r}")
    with store.read() as conn:
        row = conn.execute(select(match_pairs).where(match_pairs.c.id == pair_id)).first()
    if row is None:
        raise NotFound(f"no match suggestion {pair_id}")
    if row.status != "suggested":
        raise ConflictError(f"match suggestion {pair_id} is already {row.status}")
    if action == "reject":
        with store.write() as conn:
            conn.execute(
                update(match_pairs)
                .where(match_pairs.c.id == pair_id)
                .values(status="rejected", decided_at=now(), decided_by=by, note=note or row.note)
            )
    else:
        merge_pairs(store, config, [dict(row._mapping)], decided_by=by)
    with store.read() as conn:
        return _pair_dict(
            conn.execute(select(match_pairs).where(match_pairs.c.id == pair_id)).one()
        )
