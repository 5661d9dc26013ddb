"""Probabilistic identity resolution: customer records imported as identify events, matched
with Splink (trained on the workspace's own profiles), likely pairs merged through the identity
graph's own path and guards, doubtful ones suggested, people's decisions kept, on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from monogram.cdp import context, files, privacy, resolve, unify
from monogram.cdp.matching import name_forms, normalised
from monogram.core.errors import ValidationError
from monogram.samples_people import customer_records, write_csv
from monogram.store.tables import identifiers, profiles
from monogram.workspace import Workspace
from tests.helpers import ev


def profile_count(ws: Workspace) -> int:
    with ws.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(profiles)).scalar_one())


def imported(ws: Workspace, tmp_path: Path, people: int) -> dict[str, str]:
    """Synthetic records in through the CRM import; the truth, by record id."""
    records = customer_records(people, seed=5)
    path = tmp_path / "customers.csv"
    write_csv(records, path)
    report = files.ingest_records(
        ws.store, ws.config, path, files.RecordMapping("record_id", "crm_id")
    )
    assert report.accepted == len(records.rows) and not report.rejected
    return {row["record_id"]: row["person"] for row in records.rows}


def test_names_and_fields_are_normalised_for_matching() -> None:
    assert "robert" in name_forms("bob") and "robert" in name_forms("robert")
    assert not set(name_forms("ana")) & set(name_forms("robert"))
    row = normalised(
        {
            "first_name": "  José ",
            "last_name": "O'Neil",
            "email": "Jo.Se@Example.COM",
            "phone": "(212) 555-0142",
            "address": {"street": "12 Main Street", "postal_code": "10001-1234"},
            "birthday": "1984-3-7",
        }
    )
    assert row["first_name"] == "jose" and row["last_name"] == "o neil"
    assert row["email"] == "jo.se@example.com" and row["email_user"] == "jose"
    assert row["phone"] == "+12125550142" and row["street"] == "12 main st"
    assert row["postcode"] == "10001" and row["dob"] == "1984-03-07"
    assert normalised({"dob": "0000-00-00", "first_name": ""})["dob"] is None


def test_customer_records_import_as_identify_events(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        "id,first_name,last_name,email,phone\n"
        "c1,Ana,Silva,ana@example.com,+12125550100\n"
        ",No,Id,noid@example.com,\n"
        "c2,Bo,Berg,test@test.com,000000\n",
        encoding="utf-8",
    )
    mapping = files.RecordMapping("id", "crm_id", rename={"phone": "phone"})
    report = files.ingest_records(workspace.store, workspace.config, path, mapping)
    assert report.accepted == 2 and [r.index for r in report.rejected] == [3]
    assert "id: empty" in str(report.rejected[0].errors)
    with workspace.store.read() as conn:
        ana = context.resolve(conn, "crm_id:c1")
        assert context.resolve(conn, "email:ana@example.com") == ana
        bo = context.resolve(conn, "crm_id:c2")
        with pytest.raises(Exception, match="no profile"):
            context.resolve(conn, "email:test@test.com")  # a junk value is never an identifier
    assert ana != bo
    again = files.ingest_records(workspace.store, workspace.config, path, mapping)
    assert again.accepted == 0 and again.duplicates == 2  # a rerun adds nothing
    with pytest.raises(ValidationError, match=r"no column 'customer_id'.*columns: id, first_name"):
        files.ingest_records(
            workspace.store, workspace.config, path, files.RecordMapping("customer_id")
        )
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("id,first_name\nc9,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        files.ingest_records(workspace.store, workspace.config, latin, mapping)


def test_matching_needs_names_and_something_to_compare(workspace: Workspace) -> None:
    unify.ingest_batch(
        workspace.store,
        workspace.config,
        [ev("identify", userId=f"u{i}", traits={"plan": "pro"}) for i in range(5)],
        source="test",
    )
    with pytest.raises(ValidationError, match="needs names"):
        resolve.run(workspace.store, workspace.config)


def split_people(ws: Workspace, truth: dict[str, str]) -> int:
    """Pairs of profiles that hold records of one person (what exact identifiers missed)."""
    people: dict[str, set[str]] = {}
    with ws.store.read() as conn:
        for key, profile_id in conn.execute(
            select(identifiers.c.value, identifiers.c.profile_id).where(
                identifiers.c.type == "crm_id"
            )
        ):
            people.setdefault(truth[key].split("-")[0], set()).add(profile_id)
    return sum(len(p) * (len(p) - 1) // 2 for p in people.values())


def test_likely_pairs_merge_and_doubtful_ones_wait_for_a_person(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    truth = imported(ws, tmp_path, 400)
    missed = split_people(ws, truth)  # exact identifiers joined the rest at import
    before = profile_count(ws)
    assert missed >= 15
    trial = resolve.run(ws.store, ws.config, dry_run=True)
    assert trial.trained and trial.merged >= missed * 0.8 and profile_count(ws) == before
    ws.config.identity.matching.auto_merge = 1.0  # (nearly) everything waits for a person
    report = resolve.run(ws.store, ws.config)
    assert report.trained and report.mode == "full" and report.suggested > 0
    with ws.store.read() as conn:
        waiting = resolve.suggestions(conn, limit=1000)
    assert len(waiting) == report.suggested
    assert all(s["probability"] >= 0.5 for s in waiting)
    assert all(s["evidence"]["strongest"] for s in waiting)
    # A person decides: one rejected (kept apart, never suggested again), the rest accepted.
    rejected = resolve.decide(ws.store, ws.config, waiting[0]["id"], "reject", "ana", "siblings")
    assert rejected["status"] == "rejected" and rejected["note"] == "siblings"
    with pytest.raises(Exception, match="already rejected"):
        resolve.decide(ws.store, ws.config, waiting[0]["id"], "accept", "bo")
    sample = waiting[1]
    with ws.store.read() as conn:  # one side has a consent record the merge must keep
        address = privacy.address_of(conn, context.resolve(conn, sample["right"]["key"]))
    assert address is not None
    consent = ev("identify", **address, traits={"consent": {"email_marketing": True}})
    unify.ingest_batch(ws.store, ws.config, [consent], source="test")
    sides = [
        privacy.export(ws.store, ws.config, ws.segments(), sample[side]["key"])
        for side in ("left", "right")
    ]
    for item in waiting[1:]:
        accepted = resolve.decide(ws.store, ws.config, item["id"], "accept", "ana")
        assert accepted["status"] == "merged" and accepted["decided_by"] == "ana"
    joined = {}  # the accepted pairs' profiles, grouped: each group became one profile

    def root(x: str) -> str:
        while joined.setdefault(x, x) != x:
            x = joined[x]
        return x

    for item in waiting[1:]:
        joined[root(item["left"]["profile_id"])] = root(item["right"]["profile_id"])
    groups = {root(x) for x in joined}
    assert profile_count(ws) == before - (len(joined) - len(groups))
    left = split_people(ws, truth)
    assert left <= missed * 0.2  # what was missed is (nearly all) found
    # A merge keeps every event and consent record of both sides, and says why it happened.
    with ws.store.read() as conn:
        profile_id = context.resolve(conn, sample["left"]["key"])
        assert context.resolve(conn, sample["right"]["key"]) == profile_id
    exported = privacy.export(ws.store, ws.config, ws.segments(), sample["left"]["key"])
    ids_after = {e["messageId"] for e in exported["events"]}
    assert sides[1]["profile"]["consent"]
    for side in sides:
        assert {e["messageId"] for e in side["events"]} <= ids_after
        for purpose, given in (side["profile"].get("consent") or {}).items():
            assert (exported["profile"].get("consent") or {}).get(purpose) == given
    matched = [e for e in exported["events"] if e.get("event") == "Identity Matched"]
    assert len(matched) >= 2 and matched[0]["properties"]["decided_by"] == "ana"
    again = resolve.run(ws.store, ws.config, incremental=False)
    assert not again.trained and again.model_version == report.model_version
    assert again.merged == 0 and again.suggested == 0  # decided pairs stay decided
    # The log holds the merges: a rebuild from it gives the same profiles.
    after = profile_count(ws)
    unify.rebuild_identities(ws.store, ws.config)
    assert profile_count(ws) == after


def test_new_records_are_matched_incrementally_and_hard_ids_never_merge(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    imported(ws, tmp_path, 300)
    first = resolve.run(ws.store, ws.config)
    assert first.mode == "full"
    # The same person, newly arrived as a guest checkout with a typo in the email.
    with ws.store.read() as conn:
        target = next(
            row
            for row in conn.execute(select(profiles.c.traits))
            if row.traits.get("email") and row.traits.get("dob") and row.traits.get("phone")
        ).traits
    local, domain = target["email"].split("@")
    guest = {
        "first_name": target["first_name"],
        "last_name": target["last_name"],
        "email": f"{local}x@{domain}",
        "dob": target["dob"],
        "phone": target["phone"],
    }
    guest_event = ev("identify", anonymousId="guest-1", traits=guest)
    unify.ingest_batch(ws.store, ws.config, [guest_event], source="test")
    second = resolve.run(ws.store, ws.config)
    assert second.mode == "incremental" and second.records == first.records - first.merged + 1
    with ws.store.read() as conn:
        assert context.resolve(conn, "anonymous_id:guest-1") == context.resolve(
            conn, f"email:{target['email']}"
        )
    # Two accounts (different user ids) of look-alike people: scored, never merged.
    twin = {**guest, "email": f"{local}.twin@{domain}"}
    unify.ingest_batch(
        ws.store,
        ws.config,
        [
            ev("identify", userId="acct-1", traits={**guest, "email": f"{local}.one@{domain}"}),
            ev("identify", userId="acct-2", traits=twin),
        ],
        source="test",
    )
    third = resolve.run(ws.store, ws.config)
    assert third.conflicts >= 1
    with ws.store.read() as conn:
        assert context.resolve(conn, "user_id:acct-1") != context.resolve(conn, "user_id:acct-2")
        conflicts: list[dict[str, Any]] = resolve.suggestions(conn, "conflict")
    assert any("different user_id" in (c["note"] or "") for c in conflicts)


def test_matching_over_http(workspace: Workspace, tmp_path: Path) -> None:
    from tests.conftest import Api, basic

    imported(workspace, tmp_path, 200)
    workspace.config.identity.matching.auto_merge = 1.0
    api = Api(workspace)
    with api.client:
        refused = api.client.post("/v1/identity/match", json={}, headers=basic(api.read))
        assert refused.status_code == 403
        ran = api.client.post("/v1/identity/match", json={"full": True}, headers=basic(api.admin))
        assert ran.status_code == 200, ran.text
        assert ran.json()["trained"] and ran.json()["suggested"] > 0
        listed = api.client.get("/v1/identity/suggestions", headers=basic(api.read)).json()
        assert len(listed) == ran.json()["suggested"]
        first = listed[0]["id"]
        body = {"action": "reject", "by": "ana"}
        assert (
            api.client.post(
                f"/v1/identity/suggestions/{first}", json=body, headers=basic(api.read)
            ).status_code
            == 403
        )
        decided = api.client.post(
            f"/v1/identity/suggestions/{first}", json=body, headers=basic(api.admin)
        )
        assert decided.status_code == 200 and decided.json()["status"] == "rejected"
        again = api.client.post(
            f"/v1/identity/suggestions/{first}", json=body, headers=basic(api.admin)
        )
        assert again.status_code == 409
        missing = api.client.post(
            "/v1/identity/suggestions/999999", json=body, headers=basic(api.admin)
        )
        assert missing.status_code == 404
