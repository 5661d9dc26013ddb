"""Replies to sent messages, as outcomes: an email the customer answered, a follow-up to a
support reply.

A reply is tied to the message it answers, then its new text (quoted history and signature
cut off) is scored for sentiment and recorded on the customer's profile as an ``Email
Replied`` or ``Support Follow-up`` event, with source ``inbound`` and the decision id, so the
learning loop sees the outcomes ``replied``, ``positive_reply``, ``negative_reply`` and, for a
support follow-up that says so, ``resolved`` or ``unresolved``.

How an email reply finds its message, most trusted first:
- the Reply-To address carried a reply token (``replies+<message id>.<mac>@shop.example``,
  when ``replies.address`` is set): the MAC proves the address came from us;
- otherwise the message id in ``In-Reply-To``/``References`` (the ``Message-ID`` the SMTP channel
  set), accepted only when the sender's address is the customer's own email.
Anything else is reported as unmatched and recorded nowhere. Recording needs a server-side key
(read scope): the write keys that ship in web pages cannot forge an outcome.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select

from monogram.cdp import identity, privacy
from monogram.core.errors import NotFound, ValidationError
from monogram.core.settings import ProjectConfig
from monogram.quality import sentiment
from monogram.store import Store
from monogram.store.tables import decisions, messages

MESSAGE_ID = re.compile(r"msg_[0-9a-f]{16,24}")
REPLY_TOKEN = re.compile(r"\+(msg_[0-9a-f]{16,24})\.([0-9a-f]{16})@", re.IGNORECASE)
MAX_TEXT = 20_000  # characters of a reply kept and scored; the rest is quoted history or noise
EVENTS = {"email": "Email Replied", "support": "Support Follow-up"}


def _mac(secret: str, message_id: str) -> str:
    key = hashlib.sha256(b"monogram replies v1\x00" + secret.encode()).digest()
    return hmac.new(key, message_id.encode(), hashlib.sha256).hexdigest()[:16]


def reply_address(secret: str, address: str, message_id: str) -> str:
    """``replies@shop.example`` -> ``replies+msg_....<mac>@shop.example``: lower case only
    (some mail systems fold the local part), at most 64 characters before the @."""
    local, _, domain = address.partition("@")
    return f"{local}+{message_id}.{_mac(secret, message_id)}@{domain}"


@dataclass
class InboundEmail:
    sender: str
    recipients: list[str]
    subject: str
    in_reply_to: str
    references: str
    text: str


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "blockquote"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    return "".join(parser.parts)


def parse_email(raw: bytes) -> InboundEmail:
    """An RFC 5322 message as a mail provider forwards it (SendGrid's raw option, Mailgun's
    ``body-mime``, Postmark's raw source, an ``.eml`` file)."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(parsed, EmailMessage) or not parsed.get("From"):
        raise ValidationError("email: not an email message (no From header)")
    body = parsed.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        text = _html_text(content) if body.get_content_subtype() == "html" else content
    recipients = [a for _, a in getaddresses(parsed.get_all("To", []) + parsed.get_all("Cc", []))]
    return InboundEmail(
        sender=parseaddr(str(parsed["From"]))[1],
        recipients=recipients,
        subject=str(parsed.get("Subject", "")),
        in_reply_to=str(parsed.get("In-Reply-To", "")),
        references=str(parsed.get("References", "")),
        text=text,
    )


def new_text(text: str) -> str:
    """What the customer wrote, without the quoted message and the signature (English,
    German, French, Spanish, Italian, Dutch, Portuguese and more reply headers)."""
    from mailparser_reply import EmailReplyParser

    parser = EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl", "pt", "sv", "pl"])
    latest = parser.parse_reply(text=text[:MAX_TEXT]) or ""
    return str(latest).strip()


@dataclass
class Reply:
    """A recorded reply: which message and decision it answers, and how it reads."""

    message_id: str
    decision_id: str | None
    profile_id: str
    kind: str
    text: str
    score: float
    label: str
    resolved: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "decision_id": self.decision_id,
            "kind": self.kind,
            "sentiment": {"score": round(self.score, 3), "label": self.label},
            "resolved": self.resolved,
        }


def _message(store: Store, message_id: str) -> tuple[Any, str | None]:
    with store.read() as conn:
        row = conn.execute(
            select(messages.c.id, messages.c.profile_id, messages.c.placement).where(
                messages.c.id == message_id
            )
        ).first()
        if row is None:
            raise NotFound(f"no message {message_id!r}")
        decision = conn.execute(
            select(decisions.c.id).where(decisions.c.message_id == message_id)
        ).scalar()
    return row, decision


def _sender_is_customer(store: Store, profile_id: str, sender: str) -> bool:
    with store.read() as conn:
        found = identity.identifiers_for(conn, profile_id)
    emails = {str(i["value"]).lower() for i in found if i["type"] == "email"}
    return bool(sender) and sender.lower() in emails


def match_email(store: Store, secret: str, inbound: InboundEmail) -> str:
    """The id of the message this email answers; ValidationError when none can be trusted."""
    for recipient in inbound.recipients:
        token = REPLY_TOKEN.search(recipient + "@")
        if token and hmac.compare_digest(_mac(secret, token[1].lower()), token[2].lower()):
            return token[1].lower()
    for candidate in MESSAGE_ID.findall(f"{inbound.in_reply_to} {inbound.references}"):
        try:
            row, _ = _message(store, candidate)
        except NotFound:
            continue
        if _sender_is_customer(store, row.profile_id, inbound.sender):
            return str(candidate)
    raise ValidationError(
        "email: not a reply to a message Monogram sent (no valid reply address, and no "
        "In-Reply-To from the customer's own address)"
    )


def record(
    store: Store,
    config: ProjectConfig,
    message_id: str,
    text: str,
    *,
    kind: str,
    resolved: bool | None = None,
    event_id: str | None = None,
) -> Reply:
    """Score ``text`` and record it as an outcome of the message. The same reply recorded
    twice (the same ``event_id``, by default the message and the text) counts once."""
    if kind not in EVENTS:
        raise ValidationError(f"kind: must be one of {', '.join(EVENTS)}, not {kind!r}")
    text = text.strip()[:MAX_TEXT]
    if not text and resolved is None:
        raise ValidationError("text: empty (nothing new in the reply)")
    row, decision_id = _message(store, message_id)
    scored = sentiment.score([text])[0] if text else sentiment.Sentiment(0.0, "neutral")
    reply = Reply(
        message_id, decision_id, row.profile_id, kind, text, scored.score, scored.label, resolved
    )
    properties: dict[str, Any] = {
        "message_id": message_id,
        "decision_id": decision_id,
        "placement": row.placement,
        "text": text,
        "sentiment": round(scored.score, 4),
        "sentiment_label": scored.label,
    }
    if resolved is not None:
        properties["resolved"] = resolved
    digest = hashlib.sha256(f"{message_id}|{text}|{resolved}".encode()).hexdigest()[:24]
    privacy.track_for_profile(
        store,
        config,
        row.profile_id,
        EVENTS[kind],
        properties,
        event_id or f"reply-{digest}",
        source="inbound",
    )
    return reply


def record_email(store: Store, config: ProjectConfig, secret: str, raw: bytes) -> Reply:
    """An inbound email: matched to its message, the new text scored and recorded."""
    inbound = parse_email(raw)
    message_id = match_email(store, secret, inbound)
    text = new_text(inbound.text)
    return record(store, config, message_id, text, kind="email")
