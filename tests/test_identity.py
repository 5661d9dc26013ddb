"""The identity graph on both stores: merges, guards, audit, unmerge, rebuild, any order."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monogram.cdp import context, identity, unify
from monogram.core.settings import ProjectConfig
from monogram.store import Store, migrate
from monogram.workspace import Workspace
from tests.helpers import canonical, ev


def ingest(ws: Workspace, *batch: dict[str, Any]) -> None:
    report = unify.ingest_batch(ws.store, ws.config, list(batch), source="test")
    assert not report.rejected, report.rejected


def ids_of(ws: Workspace, ref: str) -> set[str]:
    with ws.store.read() as conn:
        pid = context.resolve(conn, ref)
        return {f"{i['type']}:{i['value']}" for i in identity.identifiers_for(conn, pid)}


def profile_id(ws: Workspace, ref: str) -> str:
    with ws.store.read() as conn:
        return context.resolve(conn, ref)


def test_anonymous_browsing_joins_the_user_on_identify(workspace: Workspace) -> None:
    ingest(
        workspace,
        ev("page", anonymousId="phone-1", name="Home"),
        ev("page", anonymousId="laptop-1", name="Home"),
        ev(
            "identify",
            "2026-11-01T11:00:00Z",
            anonymousId="phone-1",
            userId="42",
            traits={"email": " Maya@Example.COM ", "phone": "(212) 555-0142"},
        ),
    )
    ingest(
        workspace,
        ev(
            "identify",
            "2026-11-02T11:00:00Z",
            anonymousId="laptop-1",
            traits={"email": "maya@example.com"},
        ),
    )
    assert ids_of(workspace, "user_id:42") == {
        "anonymous_id:phone-1",
        "anonymous_id:laptop-1",
        "user_id:42",
        "email:maya@example.com",
        "phone:+12125550142",
    }
    assert profile_id(workspace, "email:MAYA@example.com") == profile_id(
        workspace, "anonymous_id:laptop-1"
    )


def test_alias_links_previous_id(workspace: Workspace) -> None:
    ingest(
        workspace,
        ev("page", anonymousId="anon-9", name="Home"),
        ev("alias", "2026-11-01T10:01:00Z", userId="u9", previousId="anon-9"),
    )
    assert ids_of(workspace, "user_id:u9") == {"user_id:u9", "anonymous_id:anon-9"}


def test_external_ids_and_trait_ids(workspace: Workspace) -> None:
    ingest(
        workspace,
        ev(
            "identify",
            userId="u1",
            traits={"loyalty_id": "L-77"},
            context={
                "externalIds": [{"id": "shop-5", "type": "shopify_id", "collection": "users"}]
            },
        ),
    )
    assert {"loyalty_id:L-77", "shopify_id:shop-5"} <= ids_of(workspace, "user_id:u1")


def test_second_user_id_is_refused_and_logged(workspace: Workspace) -> None:
    ingest(
        workspace,
        ev("identify", "2026-11-01T10:00:00Z", anonymousId="family-tablet", userId="alice"),
        ev("identify", "2026-11-01T12:00:00Z", anonymousId="family-tablet", userId="bob"),
    )
    assert profile_id(workspace, "user_id:alice") != profile_id(workspace, "user_id:bob")
    assert "anonymous_id:family-tablet" in ids_of(workspace, "user_id:alice")
    with workspace.store.read() as conn:
        refused = identity.refusals_for(conn, profile_id(workspace, "user_id:bob"))
    assert refused and "limit 1" in refused[0]["reason"]


def test_junk_email_does_not_merge_strangers(workspace: Workspace) -> None:
    ingest(
        workspace,
        ev("identify", userId="a", traits={"email": "test@test.com"}),
        ev("identify", userId="b", traits={"email": "TEST@test.com"}),
    )
    assert profile_id(workspace, "user_id:a") != profile_id(workspace, "user_id:b")
    assert ids_of(workspace, "user_id:a") == {"user_id:a"}


def test_merge_keeps_traits_and_identifiers_of_both_sides(workspace: Workspace) -> None:
    ingest(
        workspace,
        ev("identify", "2026-11-01T10:00:00Z", anonymousId="d1", traits={"shoe_size": 9}),
        ev(
            "track",
            "2026-11-01T10:01:00Z",
            anonymousId="d1",
            event="Order Completed",
            properties={"order_id": "o1", "revenue": 50},
        ),
        ev("identify", "2026-11-02T10:00:00Z", userId="u1", traits={"plan": "gold"}),
        ev(
            "track",
            "2026-11-02T10:01:00Z",
            userId="u1",
            event="Order Completed",
            properties={"order_id": "o2", "revenue": 70},
        ),
    )
    ingest(workspace, ev("identify", "2026-11-03T10:00:00Z", anonymousId="d1", userId="u1"))
    with workspace.store.read() as conn:
        view = context.profile_view(conn, workspace.config, {}, profile_id(workspace, "user_id:u1"))
    assert view["traits"] == {"shoe_size": 9, "plan": "gold"}
    assert view["computed"]["order_count"] == 2
    assert view["computed"]["lifetime_value"] == 120.0
    assert len(view["merges"]) == 1
    assert view["merges"][0]["message_id"].startswith("t-")


def test_unmerge_splits_and_reattributes_events(workspace: Workspace) -> None:
    ingest(
        workspace,
        ev(
            "identify",
            "2026-11-01T10:00:00Z",
            anonymousId="shared",
            traits={"email": "kim@example.com"},
        ),
        ev(
            "track",
            "2026-11-01T10:05:00Z",
            anonymousId="shared",
            event="Order Completed",
            properties={"order_id": "k1", "revenue": 10},
        ),
        ev("identify", "2026-11-02T10:00:00Z", userId="lee", traits={"email": "lee@example.com"}),
        ev(
            "track",
            "2026-11-02T10:05:00Z",
            userId="lee",
            event="Order Completed",
            properties={"order_id": "l1", "revenue": 99},
        ),
    )
    # A wrong link: lee logs in on a device that belongs to kim.
    ingest(workspace, ev("identify", "2026-11-03T10:00:00Z", anonymousId="shared", userId="lee"))
    merged = profile_id(workspace, "user_id:lee")
    assert merged == profile_id(workspace, "email:kim@example.com")
    with workspace.store.read() as conn:
        merge_id = identity.merges_for(conn, merged)[0]["merge_id"]
    holders = unify.unmerge(workspace.store, workspace.config, merge_id, "shared device")
    assert len(holders) == 2
    kim, lee = profile_id(workspace, "email:kim@example.com"), profile_id(workspace, "user_id:lee")
    assert kim != lee
    with workspace.store.read() as conn:
        kim_view = context.profile_view(conn, workspace.config, {}, kim)
        lee_view = context.profile_view(conn, workspace.config, {}, lee)
    assert kim_view["computed"]["lifetime_value"] == 10
    assert lee_view["computed"]["lifetime_value"] == 99
    # New events that repeat the wrong link stay apart, and so does a full rebuild.
    ingest(workspace, ev("identify", "2026-11-04T10:00:00Z", anonymousId="shared", userId="lee"))
    unify.rebuild_identities(workspace.store, workspace.config)
    assert profile_id(workspace, "email:kim@example.com") != profile_id(workspace, "user_id:lee")


def _story(seed: int) -> list[dict[str, Any]]:
    """Events for a few people with devices, emails, a shared tablet and late retries."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for person in range(4):
        user, email = f"user-{person}", f"p{person}@example.com"
        devices = [f"dev-{person}-{d}" for d in range(2)]
        day = rng.randint(1, 5)
        for device in devices:
            out.append(
                ev(
                    "page",
                    f"2026-10-0{day}T0{rng.randint(0, 9)}:00:00Z",
                    anonymousId=device,
                    name="Home",
                )
            )
        out.append(
            ev(
                "identify",
                f"2026-10-1{day}T10:00:00Z",
                anonymousId=devices[0],
                userId=user,
                traits={
                    "email": email,
                    "first_name": f"P{person}",
                    "consent": {"email_marketing": person % 2 == 0},
                },
            )
        )
        out.append(
            ev(
                "identify",
                f"2026-10-1{day}T11:00:00Z",
                anonymousId=devices[1],
                traits={"email": email},
            )
        )
        out.append(
            ev(
                "track",
                f"2026-10-2{day}T10:00:00Z",
                userId=user,
                event="Order Completed",
                properties={
                    "order_id": f"o-{person}",
                    "revenue": 10 + person,
                    "products": [{"product_id": "p1", "category": "running"}],
                },
            )
        )
    # Two people log in on the same tablet: a refused merge whose outcome depends on time order.
    out.append(ev("identify", "2026-10-25T10:00:00Z", anonymousId="tablet", userId="user-0"))
    out.append(ev("identify", "2026-10-26T10:00:00Z", anonymousId="tablet", userId="user-1"))
    out.append(
        ev(
            "track",
            "2026-10-27T10:00:00Z",
            anonymousId="tablet",
            event="Product Viewed",
            properties={"category": "yoga"},
        )
    )
    out.append(ev("alias", "2026-10-28T10:00:00Z", userId="user-2", previousId="dev-3-1"))
    return out


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.randoms(use_true_random=False), batch=st.integers(min_value=1, max_value=7))
def test_any_arrival_order_gives_the_same_profiles(
    sqlite_workspace: Workspace, order: random.Random, batch: int, tmp_path_factory: Any
) -> None:
    story = _story(3)
    reference_store = Store(f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}")
    migrate(reference_store)
    config = ProjectConfig()
    unify.ingest_batch(
        reference_store, config, sorted(story, key=lambda e: e["timestamp"]), source="t"
    )
    with reference_store.read() as conn:
        expected = canonical(conn)

    shuffled = list(story)
    order.shuffle(shuffled)
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('shuffled') / 's.db'}")
    migrate(store)
    for start in range(0, len(shuffled), batch):
        unify.ingest_batch(store, config, shuffled[start : start + batch], source="t")
    with store.read() as conn:
        assert canonical(conn) == expected
    unify.rebuild_identities(store, config)
    with store.read() as conn:
        assert canonical(conn) == expected
    store.dispose()
    reference_store.dispose()


def test_rebuild_matches_incremental_on_sample_data(workspace: Workspace) -> None:
    from monogram import samples

    products = samples.catalog()
    data = samples.events(products, sizes=samples.SampleSizes(customers=120, anonymous_visitors=20))
    for start in range(0, len(data), 700):
        unify.ingest_batch(workspace.store, workspace.config, data[start : start + 700], source="t")
    with workspace.store.read() as conn:
        before = canonical(conn)
        ids_before = {r for r in conn.execute(identity.identifiers.select())}
    report = unify.rebuild_identities(workspace.store, workspace.config)
    assert report.refusals > 0 and report.merges > 0
    with workspace.store.read() as conn:
        assert canonical(conn) == before
        # Profile ids survive a rebuild: each identifier keeps its profile.
        assert {
            (r.type, r.value, r.profile_id) for r in conn.execute(identity.identifiers.select())
        } == {(r.type, r.value, r.profile_id) for r in ids_before}
    unify.rebuild_profiles(workspace.store, workspace.config)
    with workspace.store.read() as conn:
        assert canonical(conn) == before
