"""The unified profile, and the consent-scoped ``CustomerContext`` one purpose may use.

``customer_context`` is what a prompt will see. It holds only the fields the purpose lists in
``monogram.yaml`` and only if the customer gave the consents the purpose needs; raw email,
phone and street address never appear unless the purpose asks for ``contact``. Without the
consent the context says so and carries no personal data (only popular products, which are
the same for everyone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from monogram.cdp import identity, profiles, segments
from monogram.cdp.catalog import Product, cached_catalog
from monogram.core.clock import iso, now
from monogram.core.errors import NotFound, ValidationError
from monogram.core.settings import ProjectConfig
from monogram.store.tables import events
from monogram.store.tables import profiles as profiles_table

PII_KEYS = {
    "email",
    "phone",
    "address",
    "street",
    "postal_code",
    "postalcode",
    "zip",
    "ssn",
    "password",
    "card",
    "card_number",
    "iban",
    "birthday",
    "ip",
    "lastname",
    "last_name",
    "name",
}
MAX_TEXT = 200


class Recommendation(BaseModel):
    id: str
    name: str
    price: float
    currency: str
    category: str
    brand: str | None
    url: str | None
    score: float
    reasons: list[str]


class CustomerContext(BaseModel):
    """The facts about one customer that one purpose may use."""

    profile_id: str
    purpose: str
    generated_at: str
    consented: bool
    missing_consent: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list, description="context fields included")
    profile: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    lifecycle_stage: str | None = None
    segments: list[str] | None = None
    computed: dict[str, Any] | None = None
    recent_events: list[dict[str, Any]] | None = None
    purchases: list[dict[str, Any]] | None = None
    preferences: dict[str, Any] | None = None
    zero_party: dict[str, Any] | None = None
    engagement: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    recommended_products: list[Recommendation] = Field(default_factory=list)


def resolve(conn: Connection, ref: str) -> str:
    """Profile id for ``TYPE:VALUE`` (or ``profile_id:...``); NotFound if nobody has it."""
    key = identity.parse_key(ref)
    if key[0] == "profile_id":
        found = conn.execute(
            select(profiles_table.c.profile_id).where(profiles_table.c.profile_id == key[1])
        ).scalar()
        if found is None:
            raise NotFound(f"no profile with id {key[1]!r}")
        return str(found)
    return identity.profile_for(conn, key)


def load_state(conn: Connection, profile_id: str) -> profiles.State:
    states = profiles.load_states(conn, [profile_id])
    if profile_id not in states:
        raise NotFound(f"no profile with id {profile_id!r}")
    return states[profile_id]


def profile_facts(
    conn: Connection, config: ProjectConfig, profile_id: str, state: profiles.State, at: datetime
) -> segments.Facts:
    """What segment rules can look at for one profile (see ``segments.Facts``)."""
    facets: dict[str, set[str]] = {}
    for kind, value in profiles.facets(state, config):
        facets.setdefault(kind, set()).add(value)
    return segments.Facts(
        profile_id=profile_id,
        summary=profiles.summarize(state, config, at),
        traits=profiles.plain_traits(state),
        facets=facets,
        consent={p: e["granted"] for p, e in profiles.consent_view(state).items()},
        conn=conn,
        at=at,
    )


def profile_view(
    conn: Connection, config: ProjectConfig, defined: dict[str, segments.Segment], profile_id: str
) -> dict[str, Any]:
    """The whole unified profile, as ``monogram profiles show`` and the API print it."""
    at = now()
    state = load_state(conn, profile_id)
    facts = profile_facts(conn, config, profile_id, state, at)
    computed = facts.summary
    return {
        "profile_id": profile_id,
        "identifiers": [
            {
                "type": i["type"],
                "value": i["value"],
                "first_seen": iso(i["first_seen"]),
                "last_seen": iso(i["last_seen"]),
            }
            for i in identity.identifiers_for(conn, profile_id)
        ],
        "traits": facts.traits,
        "trait_sources": profiles.trait_sources(state),
        "computed": computed,
        "lifecycle_stage": computed["lifecycle_stage"],
        "segments": segments.segments_of(facts, defined.values(), config),
        "consent": profiles.consent_view(state),
        "zero_party": profiles.zero_party(state),
        "merges": identity.merges_for(conn, profile_id),
        "refused_merges": identity.refusals_for(conn, profile_id),
    }


def customer_context(
    conn: Connection,
    config: ProjectConfig,
    defined: dict[str, segments.Segment],
    profile_id: str,
    purpose: str,
    *,
    page: dict[str, Any] | None = None,
    state: profiles.State | None = None,
) -> CustomerContext:
    """Assemble the consent-scoped, PII-minimised context for one purpose (``state``: the
    profile already read, so a caller that needs it too reads it once)."""
    if purpose not in config.purposes:
        known = ", ".join(sorted(config.purposes))
        raise ValidationError(f"unknown purpose {purpose!r}; known purposes: {known}")
    spec = config.purposes[purpose]
    at = now()
    state = state if state is not None else load_state(conn, profile_id)
    consent = profiles.consent_view(state)
    missing = [c for c in spec.consent if not consent.get(c, {}).get("granted")]
    context = CustomerContext(
        profile_id=profile_id,
        purpose=purpose,
        generated_at=iso(at),
        consented=not missing,
        missing_consent=missing,
    )
    catalog, popularity = cached_catalog(conn)
    if missing:
        context.recommended_products = recommend(catalog, popularity, None, config, [])
        return context
    facts = profile_facts(conn, config, profile_id, state, at)
    _fill(context, conn, config, defined, facts, state, list(spec.fields), catalog, popularity)
    return context


def _fill(
    context: CustomerContext,
    conn: Connection,
    config: ProjectConfig,
    defined: dict[str, segments.Segment],
    facts: segments.Facts,
    state: profiles.State,
    fields: list[str],
    catalog: dict[str, Product],
    popularity: dict[str, float],
) -> None:
    summary, traits = facts.summary, facts.traits
    context.fields = fields
    if "profile" in fields or "first_name" in fields:
        context.profile = _profile_basics(traits, with_name="first_name" in fields)
    if "location" in fields:
        context.location = _location(traits)
    if "lifecycle" in fields:
        context.lifecycle_stage = summary["lifecycle_stage"]
    if "segments" in fields:
        context.segments = segments.segments_of(facts, defined.values(), config)
    if "purchases" in fields or "behaviour" in fields:
        context.computed = {
            k: summary[k]
            for k in (
                "order_count",
                "lifetime_value",
                "average_order_value",
                "days_since_last_order",
                "days_since_last_seen",
                "favorite_categories",
                "favorite_brands",
                "rfm",
            )
        }
    if "behaviour" in fields:
        context.recent_events = _recent_events(conn, facts.profile_id, config.context.recent_events)
    if "purchases" in fields:
        context.purchases = _purchases(state, catalog, config.context.purchases)
    if "preferences" in fields:
        context.preferences = {
            "preferred_channel": summary["preferred_channel"],
            "best_send_hour_utc": summary["best_send_hour_utc"],
        }
    if "zero_party" in fields:
        context.zero_party = {k: _clip(v) for k, v in profiles.zero_party(state).items()}
    if "engagement" in fields:
        context.engagement = {
            "email_open_rate": summary["email_open_rate"],
            "email_click_rate": summary["email_click_rate"],
            "event_count": summary["event_count"],
        }
    if "contact" in fields:
        context.contact = {"email": traits.get("email"), "phone": traits.get("phone")}
    if "recommendations" in fields:
        context.recommended_products = recommend(
            catalog, popularity, summary, config, _interests(state)
        )


def _profile_basics(traits: dict[str, Any], *, with_name: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if with_name:
        first = traits.get("first_name") or traits.get("firstName")
        if not first and isinstance(traits.get("name"), str):
            first = traits["name"].split()[0] if traits["name"].split() else None
        if isinstance(first, str):
            out["first_name"] = _clip(first)
    for key in ("locale", "timezone", "language", "plan", "gender"):
        if isinstance(traits.get(key), str):
            out[key] = _clip(traits[key])
    return out


def _location(traits: dict[str, Any]) -> dict[str, Any]:
    given = traits.get("address")
    address: dict[str, Any] = given if isinstance(given, dict) else {}
    return {k: address.get(k) for k in ("city", "state", "country") if address.get(k)}


def _clip(value: Any) -> Any:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, list):
        return [_clip(v) for v in value[:20]]
    if isinstance(value, dict):
        return {
            str(k)[:60]: _clip(v)
            for k, v in list(value.items())[:20]
            if str(k).lower() not in PII_KEYS
        }
    return value


def _recent_events(conn: Connection, profile_id: str, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(events.c.type, events.c.name, events.c.ts, events.c.payload)
        .where(events.c.profile_id == profile_id, events.c.type.in_(("track", "page", "screen")))
        .order_by(events.c.ts.desc())
        .limit(limit)
    )
    out = []
    for row in rows:
        props = orjson.loads(row.payload).get("properties") or {}
        out.append(
            {
                "type": row.type,
                "name": row.name,
                "at": iso(row.ts),
                "properties": _clip({k: v for k, v in props.items() if k.lower() not in PII_KEYS}),
            }
        )
    return out


def _purchases(
    state: profiles.State, catalog: dict[str, Product], limit: int
) -> list[dict[str, Any]]:
    refunds = state.get("refunds", {})
    orders = sorted(state["orders"].items(), key=lambda item: item[1][1], reverse=True)
    out = []
    for order_id, (revenue, stamp, product_ids) in orders[:limit]:
        out.append(
            {
                "order_id": order_id,
                "at": stamp.split("|")[0],
                "revenue": revenue,
                "refunded": order_id in refunds,
                "products": [
                    {"id": pid, "name": catalog[pid].name, "category": catalog[pid].category}
                    if pid in catalog
                    else {"id": pid}
                    for pid in product_ids
                ],
            }
        )
    return out


def _interests(state: profiles.State) -> list[str]:
    stated = state["zero_party"].get("interests")
    if stated and isinstance(stated[0], list):
        return [str(v).strip().lower() for v in stated[0]]
    return []


def recommend(
    catalog: dict[str, Product],
    popularity: dict[str, float],
    summary: dict[str, Any] | None,
    config: ProjectConfig,
    interests: list[str],
) -> list[Recommendation]:
    """Explainable picks: affinity to the customer's categories and brands, stated interests,
    popularity; never something already bought."""
    limit = config.context.recommendations
    favourite_categories = (summary or {}).get("favorite_categories") or []
    favourite_brands = (summary or {}).get("favorite_brands") or []
    bought = set((summary or {}).get("purchased_product_ids") or [])
    scored = []
    wanted = set(interests)
    for product in catalog.values():
        if product.id in bought:
            continue
        score, reasons = 0.0, []
        category, brand, tags = product.facets
        if category in favourite_categories:
            score += 3.0 - favourite_categories.index(category) * 0.5
            reasons.append(f"you often look at {product.category}")
        if brand and brand in favourite_brands:
            score += 1.5 - favourite_brands.index(brand) * 0.3
            reasons.append(f"you like {product.brand}")
        if wanted and not tags.isdisjoint(wanted):
            score += 2.0
            reasons.append("matches interests you told us about")
        pop = popularity.get(product.id, 0.0)
        score += pop
        if pop >= 0.8:
            reasons.append("popular right now")
        scored.append((round(score, 4), product, reasons or ["popular with other shoppers"]))
    scored.sort(key=lambda item: (-item[0], item[1].id))
    return [
        Recommendation(
            id=p.id,
            name=p.name,
            price=p.price,
            currency=p.currency,
            category=p.category,
            brand=p.brand,
            url=p.url,
            score=s,
            reasons=r,
        )
        for s, p, r in scored[:limit]
    ]
