"""Profiles: computed traits, lifecycle, consent, zero-party data (both stores)."""

from __future__ import annotations

from datetime import UTC, datetime

from monogram.cdp import context, profiles, unify
from monogram.core.clock import frozen_at
from monogram.core.settings import ProjectConfig
from monogram.workspace import Workspace
from tests.helpers import ev

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def view(ws: Workspace, ref: str) -> dict:
    with ws.store.read() as conn, frozen_at(NOW):
        return context.profile_view(conn, ws.config, ws.segments(), context.resolve(conn, ref))


def order(
    at: str, order_id: str, revenue: float, category: str = "running", **extra: object
) -> dict:
    return ev(
        "track",
        at,
        userId="u1",
        event="Order Completed",
        **extra,
        properties={
            "order_id": order_id,
            "revenue": revenue,
            "products": [{"product_id": f"p-{order_id}", "category": category, "brand": "Stride"}],
        },
    )


def test_orders_value_recency_and_rfm(workspace: Workspace) -> None:
    unify.ingest_batch(
        workspace.store,
        workspace.config,
        [
            ev("identify", "2026-01-01T00:00:00Z", userId="u1", traits={"first_name": "Ana"}),
            order("2026-03-01T10:00:00Z", "o1", 40),
            order("2026-10-01T10:00:00Z", "o2", 60, category="yoga"),
            order("2026-10-01T10:00:05Z", "o2", 60, category="yoga"),  # client retry: same order
            order("2026-11-20T10:00:00Z", "o3", 100),
            ev(
                "track",
                "2026-11-21T10:00:00Z",
                userId="u1",
                event="Order Refunded",
                properties={"order_id": "o1"},
            ),
        ],
        source="t",
    )
    c = view(workspace, "user_id:u1")["computed"]
    assert c["order_count"] == 2
    assert c["lifetime_value"] == 160.0
    assert c["average_order_value"] == 80.0
    assert c["days_since_last_order"] == 5
    assert c["first_order_at"] == "2026-10-01T10:00:00.000Z"
    assert c["favorite_categories"][0] == "running"
    assert c["rfm"] == {
        "recency": 5,
        "frequency": 2,
        "monetary": 3,
        "score": "523",
        "label": "recent",
    }
    assert c["lifecycle_stage"] == "active"


def test_lifecycle_thresholds_are_configurable() -> None:
    state = profiles.empty_state()
    config = ProjectConfig()
    assert profiles.summarize(state, config, NOW)["lifecycle_stage"] == "prospect"
    for stage, days in [("new", 3), ("at_risk", 120), ("lapsed", 300), ("churned", 500)]:
        state = profiles.empty_state()
        stamp = datetime.fromtimestamp(NOW.timestamp() - days * 86400, UTC)
        state["orders"]["o"] = [10.0, stamp.isoformat().replace("+00:00", "Z") + "|m", []]
        if stage != "new":
            state["orders"]["o0"] = [10.0, "2020-01-01T00:00:00.000Z|m0", []]
        assert profiles.summarize(state, config, NOW)["lifecycle_stage"] == stage, stage
    tight = ProjectConfig.model_validate(
        {"lifecycle": {"active_days": 10, "at_risk_days": 100, "lapsed_days": 200}}
    )
    state = profiles.empty_state()
    state["orders"]["a"] = [1.0, "2020-01-01T00:00:00.000Z|a", []]
    state["orders"]["b"] = [1.0, "2026-11-01T00:00:00.000Z|b", []]
    assert profiles.summarize(state, tight, NOW)["lifecycle_stage"] == "at_risk"


def test_consent_from_events_traits_and_segment_context(workspace: Workspace) -> None:
    unify.ingest_batch(
        workspace.store,
        workspace.config,
        [
            ev(
                "identify",
                "2026-11-01T00:00:00Z",
                userId="u1",
                traits={"consent": {"email_marketing": True, "ai_generation": True}},
            ),
            ev(
                "track",
                "2026-11-02T00:00:00Z",
                userId="u1",
                event="Consent Updated",
                properties={"purpose": "email_marketing", "granted": False},
            ),
            ev(
                "page",
                "2026-11-03T00:00:00Z",
                userId="u1",
                name="Home",
                context={"consent": {"categoryPreferences": {"advertising": True}}},
            ),
            # An older event arriving late must not override the newer opt-out.
            ev(
                "identify",
                "2026-10-01T00:00:00Z",
                userId="u1",
                traits={"consent": {"email_marketing": True}},
            ),
        ],
        source="t",
    )
    consent = view(workspace, "user_id:u1")["consent"]
    assert consent["email_marketing"]["granted"] is False
    assert consent["email_marketing"]["source"] == "Consent Updated"
    assert consent["ai_generation"]["granted"] is True
    assert consent["advertising"]["granted"] is True


def test_zero_party_data_is_kept_apart_from_traits(workspace: Workspace) -> None:
    unify.ingest_batch(
        workspace.store,
        workspace.config,
        [
            ev("identify", userId="u1", traits={"style": "inferred-bold"}),
            ev(
                "track",
                "2026-11-02T00:00:00Z",
                userId="u1",
                event="Preferences Updated",
                properties={
                    "interests": ["Trail Running", "yoga"],
                    "style": "minimal",
                    "budget": 150,
                    "preferred_channel": "sms",
                },
            ),
        ],
        source="t",
    )
    profile = view(workspace, "user_id:u1")
    assert profile["traits"] == {"style": "inferred-bold"}
    assert profile["zero_party"]["style"] == "minimal"
    assert profile["zero_party"]["interests"] == ["Trail Running", "yoga"]
    assert profile["computed"]["preferred_channel"] == "sms"


def test_email_engagement_rates_and_best_hour(workspace: Workspace) -> None:
    batch = []
    for day in range(1, 5):
        batch.append(ev("track", f"2026-11-0{day}T08:00:00Z", userId="u1", event="Email Delivered"))
    batch += [
        ev("track", "2026-11-01T19:00:00Z", userId="u1", event="Email Opened"),
        ev("track", "2026-11-02T19:30:00Z", userId="u1", event="Email Opened"),
        ev("track", "2026-11-02T19:31:00Z", userId="u1", event="Email Link Clicked"),
    ]
    unify.ingest_batch(workspace.store, workspace.config, batch, source="t")
    c = view(workspace, "user_id:u1")["computed"]
    assert c["email_open_rate"] == 0.5
    assert c["email_click_rate"] == 0.25
    assert c["best_send_hour_utc"] == 19
    assert c["preferred_channel"] == "email"


def test_latest_trait_wins_by_event_time_not_arrival(workspace: Workspace) -> None:
    unify.ingest_batch(
        workspace.store,
        workspace.config,
        [ev("identify", "2026-11-05T00:00:00Z", userId="u1", traits={"plan": "gold"})],
        source="t",
    )
    unify.ingest_batch(
        workspace.store,
        workspace.config,
        [
            ev(
                "identify",
                "2026-11-01T00:00:00Z",
                userId="u1",
                traits={"plan": "free", "city": "Oslo"},
            )
        ],
        source="t",
    )
    assert view(workspace, "user_id:u1")["traits"] == {"plan": "gold", "city": "Oslo"}
