"""The decision log: every choice of strategy with the options, the chosen one and its
probability (Personalizer-style), so outcomes can later be joined and policies evaluated."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from monogram.cdp import identity, privacy
from monogram.core.clock import now
from monogram.core.ids import new_id
from monogram.store.tables import decisions


def uniform_choice(strategies: list[str], *key: str) -> tuple[str, float]:
    """A uniformly random strategy, reproducible from ``key`` (so a resumed run agrees)."""
    roll = int(hashlib.sha256("|".join(key).encode()).hexdigest()[:8], 16)
    return strategies[roll % len(strategies)], 1.0 / len(strategies)


def log_decision(
    conn: Connection,
    *,
    profile_id: str,
    placement: str,
    campaign: str | None,
    strategies: list[str],
    chosen: str | None,
    probability: float | None,
    policy: str,
    probabilities: dict[str, float] | None = None,
    features: dict[str, Any],
    holdout: bool = False,
    decision_id: str | None = None,
    message_id: str | None = None,
) -> str:
    decision_id = decision_id or new_id("dec")
    conn.execute(
        insert(decisions).values(
            id=decision_id,
            created_at=now(),
            profile_id=profile_id,
            placement=placement,
            campaign=campaign,
            strategies=orjson.dumps(strategies).decode(),
            chosen=chosen,
            probability=probability,
            probabilities=orjson.dumps(probabilities).decode() if probabilities else None,
            policy=policy,
            features=orjson.dumps(features, default=str).decode(),
            holdout=holdout,
            message_id=message_id,
        )
    )
    return decision_id


def find(conn: Connection, decision_id: str) -> Any:
    """The logged decision with this id, or None."""
    return conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()


def for_message(conn: Connection, message_id: str) -> str | None:
    """The decision that chose the strategy of this message, if one was logged."""
    found = conn.execute(select(decisions.c.id).where(decisions.c.message_id == message_id))
    value = found.scalar()
    return str(value) if value is not None else None


def attach_message(conn: Connection, decision_id: str, message_id: str) -> None:
    conn.execute(
        update(decisions).where(decisions.c.id == decision_id).values(message_id=message_id)
    )


def _erase(conn: Connection, profile_id: str, _keys: list[identity.IdKey]) -> int:
    """A person's decisions and their rewards leave the log (``monogram learn rebuild``
    relearns policies without them)."""
    return int(conn.execute(delete(decisions).where(decisions.c.profile_id == profile_id)).rowcount)


def _export(conn: Connection, profile_id: str, _keys: list[identity.IdKey]) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(decisions)
        .where(decisions.c.profile_id == profile_id)
        .order_by(decisions.c.created_at)
    )
    return [
        {
            "id": r.id,
            "created_at": r.created_at,
            "placement": r.placement,
            "campaign": r.campaign,
            "chosen": r.chosen,
            "probability": r.probability,
            "policy": r.policy,
            "features": orjson.loads(r.features),
            "holdout": r.holdout,
            "reward": r.reward,
        }
        for r in rows
    ]


privacy.register("decisions", eraser=_erase, exporter=_export)
