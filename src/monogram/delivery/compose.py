"""A stored message, composed for its channel: text and HTML with a signed unsubscribe link,
tracked product links and an open pixel; the channel decides the wire format (email MIME,
webhook JSON, a file line) from the ``Outbound`` built here."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from importlib import resources
from typing import Any

from jinja2 import Environment, StrictUndefined, Template
from markupsafe import Markup

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


UNSUBSCRIBE = "{{unsubscribe_url}}"
NOT_SENT = "(the unsubscribe link, added when sent)"


def fill_unsubscribe(text: str, url: str | None) -> str:
    """Approved copy with the unsubscribe placeholder filled: the signed link, or a note where
    there is none yet (a preview)."""
    return text.replace(UNSUBSCRIBE, url or NOT_SENT)


FOOTER = ("footer", "signoff")


def compose(
    message: dict[str, Any],
    recipient: str,
    channel: str,
    decision_id: str | None,
    links: dict[str, str],
    tracked: Callable[[str], str],
    *,
    brand: str = "",
    website: str = "",
    image_url: Callable[[str], str] | None = None,
) -> Outbound:
    """``message`` as ``review.explain`` returns it; ``links`` the signed open and unsubscribe
    URLs; ``tracked`` turns a product URL into a tracked click URL; ``image_url`` a creative's
    file name into the URL it is served at (without it, creatives are left out of the HTML).
    The HTML part is a responsive, inline-styled layout (``templates/email.html``); the text
    part says the same (a creative by its alt text)."""
    elements = message["elements"]
    subject = elements.get("subject", {}).get("text") or message["placement"]
    ordered = [n for n in BODY_ORDER if n in elements]
    ordered += [n for n in elements if n not in BODY_ORDER and n not in NOT_IN_BODY]
    body = [
        f"[image: {elements[n]['text']}]" if elements[n].get("media") else elements[n]["text"]
        for n in ordered
        if n not in FOOTER
    ]
    parts: list[Any] = [
        _picture(elements[n], image_url) if elements[n].get("media") else elements[n]["text"]
        for n in ordered
        if n not in FOOTER
    ]
    footer = [elements[n]["text"] for n in ordered if n in FOOTER]
    unsubscribe = links["unsubscribe"]
    targets = message["provenance"].get("links") or []
    cta = tracked(targets[0]) if targets else None
    text = "\n\n".join(body)
    if cta:
        text += f"\n\nShop now: {cta}"
    text += "\n\n" + "\n\n".join(footer).replace(UNSUBSCRIBE, unsubscribe)
    if UNSUBSCRIBE not in "".join(footer):
        text += f"\n\nUnsubscribe: {unsubscribe}"
    page = _template().render(
        subject=subject,
        preheader=elements.get("preheader", {}).get("text", ""),
        brand=brand,
        website=website,
        body=[p for p in parts if p is not None],
        cta=cta,
        cta_label="Shop now",
        footer=[Markup(html.escape(f).replace(UNSUBSCRIBE, "below")) for f in footer],
        unsubscribe=unsubscribe,
        pixel=links["open"],
    )
    return Outbound(
        message_id=message["message_id"],
        recipient=recipient,
        channel=channel,
        subject=subject,
        text=text.strip(),
        html=page,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        data={
            "decision_id": decision_id,
            "placement": message["placement"],
            "preheader": elements.get("preheader", {}).get("text", ""),
        },
    )


def _picture(element: dict[str, Any], image_url: Callable[[str], str] | None) -> Any:
    """A creative in the email: its first size, served from ``image_url``; its alt text."""
    found = (element.get("media") or {}).get("images") or []
    if image_url is None or not found:
        return None
    return {"src": image_url(found[0]["name"]), "alt": element["text"]}


@functools.lru_cache(maxsize=1)
def _template() -> Template:
    source = (resources.files("monogram") / "delivery" / "templates" / "email.html").read_text(
        encoding="utf-8"
    )
    return Environment(autoescape=True, undefined=StrictUndefined).from_string(source)
