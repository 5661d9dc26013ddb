"""The context a policy learns per: the features a placement declares (``learning.features``),
read from the customer's profile. Categorical features form the Thompson bucket; numeric ones
feed the Vowpal Wabbit backend (log-scaled there)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from monogram.cdp import context, profiles, segments
from monogram.content.placements import Placement
from monogram.core.clock import now
from monogram.core.settings import ProjectConfig


def customer_features(
    conn: Connection,
    config: ProjectConfig,
    defined: dict[str, segments.Segment],
    placement: Placement,
    profile_id: str,
    state: Any = None,
) -> dict[str, str | float]:
    """The placement's declared features for one customer, in declared order (``state``: the
    profile already read)."""
    state = state if state is not None else context.load_state(conn, profile_id)
    at = now()
    wanted = placement.learning.features
    facts = (
        context.profile_facts(conn, config, profile_id, state, at) if "segment" in wanted else None
    )
    summary = facts.summary if facts else profiles.summarize(state, config, at)
    out: dict[str, str | float] = {}
    for name in wanted:
        if name == "segment" and facts:
            out[name] = next(
                (
                    s
                    for s in placement.learning.segments
                    if s in defined and segments.matches(defined[s].rule, facts, config)
                ),
                "other",
            )
        elif name == "channel":
            out[name] = placement.channel
        elif name == "top_category":
            out[name] = str((summary["favorite_categories"] or ["none"])[0])
        elif name == "rfm":
            out[name] = str((summary["rfm"] or {}).get("label", "none"))
        elif name in ("order_count", "lifetime_value", "days_since_last_order", "email_click_rate"):
            value: Any = summary[name]
            out[name] = -1.0 if value is None else float(value)
        else:
            out[name] = str(summary[name] or "none")
    return out


def strategy_features(placement: Placement) -> dict[str, dict[str, str]]:
    """What each strategy is, as features (for backends that generalise across strategies)."""
    out = {}
    for strategy in placement.strategies:
        described: dict[str, str] = {"kind": str(strategy.kind)}
        for key in ("tone", "emphasis", "length", "template_version"):
            value = getattr(strategy, key)
            if value:
                described[key] = str(value)
        out[strategy.name] = described
    return out
