"""Channels behind one protocol: ``send(message) -> Delivery``.

A channel never raises for a failed delivery: it returns a ``Delivery`` saying what happened
(sent, failed with a reason, dead-lettered after its last retry), so one failing destination
never stalls the others and every outcome can be recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Outbound:
    """A finished message: who gets it, where, and the content per element."""

    message_id: str
    recipient: str  # an email address, a webhook's customer reference, a file row key
    channel: str
    subject: str = ""
    text: str = ""
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # elements, decision id, tracking links


@dataclass
class Delivery:
    message_id: str
    status: str  # sent | failed | dead_letter
    attempts: int = 1
    detail: str = ""
    provider_id: str | None = None


class Channel(Protocol):
    name: str

    def send(self, message: Outbound) -> Delivery: ...


def channel_from_url(url: str, *, sender: str, webhook_secret: str | None = None) -> Channel:
    """``smtp://host:port``, ``file:///path/out.jsonl`` (or .csv), ``https://...`` (webhook)."""
    from pathlib import Path
    from urllib.parse import urlsplit

    from monogram.core.errors import ValidationError

    parts = urlsplit(url)
    if parts.scheme == "smtp":
        from monogram.delivery.channels.smtp import SMTPChannel

        return SMTPChannel(
            parts.hostname or "127.0.0.1",
            parts.port or 25,
            sender=sender,
            starttls="starttls=1" in parts.query or "starttls=true" in parts.query,
            username=parts.username,
            password=parts.password,
        )
    if parts.scheme == "file":
        from monogram.delivery.channels.file import FileChannel

        return FileChannel(
            Path(parts.netloc + parts.path) if parts.netloc == "." else Path(parts.path)
        )
    if parts.scheme in ("http", "https"):
        from monogram.delivery.channels.webhook import WebhookChannel

        if not webhook_secret:
            raise ValidationError("a webhook channel needs MONOGRAM_WEBHOOK_SECRET to sign with")
        return WebhookChannel(url, webhook_secret)
    raise ValidationError(
        f"channel {url!r}: use smtp://host:port, file:///path.jsonl or https://..."
    )
