"""Channels behind one protocol: ``send(message) -> Delivery``.

A channel never raises for a failed delivery: it returns a ``Delivery`` saying what happened
(sent, failed with a reason, dead-lettered after its last retry), so one failing destination
never stalls the others and every outcome can be recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from monogram.core.plugins import Registry


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


# Channels by URL scheme; a plug-in registers a factory ``(url, *, sender, webhook_secret)
# -> Channel`` under the ``monogram.channels`` entry-point group, named by its scheme.
CHANNELS = Registry(
    "monogram.channels",
    "channel",
    {
        "smtp": "monogram.delivery.channels.smtp:from_url",
        "file": "monogram.delivery.channels.file:from_url",
        "http": "monogram.delivery.channels.webhook:from_url",
        "https": "monogram.delivery.channels.webhook:from_url",
    },
)


def channel_from_url(url: str, *, sender: str, webhook_secret: str | None = None) -> Channel:
    """``smtp://host:port``, ``file:///path/out.jsonl`` (or .csv), ``https://...`` (webhook), or
    a scheme a plug-in registers."""
    from urllib.parse import urlsplit

    from monogram.core.errors import ConfigError, ValidationError

    scheme = urlsplit(url).scheme
    try:
        factory = CHANNELS.get(scheme)
    except ConfigError as exc:
        raise ValidationError(
            f"channel {url!r}: use smtp://host:port, file:///path.jsonl or https://... "
            f"(registered schemes: {', '.join(CHANNELS.names())})"
        ) from exc
    channel: Channel = factory(url, sender=sender, webhook_secret=webhook_secret)
    return channel
