"""A stored message, composed for its channel: text and HTML with a signed unsubscribe link,
tracked product links and an open pixel; the channel decides the wire format (email MIME,
webhook JSON, a file line) from the ``Outbound`` built here."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from monogram.delivery.channels import Outbound

# Where each element goes in the body; elements not named here follow in placement order.
BODY_ORDER = (
    "greeting",
    "opening",
    "narrative",
    "support_reply",
    "product_description",
    "hero",
    "signoff",
    "footer",
)
NOT_IN_BODY = ("subject", "preheader")


def compose(
    message: dict[str, Any],
    recipient: str,
    channel: str,
    decision_id: str | None,
    links: dict[str, str],
    tracked: Callable[[str], str],
) -> Outbound:
    """``message`` as ``review.explain`` returns it; ``links`` the signed open and unsubscribe
    URLs; ``tracked`` turns a product URL into a tracked click URL."""
    elements = message["elements"]
    subject = elements.get("subject", {}).get("text") or message["placement"]
    body = [elements[n]["text"] for n in BODY_ORDER if n in elements]
    body += [e["text"] for n, e in elements.items() if n not in BODY_ORDER and n not in NOT_IN_BODY]
    unsubscribe = links["unsubscribe"]
    text = "\n\n".join(body).replace("{{unsubscribe_url}}", unsubscribe)
    preheader = elements.get("preheader", {}).get("text", "")
    page = "".join(f"<p>{html.escape(part)}</p>" for part in body)
    page = page.replace(
        "{{unsubscribe_url}}", f'<a href="{html.escape(unsubscribe)}">unsubscribe</a>'
    )
    targets = message["provenance"].get("links") or []
    if targets:
        cta = tracked(targets[0])
        text += f"\n\nShop now: {cta}"
        page += f'<p><a href="{html.escape(cta)}">Shop now</a></p>'
    pixel = f'<img src="{html.escape(links["open"])}" width="1" height="1" alt="">'
    page = f'<div style="display:none">{html.escape(preheader)}</div>{page}{pixel}'
    return Outbound(
        message_id=message["message_id"],
        recipient=recipient,
        channel=channel,
        subject=subject,
        text=text,
        html=page,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        data={"decision_id": decision_id, "placement": message["placement"]},
    )
