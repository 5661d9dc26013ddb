"""A proof: one customer's message, written and gated as a campaign would, sent to a test
address. Nothing is recorded (no decision, no message): a proof teaches the learning loop
nothing and its links track nothing, so a click on "unsubscribe" in a proof cannot withdraw
the real customer's consent."""

from __future__ import annotations

import uuid
from typing import Any

from monogram.campaigns import Campaign, sender_for
from monogram.delivery import tracking
from monogram.delivery.channels import Channel, Delivery, channel_from_url
from monogram.delivery.compose import compose
from monogram.pipeline import draft_for
from monogram.workspace import Workspace


def send_proof(
    ws: Workspace,
    customer: str,
    placement: str,
    to: str,
    channel_url: str,
    *,
    strategy: str | None = None,
    inputs: dict[str, Any] | None = None,
    channel: Channel | None = None,
) -> tuple[Delivery, dict[str, Any]]:
    """Send ``customer``'s ``placement`` to ``to``; returns the delivery and what was sent."""
    draft = draft_for(ws, customer, placement, strategy=strategy, inputs=inputs, record=False)
    brand = ws.brand()
    message = {**draft.as_dict(), "message_id": f"proof-{uuid.uuid4().hex[:12]}"}
    base = ws.settings.public_url.rstrip("/")
    links = {"open": f"{base}/t/proof", "unsubscribe": f"{base}/t/proof"}
    outbound = compose(
        message,
        to,
        "email",
        None,
        links,
        lambda url: url,
        brand=brand.name,
        website=brand.website,
        image_url=lambda name: tracking.image_url(ws.secret(), ws.settings.public_url, name),
    )
    outbound.subject = f"[proof] {outbound.subject}"
    if channel is None:
        sender = sender_for(Campaign(name="proof", placement=placement, audience="-"), brand)
        channel = channel_from_url(channel_url, sender=sender)
    delivery = channel.send(outbound)
    sent = {
        "to": to,
        "subject": outbound.subject,
        "customer": customer,
        "strategy": draft.strategy,
        "status": delivery.status,
        "detail": delivery.detail,
        "elements": {n: {"text": e.text, "source": e.source} for n, e in draft.elements.items()},
    }
    return delivery, sent
