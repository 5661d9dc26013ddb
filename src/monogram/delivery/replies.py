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

import contextlib
import email
import email.policy
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select

from monogram.cdp import identity, privacy
from monogram.content.placements import Placement
from monogram.core.errors import NotFound, ValidationError
from monogram.core.settings import ProjectConfig
from monogram.quality import sentiment
from monogram.store import Store
from monogram.store.tables import decisions, messages

MESSAGE_ID = re.compile(r"msg_[0-9a-f]{16,24}")
REPLY_TOKEN = re.compile(r"\+(msg_[0-9a-f]{16,24})\.([0-9a-f]{16})@", re.IGNORECASE)
MAX_TEXT_BYTES = 8_000  # of a reply's new text, kept and scored (UTF-8); the rest is history
MAX_HEADER = 4_000  # characters of To, Cc, In-Reply-To and References read
MAX_RECIPIENTS = 20
MAX_REFERENCES = 10  # the newest message ids in References looked up
EVENTS = {"email": "Email Replied", "support": "Support Follow-up"}
CHANNELS = {"email": "email", "support": "support"}  # reply kind -> the placement channel
LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "sv", "pl"]


class Unmatched(ValidationError):
    """An email that is not a usable reply to a message Monogram sent (stray, automatic,
    unreadable): reported, not recorded; an inbound webhook answers it with 200 so the mail
    provider does not retry it for days."""


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


# Automatic mail: out-of-office notices, auto-responders, bounces, lists (RFC 3834 and the
# headers mail systems actually use).
def _automatic(name: str, value: str) -> bool:
    value = value.strip().lower()
    if name == "Auto-Submitted":
        return value not in ("", "no")
    if name == "Precedence":
        return value in ("bulk", "auto_reply", "junk", "list")
    return bool(value)  # X-Autoreply, X-Autorespond


AUTOMATIC = ("Auto-Submitted", "X-Autoreply", "X-Autorespond", "Precedence")


def _header(parsed: Message, name: str) -> str:
    """A header's text, at most ``MAX_HEADER`` characters, encoded words (RFC 2047) decoded."""
    value = parsed.get(name)
    if value is None:
        return ""
    text = str(value)[:MAX_HEADER]
    if "=?" in text:
        with contextlib.suppress(LookupError, ValueError, UnicodeError):
            text = str(make_header(decode_header(text)))
    return text


def _body_text(parsed: Message) -> str:
    """The first text/plain part, else the first text/html part as text, decoded with its
    charset (an unknown charset is read as UTF-8 with replacements)."""
    found: dict[str, Message] = {}
    for part in parsed.walk():
        kind = part.get_content_type()
        attached = "attachment" in str(part.get("Content-Disposition", "")).lower()
        if kind in ("text/plain", "text/html") and kind not in found and not attached:
            found[kind] = part
    chosen = found.get("text/plain") or found.get("text/html")
    if chosen is None:
        return ""
    payload = chosen.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = chosen.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:
        text = payload.decode("utf-8", errors="replace")
    return _html_text(text) if chosen.get_content_type() == "text/html" else text


def parse_email(raw: bytes) -> InboundEmail:
    """An RFC 5322 message as a mail provider forwards it (SendGrid's raw option, Mailgun's
    ``body-mime``, Postmark's ``RawEmail``, an ``.eml`` file). Headers are read with the
    classic parser and bounded (address lists, references), so a hostile header costs little;
    anything unreadable, and automatic mail, is ``Unmatched``."""
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
        sender = parseaddr(_header(parsed, "From"))[1]
        if not sender:
            raise Unmatched("email: not an email message (no From address)")
        for name in AUTOMATIC:
            if _automatic(name, _header(parsed, name)):
                raise Unmatched(f"email: an automatic message ({name}), not a reply")
        if parsed.get_content_type() == "multipart/report":
            raise Unmatched("email: a delivery report, not a reply")
        heads = [_header(parsed, "To"), _header(parsed, "Cc")]
        recipients = [a for _, a in getaddresses(heads)[:MAX_RECIPIENTS] if a]
        text = _body_text(parsed)
    except Unmatched:
        raise
    except (RecursionError, LookupError, IndexError, ValueError, TypeError) as exc:
        raise Unmatched(f"email: unreadable ({type(exc).__name__})") from exc
    return InboundEmail(
        sender=sender,
        recipients=recipients,
        subject=_header(parsed, "Subject"),
        in_reply_to=_header(parsed, "In-Reply-To"),
        references=_header(parsed, "References"),
        text=text,
    )


def new_text(text: str) -> str:
    """What the customer wrote, without the quoted message and the signature (reply headers
    in English, German, French, Spanish, Italian, Dutch, Portuguese, Swedish and Polish). A
    reply written below the quote keeps what follows it; a reply that is only the quote is
    empty."""
    from mailparser_reply import EmailReplyParser

    fragments = EmailReplyParser(languages=LANGUAGES).read(text=text[:200_000]).replies
    if not fragments:
        return ""
    first = fragments[0]
    latest = _unquoted(first.body)
    if not latest:  # written below the quote: the fragment's text after its header
        content = str(first.content)
        header = str(first.headers or "")
        if header and header in content:
            content = content.split(header, 1)[1]
        latest = _unquoted(content)
    return _bounded(latest)


def _unquoted(text: str) -> str:
    lines = [line for line in str(text or "").splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def _bounded(text: str) -> str:
    """At most ``MAX_TEXT_BYTES`` of UTF-8, no NUL (no database stores one)."""
    text = text.replace("\x00", "")
    data = text.encode("utf-8")
    if len(data) <= MAX_TEXT_BYTES:
        return text
    return data[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore").rstrip()


@dataclass
class Reply:
    """A reply: which message and decision it answers, how it reads, and whether it was
    recorded now (False: the same reply was recorded before)."""

    message_id: str
    decision_id: str | None
    profile_id: str
    kind: str
    text: str
    score: float
    label: str
    resolved: bool | None = None
    from_customer: bool | None = None
    recorded: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "matched": True,
            "reason": None,
            "message_id": self.message_id,
            "decision_id": self.decision_id,
            "kind": self.kind,
            "sentiment": {"score": round(self.score, 3), "label": self.label},
            "resolved": self.resolved,
            "recorded": self.recorded,
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


def _customer_emails(store: Store, profile_id: str) -> set[str]:
    with store.read() as conn:
        found = identity.identifiers_for(conn, profile_id)
    return {str(i["value"]) for i in found if i["type"] == "email"}


def match_email(store: Store, secret: str, inbound: InboundEmail) -> tuple[str, bool]:
    """The id of the message this email answers, and whether it comes from the customer's
    own address; ``Unmatched`` when no message can be trusted."""
    sender = identity.normalise_email(inbound.sender) or ""
    for recipient in inbound.recipients:
        token = REPLY_TOKEN.search(recipient + "@")
        if token and hmac.compare_digest(_mac(secret, token[1].lower()), token[2].lower()):
            message_id = token[1].lower()
            try:
                row, _ = _message(store, message_id)
            except NotFound as exc:
                raise Unmatched(f"email: a reply to {message_id}, which is gone") from exc
            return message_id, sender in _customer_emails(store, row.profile_id)
    ids = MESSAGE_ID.findall(inbound.in_reply_to)
    ids += MESSAGE_ID.findall(inbound.references)[-MAX_REFERENCES:]
    for candidate in list(dict.fromkeys(ids))[: MAX_REFERENCES + 1]:
        try:
            row, _ = _message(store, candidate)
        except NotFound:
            continue
        if sender and sender in _customer_emails(store, row.profile_id):
            return str(candidate), True
    raise Unmatched(
        "email: not a reply to a message Monogram sent (no valid reply address, and no "
        "In-Reply-To from the customer's own address)"
    )


def record(
    store: Store,
    config: ProjectConfig,
    placements: Mapping[str, Placement],
    message_id: str,
    text: str,
    *,
    kind: str,
    resolved: bool | None = None,
    from_customer: bool | None = None,
) -> Reply:
    """Score ``text`` and record it as an outcome of the message. The same reply recorded
    twice (the same message, text and verdict) is stored once: ``recorded`` says which."""
    if kind not in EVENTS:
        raise ValidationError(f"kind: must be one of {', '.join(EVENTS)}, not {kind!r}")
    text = _bounded(text.strip())
    if not text and resolved is None:
        raise ValidationError("text: empty (nothing new in the reply)")
    row, decision_id = _message(store, message_id)
    placement = placements.get(row.placement)
    if placement is not None and placement.channel != CHANNELS[kind]:
        raise ValidationError(
            f"message_id: {message_id} went out on the {placement.channel} channel "
            f"({row.placement}), not {CHANNELS[kind]}"
        )
    scored = sentiment.score([text])[0] if text else sentiment.Sentiment(0.0, "neutral")
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
    if from_customer is not None:
        properties["from_customer"] = from_customer
    digest = hashlib.sha256(f"{message_id}|{text}|{resolved}".encode()).hexdigest()[:24]
    report = privacy.track_for_profile(
        store, config, row.profile_id, EVENTS[kind], properties, f"reply-{digest}", "inbound"
    )
    if report is None:
        raise NotFound(f"message_id: the customer {message_id} went to has been erased")
    if report.rejected:
        raise ValidationError("reply not recorded:", report.rejected[0].errors)
    return Reply(
        message_id,
        decision_id,
        row.profile_id,
        kind,
        text,
        scored.score,
        scored.label,
        resolved,
        from_customer,
        recorded=report.accepted > 0,
    )


def record_email(
    store: Store, config: ProjectConfig, placements: Mapping[str, Placement], secret: str,
    raw: bytes,
) -> Reply:  # fmt: skip
    """An inbound email: matched to its message, the new text scored and recorded.
    ``Unmatched`` for stray, automatic or unreadable mail and for a reply with no new text."""
    inbound = parse_email(raw)
    message_id, from_customer = match_email(store, secret, inbound)
    text = new_text(inbound.text)
    if not text:
        raise Unmatched("email: no new text (only the quoted message)")
    return record(
        store, config, placements, message_id, text, kind="email", from_customer=from_customer
    )
