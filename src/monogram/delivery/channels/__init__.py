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
