"""Replies as outcomes: inbound email (a mail provider's inbound webhook) and support
follow-ups (a help desk). Both need a server-side key (read scope): a write key, which ships in
web pages, cannot record an outcome."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import Field, model_validator
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import ReadKey, WorkspaceDep, read_bounded
from monogram.api.schemas import ReplyAnswer, RequestBody, ok
from monogram.core.errors import ValidationError
from monogram.delivery import replies

router = APIRouter(prefix="/v1", tags=["replies"])
MAX_EMAIL_BYTES = 10 * 1024 * 1024

EMAIL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the whole email as received (RFC 5322), or a form with the raw message "
        "in the field `email` (SendGrid Inbound Parse, raw) or `body-mime` (Mailgun)",
        "content": {
            "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"email": {"type": "string"}}}
            },
        },
    }
}


class FollowUp(RequestBody):
    message_id: str = Field(
        min_length=1, max_length=40, description="the support reply's message_id"
    )
    text: str = Field(default="", max_length=20_000, description="what the customer wrote next")
    resolved: bool | None = Field(
        default=None, description="the help desk's verdict: the matter is solved, or not"
    )

    @model_validator(mode="after")
    def _something(self) -> FollowUp:
        if not self.text.strip() and self.resolved is None:
            raise ValueError("give text, resolved, or both")
        return self


async def _raw_email(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_part_size=MAX_EMAIL_BYTES)
        for field in ("email", "body-mime", "RawEmail"):
            value = form.get(field)
            if isinstance(value, str) and value:
                return value.encode("utf-8", "surrogateescape")
        raise ValidationError("email: the form has no `email` (or `body-mime`) field")
    raw = await read_bounded(request, MAX_EMAIL_BYTES)
    if kind == "application/json":
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValidationError(f"malformed JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("raw"), str):
            raise ValidationError("raw: the whole email as a string")
        return str(data["raw"]).encode("utf-8", "surrogateescape")
    if not raw.strip():
        raise ValidationError("email: empty body; send the raw email")
    return raw


@router.post("/inbound/email", responses=ok(ReplyAnswer), openapi_extra=EMAIL_BODY)
async def inbound_email(request: Request, workspace: WorkspaceDep, _key: ReadKey) -> dict[str, Any]:
    """A customer's reply to an email Monogram sent, as the mail provider forwards it: matched
    to its message, its new text scored for sentiment and recorded as an outcome."""
    raw = await _raw_email(request)

    def record() -> dict[str, Any]:
        found = replies.record_email(workspace.store, workspace.config, workspace.secret(), raw)
        return found.as_dict()

    return await run_in_threadpool(record)


@router.post("/support/followup", responses=ok(ReplyAnswer))
async def support_followup(
    body: FollowUp, workspace: WorkspaceDep, _key: ReadKey
) -> dict[str, Any]:
    """What the customer said after a support reply, and whether the help desk marked it
    resolved: both become outcomes of the reply's decision."""

    def record() -> dict[str, Any]:
        found = replies.record(
            workspace.store,
            workspace.config,
            body.message_id,
            body.text,
            kind="support",
            resolved=body.resolved,
        )
        return found.as_dict()

    return await run_in_threadpool(record)
