"""Profiles: the unified profile, the customer context, export and erasure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import AdminKey, ReadKey, WorkspaceDep, WriteKey
from monogram.api.schemas import (
    ConsentAnswer,
    ErasureAnswer,
    ExportAnswer,
    ProfileView,
    RequestBody,
    ok,
)
from monogram.cdp import context, privacy
from monogram.cdp.context import CustomerContext
from monogram.core.errors import NotFound

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])


@router.get("/{ref}", responses=ok(ProfileView))
async def get_profile(ref: str, workspace: WorkspaceDep, _key: ReadKey) -> dict[str, Any]:
    """The unified profile for ``TYPE:VALUE`` (``user_id:42``, ``email:maya@example.com``)."""

    def load() -> dict[str, Any]:
        with workspace.store.read() as conn:
            profile_id = context.resolve(conn, ref)
            return context.profile_view(conn, workspace.config, workspace.segments(), profile_id)

    return await run_in_threadpool(load)


@router.get("/{ref}/context", response_model=CustomerContext, response_model_exclude_none=True)
async def get_context(
    ref: str,
    workspace: WorkspaceDep,
    _key: ReadKey,
    purpose: str = Query(description="a purpose from monogram.yaml, e.g. email_marketing"),
) -> CustomerContext:
    """The consent-scoped context one purpose may use."""

    def load() -> CustomerContext:
        with workspace.store.read() as conn:
            profile_id = context.resolve(conn, ref)
            return context.customer_context(
                conn, workspace.config, workspace.segments(), profile_id, purpose
            )

    return await run_in_threadpool(load)


class ConsentChange(RequestBody):
    """Consent decisions to record, by purpose (``{"email_marketing": false}``)."""

    consent: dict[str, bool] = Field(min_length=1)
    source: str = Field(default="api", max_length=64)


@router.post("/{ref}/consent", responses=ok(ConsentAnswer))
async def set_consent(
    ref: str, change: ConsentChange, workspace: WorkspaceDep, key: WriteKey
) -> dict[str, Any]:
    """Record consent for this person (as a ``Consent Updated`` event in the log).

    A write key (the kind shipped in apps and web pages) gets the same answer whether or not
    the person is a customer, and never their consent record: it must not reveal who is on
    the list. An admin key gets the record, and a 404 for someone unknown."""
    try:
        consent = await run_in_threadpool(
            privacy.record_consent,
            workspace.store,
            workspace.config,
            ref,
            change.consent,
            change.source,
        )
    except NotFound:
        if key.scope == "admin":
            raise
        return {"success": True}
    return {"success": True, "consent": consent} if key.scope == "admin" else {"success": True}


@router.get("/{ref}/export", responses=ok(ExportAnswer))
async def export_profile(ref: str, workspace: WorkspaceDep, _key: AdminKey) -> dict[str, Any]:
    """Everything held about this person (a data-subject access request)."""
    return await run_in_threadpool(
        privacy.export, workspace.store, workspace.config, workspace.segments(), ref
    )


@router.delete("/{ref}", responses=ok(ErasureAnswer))
async def erase_profile(ref: str, workspace: WorkspaceDep, _key: AdminKey) -> dict[str, Any]:
    """Erase this person: events, identifiers, traits and everything derived."""
    counts = await run_in_threadpool(privacy.erase, workspace.store, ref)
    return {"success": True, "deleted": counts}
