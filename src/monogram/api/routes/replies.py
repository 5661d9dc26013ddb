"""Replies as outcomes: inbound email (a mail provider's inbound webhook) and support
follow-ups (a help desk). Both need a server-side key (read scope): a write key, which ships in
web pages, cannot record an outcome."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from monogram.api.deps import ReadKey, WorkspaceDep, json_body, read_bounded
from monogram.api.schemas import ReplyAnswer, RequestBody, ok
from monogram.core.errors import PayloadTooLarge, ValidationError
from monogram.delivery import replies

router = APIRouter(prefix="/v1", tags=["replies"])
MAX_EMAIL_BYTES = 10 * 1024 * 1024
# Where each provider puts the whole raw message: SendGrid Inbound Parse ("POST the raw, full
# MIME message"), Mailgun (``body-mime``), Postmark (``RawEmail``, with raw content included).
RAW_FIELDS = ("email", "body-mime", "RawEmail")

EMAIL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the whole email as received (RFC 5322); or a form with the raw "
        "message in `email` (SendGrid) or `body-mime` (Mailgun); or JSON with it in `raw` or "
        "`RawEmail` (Postmark). At most 10 MB.",
        "content": {
            "message/rfc822": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"email": {"type": "string"}}}
            },
            "application/json": {
                "schema": {"type": "object", "properties": {"raw": {"type": "string"}}}
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


def _field_bytes(value: str, charset: str) -> bytes:
    """A form field back to the bytes the provider sent (SendGrid names each field's charset
    in ``charsets``; Starlette decoded it as UTF-8, else Latin-1)."""
    try:
        return value.encode(charset)
    except (LookupError, UnicodeEncodeError):
        return value.encode("utf-8", "replace")


async def _raw_email(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        declared = request.headers.get("content-length", "")
        if not declared.isdigit():
            raise ValidationError("Content-Length: required for a form post")
        if int(declared) > MAX_EMAIL_BYTES:
            raise PayloadTooLarge(f"request body is over {MAX_EMAIL_BYTES // 1024 // 1024} MB")
        form = await request.form(max_files=2, max_fields=100, max_part_size=MAX_EMAIL_BYTES)
        try:
            charsets = orjson.loads(str(form.get("charsets") or "{}"))
        except orjson.JSONDecodeError:
            charsets = {}
        for field in RAW_FIELDS:
            value = form.get(field)
            if isinstance(value, UploadFile):
                data = await value.read(MAX_EMAIL_BYTES + 1)
                if len(data) > MAX_EMAIL_BYTES:
                    raise PayloadTooLarge(f"{field}: over {MAX_EMAIL_BYTES // 1024 // 1024} MB")
                return data
            if isinstance(value, str) and value:
                charset = charsets.get(field) if isinstance(charsets, dict) else None
                return _field_bytes(value, str(charset or "utf-8"))
        raise ValidationError("email: the form has no `email` (or `body-mime`) field")
    if kind == "application/json":
        data = await json_body(request, MAX_EMAIL_BYTES)
        found = data.get("raw", data.get("RawEmail")) if isinstance(data, dict) else None
        if not isinstance(found, str) or not found:
            raise ValidationError("raw: the whole email as a string (or `RawEmail`)")
        return found.encode("utf-8", "replace")
    raw = await read_bounded(request, MAX_EMAIL_BYTES)
    if not raw.strip():
        raise ValidationError("email: empty body; send the raw email")
    return raw


@router.post("/inbound/email", responses=ok(ReplyAnswer), openapi_extra=EMAIL_BODY)
async def inbound_email(request: Request, workspace: WorkspaceDep, _key: ReadKey) -> dict[str, Any]:
    """A customer's reply to an email Monogram sent, as the mail provider forwards it: matched
    to its message, its new text scored for sentiment and recorded as an outcome. Mail that is
    no usable reply (stray, automatic, unreadable) is answered 200 with ``matched: false`` and
    the reason, so the provider does not retry it; a malformed request is a 400."""
    raw = await _raw_email(request)

    def record() -> dict[str, Any]:
        try:
            found = replies.record_email(
                workspace.store, workspace.config, workspace.placements(), workspace.secret(), raw
            )
        except replies.Unmatched as exc:
            return {"matched": False, "reason": str(exc)}
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
            workspace.placements(),
            body.message_id,
            body.text,
            kind="support",
            resolved=body.resolved,
        )
        return found.as_dict()

    return await run_in_threadpool(record)
