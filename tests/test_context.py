"""The customer context: consent scoping, PII minimisation, recommendations."""

from __future__ import annotations

import orjson
import pytest

from monogram import samples
from monogram.cdp import catalog, context, privacy, unify
from monogram.core.errors import NotFound, ValidationError
from monogram.workspace import Workspace
from tests.helpers import ev


def setup_shop(ws: Workspace) -> None:
    catalog.import_products(ws.store, enumerate(samples.catalog()))
    unify.ingest_batch(
        ws.store,
        ws.config,
        [
            ev(
                "identify",
                "2026-11-01T00:00:00Z",
                userId="u1",
                anonymousId="d1",
                traits={
                    "email": "ana@example.com",
                    "phone": "+12125550100",
                    "first_name": "Ana",
                    "last_name": "Silva",
                    "address": {"street": "1 Main St", "city": "Oslo", "country": "NO"},
                    "consent": {
                        "email_marketing": True,
                        "ai_generation": True,
                        "personalization": True,
                    },
                },
            ),
            ev(
                "track",
                "2026-11-02T00:00:00Z",
                userId="u1",
                event="Product Viewed",
                properties={
                    "product_id": "run-road-001",
                    "category": "running",
                    "brand": "Stride",
                    "email": "leak@x.com",
                },
            ),
            ev(
                "track",
                "2026-11-03T00:00:00Z",
                userId="u1",
                event="Order Completed",
                properties={
                    "order_id": "o1",
                    "revenue": 80,
                    "products": [{"product_id": "run-road-001", "category": "running"}],
                },
            ),
            ev("identify", userId="u2", traits={"consent": {"email_marketing": False}}),
        ],
        source="t",
    )


def build(ws: Workspace, ref: str, purpose: str) -> dict:
    with ws.store.read() as conn:
        built = context.customer_context(
            conn, ws.config, ws.segments(), context.resolve(conn, ref), purpose
        )
    return built.model_dump(exclude_none=True)


def test_context_has_only_what_the_purpose_allows(workspace: Workspace) -> None:
    setup_shop(workspace)
    email = build(workspace, "user_id:u1", "email_marketing")
    text = orjson.dumps(email).decode()
    assert email["consented"] is True
    assert email["profile"]["first_name"] == "Ana"
    for secret in ("ana@example.com", "+12125550100", "1 Main St", "Silva", "leak@x.com"):
        assert secret not in text
    assert email["computed"]["order_count"] == 1
    road_shoe = next(p for p in samples.catalog() if p["id"] == "run-road-001")
    assert email["purchases"][0]["products"][0]["name"] == road_shoe["name"]
    ads = build(workspace, "user_id:u1", "advertising")
    assert ads["consented"] is False and ads["missing_consent"] == ["advertising"]
    assert "profile" not in ads and "computed" not in ads
    web = build(workspace, "user_id:u1", "web_personalization")
    assert "first_name" not in web.get("profile", {})


def test_no_consent_means_no_personal_data(workspace: Workspace) -> None:
    setup_shop(workspace)
    built = build(workspace, "user_id:u2", "email_marketing")
    assert built["consented"] is False
    assert set(built) <= {
        "profile_id",
        "purpose",
        "generated_at",
        "consented",
        "missing_consent",
        "fields",
        "recommended_products",
    }
    assert built["recommended_products"], "popular products are still offered as fallback"


def test_recommendations_skip_bought_and_follow_affinity(workspace: Workspace) -> None:
    setup_shop(workspace)
    picks = build(workspace, "user_id:u1", "email_marketing")["recommended_products"]
    assert len(picks) == workspace.config.context.recommendations
    assert all(p["id"] != "run-road-001" for p in picks)
    assert picks[0]["category"] == "running"
    assert any("running" in r for r in picks[0]["reasons"])
    assert {"id", "name", "price", "category"} <= set(picks[0])


def test_unknown_purpose_and_unknown_person(workspace: Workspace) -> None:
    setup_shop(workspace)
    with pytest.raises(ValidationError, match="unknown purpose 'spam'"):
        build(workspace, "user_id:u1", "spam")
    with pytest.raises(NotFound, match="user_id:nobody"):
        build(workspace, "user_id:nobody", "support")
    with pytest.raises(ValidationError, match="TYPE:VALUE"):
        build(workspace, "u1", "support")


def test_export_then_erase_removes_everything(workspace: Workspace) -> None:
    setup_shop(workspace)
    unify.ingest_batch(
        workspace.store, workspace.config, [ev("track", userId="u1", anonymousId="d1")], source="t"
    )  # quarantined: no event name
    exported = privacy.export(
        workspace.store, workspace.config, workspace.segments(), "email:ana@example.com"
    )
    assert len(exported["events"]) == 3
    assert exported["profile"]["traits"]["first_name"] == "Ana"
    assert len(exported["quarantined"]) == 1
    counts = privacy.erase(workspace.store, "user_id:u1")
    assert counts["events"] == 3 and counts["identifiers"] == 4 and counts["quarantined"] == 1
    with pytest.raises(NotFound):
        build(workspace, "anonymous_id:d1", "support")
    from monogram.demo import stats

    assert stats(workspace)["events"] == 1  # only u2's event is left


def test_consent_reaches_a_profile_known_only_by_email(workspace: Workspace) -> None:
    # The placeholder anonymousId is junk, so the profile holds only the email address.
    unify.ingest_batch(
        workspace.store,
        workspace.config,
        [ev("identify", anonymousId="undefined", traits={"email": "solo@example.com"})],
        source="t",
    )
    consent = privacy.record_consent(
        workspace.store,
        workspace.config,
        "email:solo@example.com",
        {"email_marketing": False},
        "api",
    )
    assert consent["email_marketing"]["granted"] is False
    from monogram.demo import stats

    assert stats(workspace)["profiles"] == 1
