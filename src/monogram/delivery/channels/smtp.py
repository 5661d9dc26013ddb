"""Email over SMTP: multipart text and HTML, List-Unsubscribe, STARTTLS and auth optional."""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

from monogram.delivery.channels import Delivery, Outbound


class SMTPChannel:
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout_s = timeout_s

    def build(self, message: Outbound) -> EmailMessage:
        # RFC 5322 allows 998-character lines: a long signed List-Unsubscribe URL stays one
        # plain header instead of being folded into encoded words no mail client reads.
        email = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(idstring=message.message_id)
        email["X-Monogram-Message"] = message.message_id
        for name, value in message.headers.items():
            email[name] = value
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def send(self, message: Outbound) -> Delivery:
        email = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as server:
                if self.starttls:
                    server.starttls(context=ssl.create_default_context())
                if self.username:
                    server.login(self.username, self.password or "")
                refused = server.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            return Delivery(message.message_id, "failed", detail=f"smtp: {exc}")
        if refused:
            return Delivery(message.message_id, "failed", detail=f"smtp refused: {refused}")
        return Delivery(message.message_id, "sent", provider_id=email["Message-ID"])


def from_url(url: str, *, sender: str, webhook_secret: str | None = None) -> SMTPChannel:
    """``smtp://[user:password@]host:port[?starttls=1]``."""
    parts = urlsplit(url)
    return SMTPChannel(
        parts.hostname or "127.0.0.1",
        parts.port or 25,
        sender=sender,
        starttls="starttls=1" in parts.query or "starttls=true" in parts.query,
        username=parts.username,
        password=parts.password,
    )
