"""Small builders for test events."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def ev(kind: str, at: str = "2026-11-01T10:00:00Z", **fields: Any) -> dict[str, Any]:
    """A Segment event with a unique messageId (override with messageId=...)."""
    event: dict[str, Any] = {"type": kind, "timestamp": at, "messageId": f"t-{next(_ids)}"}
    event.update(fields)
    return event


def canonical(conn: Any) -> set[tuple[frozenset[tuple[str, str]], str]]:
    """Profiles as (identifier set, stable summary): comparable across runs and orders."""
    import orjson
    from sqlalchemy import select

    from monogram.cdp import profiles
    from monogram.core.settings import ProjectConfig
    from monogram.store.tables import identifiers
    from monogram.store.tables import profiles as profiles_table

    members: dict[str, set[tuple[str, str]]] = {}
    for row in conn.execute(
        select(identifiers.c.type, identifiers.c.value, identifiers.c.profile_id)
    ):
        members.setdefault(row.profile_id, set()).add((row.type, row.value))
    out = set()
    config = ProjectConfig()
    from datetime import UTC, datetime

    at = datetime(2026, 11, 25, tzinfo=UTC)
    for row in conn.execute(select(profiles_table.c.profile_id, profiles_table.c.state)):
        state = orjson.loads(row.state)
        summary = profiles.summarize(state, config, at)
        key = orjson.dumps(
            {
                "summary": summary,
                "traits": profiles.plain_traits(state),
                "consent": profiles.consent_view(state),
                "zero_party": profiles.zero_party(state),
            },
            option=orjson.OPT_SORT_KEYS,
        ).decode()
        out.add((frozenset(members.get(row.profile_id, set())), key))
    return out
