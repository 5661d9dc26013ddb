"""The HTTP API through a real client: Segment compatibility, keys and scopes, bad input."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest

from monogram.cdp.events import MAX_BATCH_BYTES
from monogram.keys import revoke_key
from tests.conftest import Api, basic
from tests.helpers import ev


def post(api: Api, path: str, body: object, key: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    all_headers = {"Content-Type": "application/json", **headers}
    if key:
        all_headers.update(basic(key))
    return api.client.post(path, content=data, headers=all_headers)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/identify", {"userId": "u1", "traits": {"email": "u1@example.com"}}),
        (
            "/v1/track",
            {"userId": "u1", "event": "Product Viewed", "properties": {"category": "running"}},
        ),
        ("/v1/page", {"anonymousId": "a1", "name": "Home"}),
        ("/v1/screen", {"anonymousId": "a1", "name": "Cart"}),
        ("/v1/group", {"userId": "u1", "groupId": "acme"}),
        ("/v1/alias", {"userId": "u1", "previousId": "a1"}),
    ],
)
def test_each_call_answers_like_segment(api: Api, path: str, body: dict) -> None:
    response = post(api, path, body, api.write)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def test_write_key_in_body_and_gzip(api: Api) -> None:
    body = {"batch": [ev("track", userId="u1", event="Order Completed")], "writeKey": api.write}
    response = post(
        api, "/v1/batch", gzip.compress(orjson.dumps(body)), **{"Content-Encoding": "gzip"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


def test_keys_and_scopes(api: Api) -> None:
    event = {"userId": "u1", "event": "X"}
    assert post(api, "/v1/track", event).status_code == 401
    assert "Basic" in post(api, "/v1/track", event).headers["www-authenticate"]
    assert post(api, "/v1/track", event, "mg_write_forged").status_code == 401
    denied = post(api, "/v1/track", event, api.read)
    assert denied.status_code == 403 and "needs 'write'" in denied.json()["message"]
    assert post(api, "/v1/track", event, api.admin).status_code == 200
    assert api.client.get("/v1/profiles/user_id:u1", headers=basic(api.write)).status_code == 403
    assert api.client.get("/v1/profiles/user_id:u1", headers=basic(api.read)).status_code == 200
    assert api.client.delete("/v1/profiles/user_id:u1", headers=basic(api.read)).status_code == 403
    key_id = next(
        k.id for k in __import__("monogram.keys").keys.list_keys(api.ws.store) if k.scope == "write"
    )
    revoke_key(api.ws.store, key_id)
    assert post(api, "/v1/track", event, api.write).status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        ("/v1/track", b"{not json", 400, "malformed JSON"),
        ("/v1/track", b"", 400, "empty"),
        ("/v1/track", {"userId": "u1"}, 400, "event: Field required"),
        ("/v1/track", {"event": "X"}, 400, "userId: either userId or anonymousId is required"),
        ("/v1/track", {"type": "identify", "userId": "u1"}, 400, "this endpoint takes 'track'"),
        ("/v1/identify", {"userId": ["a"]}, 400, "userId"),
        ("/v1/batch", {"batch": "nope"}, 400, "batch: must be a list"),
        ("/v1/batch", {"batch": [{"type": "yell", "userId": "u"}]}, 400, "batch.0.type"),
        (
            "/v1/track",
            {"userId": "u", "event": "X", "properties": {"blob": "x" * 40_000}},
            400,
            "32 KB",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(
    api: Api, path: str, body: object, status: int, needle: str
) -> None:
    response = post(api, path, body, api.write)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["success"] is False
    assert needle in payload["message"]


def test_oversize_batch_and_bad_gzip(api: Api) -> None:
    batch = {
        "batch": [
            ev("track", userId="u", event="X", properties={"b": "y" * 20_000}) for _ in range(30)
        ]
    }
    assert len(orjson.dumps(batch)) > MAX_BATCH_BYTES
    response = post(api, "/v1/batch", batch, api.write)
    assert response.status_code == 400 and "500 KB" in response.json()["message"]
    bomb = gzip.compress(b" " * (MAX_BATCH_BYTES * 4))
    response = post(api, "/v1/batch", bomb, api.write, **{"Content-Encoding": "gzip"})
    assert response.status_code == 400 and "limit" in response.json()["message"]
    response = post(api, "/v1/batch", b"plain", api.write, **{"Content-Encoding": "gzip"})
    assert response.status_code == 400 and "not valid gzip" in response.json()["message"]


def test_batch_reports_partial_success_and_dedupes(api: Api) -> None:
    good = ev("identify", userId="u1", traits={"email": "u1@example.com"})
    body = {
        "batch": [good, ev("track", userId="u1"), good],
        "context": {"library": {"name": "test"}},
    }
    answer = post(api, "/v1/batch", body, api.write).json()
    assert answer["success"] is True
    assert (answer["accepted"], answer["duplicates"]) == (1, 1)
    assert answer["rejected"][0]["index"] == 1
    assert answer["rejected"][0]["errors"][0]["field"] == "batch.1.event"


def test_profile_context_export_and_erase(api: Api) -> None:
    post(
        api,
        "/v1/batch",
        {
            "batch": [
                ev(
                    "identify",
                    userId="u1",
                    anonymousId="a1",
                    traits={
                        "email": "u1@example.com",
                        "first_name": "Ola",
                        "consent": {"email_marketing": True, "ai_generation": True},
                    },
                ),
                ev(
                    "track",
                    "2026-11-20T00:00:00Z",
                    userId="u1",
                    event="Order Completed",
                    properties={"order_id": "o1", "revenue": 25},
                ),
            ]
        },
        api.write,
    )
    read = basic(api.read)
    profile = api.client.get("/v1/profiles/email:U1@example.com", headers=read).json()
    assert profile["computed"]["order_count"] == 1
    assert {"type": "anonymous_id", "value": "a1"} in [
        {"type": i["type"], "value": i["value"]} for i in profile["identifiers"]
    ]
    ctx = api.client.get("/v1/profiles/user_id:u1/context?purpose=email_marketing", headers=read)
    assert ctx.status_code == 200 and ctx.json()["profile"] == {"first_name": "Ola"}
    assert "u1@example.com" not in ctx.text
    missing = api.client.get("/v1/profiles/user_id:u1/context", headers=read)
    assert missing.status_code == 400 and "purpose" in missing.json()["message"]
    assert api.client.get("/v1/profiles/user_id:ghost", headers=read).status_code == 404
    assert api.client.get("/v1/profiles/ghost", headers=read).status_code == 400
    admin = basic(api.admin)
    exported = api.client.get("/v1/profiles/user_id:u1/export", headers=admin).json()
    assert len(exported["events"]) == 2
    erased = api.client.delete("/v1/profiles/user_id:u1", headers=admin).json()
    assert erased["deleted"]["events"] == 2
    assert api.client.get("/v1/profiles/anonymous_id:a1", headers=read).status_code == 404


def test_health_catalog_and_segments(api: Api) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    assert api.client.get("/v1/catalog", headers=basic(api.read)).json() == []
    names = {s["name"] for s in api.client.get("/v1/segments", headers=basic(api.read)).json()}
    assert "vip" in names
    members = api.client.get("/v1/segments/vip/members", headers=basic(api.read)).json()
    assert members == {"segment": "vip", "count": 0, "profile_ids": []}
    assert api.client.get("/v1/segments/nope/members", headers=basic(api.read)).status_code == 404


def test_consent_through_the_api_is_logged_and_applied(api: Api) -> None:
    post(
        api,
        "/v1/identify",
        {"userId": "u7", "traits": {"consent": {"email_marketing": True}}},
        api.write,
    )
    response = api.client.post(
        "/v1/profiles/user_id:u7/consent",
        json={
            "consent": {"email_marketing": False, "sms_marketing": True},
            "source": "preference-centre",
        },
        headers=basic(api.write),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}  # a write key learns nothing about the person
    unknown = api.client.post(
        "/v1/profiles/user_id:nobody/consent",
        json={"consent": {"email_marketing": False}},
        headers=basic(api.write),
    )
    assert unknown.status_code == 200 and unknown.json() == {"success": True}
    assert (
        api.client.post(
            "/v1/profiles/user_id:nobody/consent",
            json={"consent": {"email_marketing": False}},
            headers=basic(api.admin),
        ).status_code
        == 404
    )
    consent = api.client.get("/v1/profiles/user_id:u7", headers=basic(api.read)).json()["consent"]
    assert consent["email_marketing"]["granted"] is False
    assert consent["email_marketing"]["source"] == "preference-centre"
    bad = api.client.post(
        "/v1/profiles/user_id:u7/consent",
        json={"consent": {"telepathy": True}},
        headers=basic(api.write),
    )
    assert bad.status_code == 400 and "consent.telepathy" in bad.json()["message"]
    profile = api.client.get("/v1/profiles/user_id:u7", headers=basic(api.read)).json()
    assert profile["consent"]["sms_marketing"]["granted"] is True
    assert "email_marketing" not in profile["trait_sources"]


def test_review_queue_over_http(api: Api) -> None:
    from monogram.content.llm.fake import FakeModel
    from monogram.pipeline import draft_for

    post(api, "/v1/identify", {"userId": "u5", "traits": {"first_name": "Ola"}}, api.write)
    api.ws.use_model(
        FakeModel(lambda m, o: "Thanks for getting in touch. Your order is on its way.")
    )
    draft = draft_for(api.ws, "user_id:u5", "support_reply", inputs={"message": "Where?"})
    items = api.client.get("/v1/reviews", headers=basic(api.read)).json()
    assert [i["message_id"] for i in items] == [draft.message_id]
    decision = {"action": "edit", "reviewer": "kim", "text": "Your order left us today."}
    denied = api.client.post(
        f"/v1/reviews/{items[0]['review_id']}", json=decision, headers=basic(api.read)
    )
    assert denied.status_code == 403
    done = api.client.post(
        f"/v1/reviews/{items[0]['review_id']}", json=decision, headers=basic(api.admin)
    )
    assert done.status_code == 200 and done.json()["status"] == "edited"
    again = api.client.post(
        f"/v1/reviews/{items[0]['review_id']}", json=decision, headers=basic(api.admin)
    )
    assert again.status_code == 409
    message = api.client.get(f"/v1/messages/{draft.message_id}", headers=basic(api.read)).json()
    assert message["elements"]["support_reply"]["text"] == "Your order left us today."


def test_realtime_personalize_budget_cache_and_support(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time as clock

    from monogram.content.llm.fake import FakeModel

    consent = {"personalization": True, "email_marketing": True, "ai_generation": True}
    post(
        api,
        "/v1/identify",
        {
            "userId": "rt",
            "traits": {"first_name": "Rita", "consent": consent},
        },
        api.write,
    )
    api.ws.config.realtime.budget_ms = 5000
    from monogram.learning import decisions

    def interests(strategies: list[str], *_key: str) -> tuple[str, float]:
        """The policy's choice: the generative strategy, so the model writes."""
        chosen = "interests" if "interests" in strategies else strategies[0]
        return chosen, 1 / len(strategies)

    monkeypatch.setattr(decisions, "uniform_choice", interests)
    api.ws.use_model(
        FakeModel(lambda m, o: "Everything you need for your next trail, picked for you")
    )
    read = basic(api.read)
    first = api.client.post(
        "/v1/personalize", json={"userId": "rt", "placement": "landing_page"}, headers=read
    ).json()
    assert first["served"] == "generated" and first["decision_id"] and first["message_id"]
    again = api.client.post(
        "/v1/personalize", json={"userId": "rt", "placement": "landing_page"}, headers=read
    ).json()
    assert again["served"] == "cache" and again["message_id"] == first["message_id"]
    assert again["elements"] == first["elements"]

    post(
        api,
        "/v1/identify",
        {"userId": "slow", "traits": {"consent": {"personalization": True}}},
        api.write,
    )
    api.ws.config.realtime.budget_ms = 50

    def slow(_m: object, _o: object) -> str:
        clock.sleep(0.5)
        return "Everything you need for your next trail, picked for you"

    api.ws.use_model(FakeModel(slow))  # type: ignore[arg-type]
    # The generative strategy, so the (slow) model is called.
    late = api.client.post(
        "/v1/personalize", json={"userId": "slow", "placement": "landing_page"}, headers=read
    ).json()
    assert late["served"].startswith("fallback: over the latency budget")
    assert late["elements"]["hero"]["source"] == "fallback"
    deadline = clock.monotonic() + 20
    while True:  # the background writer finishes; then the personal version is served
        later = api.client.post(
            "/v1/personalize", json={"userId": "slow", "placement": "landing_page"}, headers=read
        ).json()
        if later["served"] == "cache" or clock.monotonic() > deadline:
            break
        clock.sleep(0.2)
    assert later["served"] == "cache" and later["elements"]["hero"]["source"] == "generated"
    stranger = api.client.post(
        "/v1/personalize",
        json={"anonymousId": "new-visitor", "placement": "landing_page"},
        headers=read,
    ).json()
    assert (
        stranger["served"] == "fallback: unknown visitor" and stranger["elements"]["hero"]["text"]
    )
    bad = api.client.post("/v1/personalize", json={"placement": "landing_page"}, headers=read)
    assert bad.status_code == 400

    api.ws.use_model(
        FakeModel(lambda m, o: "Thanks for getting in touch. Your order is on its way.")
    )
    reply = api.client.post(
        "/v1/support/reply", json={"userId": "rt", "message": "Where is my order?"}, headers=read
    ).json()
    assert reply["source"] == "generated" and reply["review"] is True
    assert reply["reply"].startswith("Hi Rita,")
    assert reply["decision_id"].startswith("dec_")  # support replies feed learning too

    # A strategy that serves approved variants says so, element by element (with a budget
    # that leaves room to lay out the page's hero creative the first time).
    api.ws.config.realtime.budget_ms = 5000
    monkeypatch.setattr(decisions, "uniform_choice", lambda s, *k: ("select", 1 / len(s)))
    post(api, "/v1/identify", {"userId": "sel", "traits": {"consent": consent}}, api.write)
    chosen = api.client.post(
        "/v1/personalize", json={"userId": "sel", "placement": "landing_page"}, headers=read
    ).json()
    assert chosen["served"].startswith("approved copy: no element was generated")
    assert {e["source"] for e in chosen["elements"].values()} <= {"fallback", "locked", "composed"}


def test_server_updates_policies_on_a_schedule(
    sqlite_workspace: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from monogram.api import app as app_module
    from monogram.learning import update as update_module

    calls: list[object] = []
    monkeypatch.setattr(
        update_module, "update_policies", lambda ws: calls.append(ws) or {"rewarded": {}}
    )

    async def run_briefly() -> None:
        task = asyncio.create_task(app_module._update_policies(sqlite_workspace, 0.0005))
        await asyncio.sleep(0.3)
        task.cancel()

    asyncio.run(run_briefly())
    assert len(calls) >= 2 and calls[0] is sqlite_workspace
