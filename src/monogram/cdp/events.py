"""Segment-spec events: models, validation and normalisation.

The shapes follow Segment's HTTP Tracking API (identify, track, page, screen, group, alias and
batch) so existing Segment and RudderStack SDKs can send to Monogram unchanged. Validation
errors name the field (as a dotted path, ``batch.3.userId`` inside a batch) and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from monogram.core.clock import iso, to_utc
from monogram.core.errors import FieldError, PayloadTooLarge, ValidationError
from monogram.core.ids import content_message_id

EVENT_TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
# What both stores can hold, checked once at the edge so a bad event is a 400 naming the field
# (or one rejected item in a batch), never a database error that fails its whole batch.
MAX_DEPTH = 32
MAX_INT = 2**63 - 1
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _id_text(value: Any) -> Any:
    # Segment's SDKs send ids as strings, but some apps pass numeric user ids.
    if isinstance(value, bool):
        raise ValueError("must be a string or an integer, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return None
    raise ValueError("must be a string or an integer")


Id = Annotated[str, BeforeValidator(_id_text), Field(max_length=512)]
MessageId = Annotated[str, BeforeValidator(_id_text), Field(max_length=255)]


def storable_problems(value: Any, path: str, depth: int = 0) -> list[FieldError]:
    """Why a value cannot be stored as it is in SQLite and PostgreSQL alike: NUL characters
    (PostgreSQL text cannot hold them), nesting deeper than ``MAX_DEPTH``, integers beyond 64
    bits, numbers that are not finite. The first problem per branch, with its path."""
    if depth > MAX_DEPTH:
        return [FieldError(path, f"nested deeper than {MAX_DEPTH} levels")]
    if isinstance(value, str):
        return [FieldError(path, "contains a NUL character")] if "\x00" in value else []
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [] if -MAX_INT - 1 <= value <= MAX_INT else [FieldError(path, "is out of range")]
    if isinstance(value, float):
        return (
            []
            if value == value and abs(value) != float("inf")
            else [FieldError(path, "is not a finite number")]
        )
    problems: list[FieldError] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                problems.append(FieldError(where, "has a NUL character in its name"))
                continue
            problems += storable_problems(inner, where, depth + 1)
            if len(problems) >= 5:
                break
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            problems += storable_problems(inner, f"{path}.{index}", depth + 1)
            if len(problems) >= 5:
                break
    return problems


class _EventModel(BaseModel):
    model_config = ConfigDict(extra="allow", str_max_length=MAX_EVENT_BYTES)

    messageId: MessageId | None = None
    userId: Id | None = None
    anonymousId: Id | None = None
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None
    sentAt: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    integrations: dict[str, Any] = Field(default_factory=dict)


class IdentifyModel(_EventModel):
    type: Literal["identify"]
    traits: dict[str, Any] = Field(default_factory=dict)


class TrackModel(_EventModel):
    type: Literal["track"]
    event: str = Field(min_length=1, max_length=255)
    properties: dict[str, Any] = Field(default_factory=dict)


class PageModel(_EventModel):
    type: Literal["page"]
    name: str | None = Field(default=None, max_length=255)
    category: str | None = Field(default=None, max_length=255)
    properties: dict[str, Any] = Field(default_factory=dict)


class ScreenModel(_EventModel):
    type: Literal["screen"]
    name: str | None = Field(default=None, max_length=255)
    category: str | None = Field(default=None, max_length=255)
    properties: dict[str, Any] = Field(default_factory=dict)


class GroupModel(_EventModel):
    type: Literal["group"]
    groupId: Id = Field(min_length=1)
    traits: dict[str, Any] = Field(default_factory=dict)


class AliasModel(_EventModel):
    type: Literal["alias"]
    previousId: Id = Field(min_length=1)
    userId: Id = Field(min_length=1)


_MODELS: dict[str, type[_EventModel]] = {
    "identify": IdentifyModel,
    "track": TrackModel,
    "page": PageModel,
    "screen": ScreenModel,
    "group": GroupModel,
    "alias": AliasModel,
}
_ADAPTERS = {name: TypeAdapter(model) for name, model in _MODELS.items()}


@dataclass(slots=True)
class Event:
    """One accepted event, normalised: ids as text, timestamps as aware UTC, messageId set."""

    type: str
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    name: str | None
    timestamp: datetime
    received_at: datetime
    payload: dict[str, Any]
    index: int = 0  # position in the batch or file it arrived in, for error reports
    ids: list[tuple[str, str]] | None = None  # identifiers, once identity has read them

    @property
    def key(self) -> tuple[datetime, str]:
        """The total order Monogram folds events in: time first, messageId to break ties."""
        return (self.timestamp, self.message_id)

    @property
    def properties(self) -> dict[str, Any]:
        value = self.payload.get("properties")
        return value if isinstance(value, dict) else {}

    @property
    def traits(self) -> dict[str, Any]:
        """Identify and group traits, or for other calls the ``context.traits`` Segment adds."""
        value = self.payload.get("traits")
        if self.type == "identify" and isinstance(value, dict):
            return value
        context = self.payload.get("context")
        ctx_traits = context.get("traits") if isinstance(context, dict) else None
        return ctx_traits if isinstance(ctx_traits, dict) else {}

    @property
    def context(self) -> dict[str, Any]:
        value = self.payload.get("context")
        return value if isinstance(value, dict) else {}

    def to_json(self) -> bytes:
        return orjson.dumps(self.payload)


def parse_event(
    raw: Any,
    received_at: datetime,
    *,
    prefix: str = "",
    type_hint: str | None = None,
    size: int | None = None,
) -> Event:
    """Validate one raw event; raise ValidationError naming each bad field.

    ``type_hint`` is the type implied by the endpoint (``/v1/track``), used when the body has
    no ``type``. ``prefix`` goes before field names (``batch.3.``) in error messages. ``size``
    is the event's encoded size when the caller knows it (a file line, a small request body).
    """
    if not isinstance(raw, dict):
        raise ValidationError(
            "invalid event:", [FieldError(prefix.rstrip(".") or "body", "must be a JSON object")]
        )
    problems = storable_problems(raw, prefix.rstrip("."))
    if problems:
        raise ValidationError("invalid event:", problems)
    if size is None or size > MAX_EVENT_BYTES:
        size = len(orjson.dumps(raw))
    if size > MAX_EVENT_BYTES:
        raise PayloadTooLarge(
            f"event is {size} bytes; the limit is {MAX_EVENT_BYTES} bytes (32 KB) per event",
            [FieldError(prefix.rstrip(".") or "body", "larger than 32 KB")],
        )
    kind = raw.get("type", type_hint)
    if type_hint is not None and kind != type_hint:
        raise ValidationError(
            "invalid event:",
            [FieldError(prefix + "type", f"is {kind!r} but this endpoint takes {type_hint!r}")],
        )
    if kind not in _MODELS:
        reason = (
            "is missing" if kind is None else f"{kind!r} is not one of {', '.join(EVENT_TYPES)}"
        )
        raise ValidationError("invalid event:", [FieldError(prefix + "type", reason)])
    try:
        model = _ADAPTERS[kind].validate_python(raw if "type" in raw else {**raw, "type": kind})
    except PydanticValidationError as exc:
        errors = [
            FieldError(prefix + ".".join(str(p) for p in err["loc"]), err["msg"])
            for err in exc.errors()
        ]
        raise ValidationError("invalid event:", errors) from exc
    return _normalise(model, raw, received_at, prefix)


def _normalise(
    model: _EventModel, raw: dict[str, Any], received_at: datetime, prefix: str
) -> Event:
    if not model.userId and not model.anonymousId:
        raise ValidationError(
            "invalid event:",
            [FieldError(prefix + "userId", "either userId or anonymousId is required")],
        )
    # Millisecond precision, as stored in the payload, so a replay orders events the same way.
    timestamp = _event_time(model, received_at, prefix)
    timestamp = timestamp.replace(microsecond=timestamp.microsecond // 1000 * 1000)
    payload = dict(raw)
    payload.pop("writeKey", None)
    if model.userId is not None:
        payload["userId"] = model.userId
    if model.anonymousId is not None:
        payload["anonymousId"] = model.anonymousId
    message_id = model.messageId or content_message_id(payload)
    payload["type"] = model.type  # type: ignore[attr-defined]
    payload["messageId"] = message_id
    payload["timestamp"] = iso(timestamp)
    payload["receivedAt"] = _iso_cached(received_at)
    name = getattr(model, "event", None) or getattr(model, "name", None)
    return Event(
        type=payload["type"],
        message_id=message_id,
        user_id=model.userId or None,
        anonymous_id=model.anonymousId or None,
        name=name,
        timestamp=timestamp,
        received_at=received_at,
        payload=payload,
    )


_last_iso: tuple[datetime, str] | None = None


def _iso_cached(moment: datetime) -> str:
    # A batch shares one receivedAt: format it once. The memo is read once into a local:
    # the server's threads share it, and a second read could see another batch's time.
    global _last_iso
    last = _last_iso
    if last is None or last[0] is not moment:
        last = _last_iso = (moment, iso(moment))
    return last[1]


def _event_time(model: _EventModel, received_at: datetime, prefix: str = "") -> datetime:
    # Segment's rule: trust an explicit timestamp; otherwise correct the device clock by the
    # skew between sentAt and receivedAt.
    for name in ("timestamp", "originalTimestamp", "sentAt"):
        value = getattr(model, name)
        if value is not None and not EARLIEST <= to_utc(value) < LATEST:
            raise ValidationError(
                "invalid event:",
                [FieldError(prefix + name, "must be between the years 1900 and 2199")],
            )
    if model.timestamp is not None:
        return to_utc(model.timestamp)
    if model.originalTimestamp is not None:
        original = to_utc(model.originalTimestamp)
        if model.sentAt is not None:
            corrected = received_at - (to_utc(model.sentAt) - original)
            if not EARLIEST <= corrected < LATEST:
                raise ValidationError(
                    "invalid event:",
                    [FieldError(prefix + "sentAt", "is too far from originalTimestamp")],
                )
            return corrected
        return original
    return received_at
