from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monogram.cdp.events import MAX_EVENT_BYTES, parse_event
from monogram.core.errors import PayloadTooLarge, ValidationError

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def fields_of(exc: ValidationError) -> dict[str, str]:
    return {e.field: e.reason for e in exc.errors}


def test_track_is_normalised() -> None:
    event = parse_event(
        {
            "type": "track",
            "userId": 42,
            "event": "Order Completed",
            "messageId": "m1",
            "timestamp": "2026-11-01T10:00:00.123456+02:00",
            "writeKey": "secret",
        },
        NOW,
    )
    assert event.user_id == "42"
    assert event.timestamp == datetime(2026, 11, 1, 8, 0, 0, 123000, tzinfo=UTC)
    assert event.payload["timestamp"] == "2026-11-01T08:00:00.123Z"
    assert "writeKey" not in event.payload
    assert event.payload["receivedAt"] == "2026-11-25T12:00:00.000Z"


def test_clock_skew_is_corrected_like_segment() -> None:
    event = parse_event(
        {
            "type": "page",
            "anonymousId": "a",
            "originalTimestamp": "2026-11-25T11:00:00Z",
            "sentAt": "2026-11-25T11:00:10Z",
        },
        NOW,
    )
    # The device clock is 59 min 50 s behind; the event happened 10 s before it arrived.
    assert event.timestamp == datetime(2026, 11, 25, 11, 59, 50, tzinfo=UTC)


def test_missing_message_id_gets_a_stable_one() -> None:
    raw = {"type": "identify", "userId": "u1", "timestamp": "2026-11-01T00:00:00Z"}
    first, second = parse_event(dict(raw), NOW), parse_event(dict(raw), NOW)
    assert first.message_id == second.message_id
    assert first.message_id.startswith("auto-")


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ({"type": "track", "userId": "u"}, "event", "Field required"),
        ({"type": "track", "event": "X"}, "userId", "either userId or anonymousId is required"),
        ({"type": "shout", "userId": "u"}, "type", "'shout' is not one of"),
        ({"userId": "u"}, "type", "is missing"),
        ({"type": "identify", "userId": True}, "userId", "not a boolean"),
        ({"type": "identify", "userId": {"a": 1}}, "userId", "string or an integer"),
        ({"type": "identify", "userId": "u", "traits": [1]}, "traits", "valid dictionary"),
        ({"type": "identify", "userId": "u", "timestamp": "yesterday"}, "timestamp", "datetime"),
        ({"type": "group", "userId": "u"}, "groupId", "Field required"),
        ({"type": "alias", "userId": "u"}, "previousId", "Field required"),
    ],
)
def test_bad_events_name_the_field_and_reason(raw: dict, field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event(raw, NOW)
    errors = fields_of(caught.value)
    assert field in errors, errors
    assert reason in errors[field]
    assert field in caught.value.message


def test_not_an_object() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event([1, 2], NOW, prefix="batch.3.")
    assert fields_of(caught.value) == {"batch.3": "must be a JSON object"}


def test_batch_prefix_in_field_names() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event({"type": "track", "userId": "u"}, NOW, prefix="batch.7.")
    assert "batch.7.event" in fields_of(caught.value)


def test_oversize_event_is_refused() -> None:
    raw = {
        "type": "track",
        "userId": "u",
        "event": "Big",
        "properties": {"blob": "x" * MAX_EVENT_BYTES},
    }
    with pytest.raises(PayloadTooLarge) as caught:
        parse_event(raw, NOW)
    assert "32 KB" in caught.value.message
    assert caught.value.status_code == 400
