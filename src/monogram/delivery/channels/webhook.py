"""Webhook: POST the message as JSON with an HMAC-SHA256 signature; retries with exponential
backoff; after the last retry the delivery is a dead letter (recorded, not lost)."""

from __future__ import annotations

import hashlib
import hmac
import random
import time

import httpx2 as httpx
import orjson

from monogram.core.errors import ValidationError
from monogram.delivery.channels import Delivery, Outbound

SIGNATURE_HEADER = "X-Monogram-Signature"


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """``t=TIMESTAMP,v1=HEX``: HMAC-SHA256 over ``TIMESTAMP.BODY`` (replays can be refused)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, tolerance_s: float = 300.0) -> bool:
    """For receivers: the signature matches and is fresh."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    timestamp = parts.get("t", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(
        sign(secret, body, timestamp).encode(), header.encode("utf-8", "replace")
    )


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a signing secret")
        self.url, self.secret = url, secret
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s

    def send(self, message: Outbound) -> Delivery:
        body = orjson.dumps(
            {
                "message_id": message.message_id,
                "recipient": message.recipient,
                "channel": message.channel,
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
                "headers": message.headers,
                "data": message.data,
            },
            default=str,
        )
        detail = ""
        for attempt in range(1, self.retries + 2):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(self.secret, body, timestamp),
                "Idempotency-Key": message.message_id,
            }
            try:
                response = httpx.post(
                    self.url, content=body, headers=headers, timeout=self.timeout_s
                )
            except httpx.TransportError as exc:
                detail = f"webhook: {exc.__class__.__name__}: {exc}"
            else:
                if response.status_code < 300:
                    return Delivery(message.message_id, "sent", attempt)
                detail = f"webhook answered {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    return Delivery(message.message_id, "failed", attempt, detail)
            if attempt <= self.retries:
                time.sleep(self.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random()))
        return Delivery(message.message_id, "dead_letter", self.retries + 1, detail)


def from_url(url: str, *, sender: str, webhook_secret: str | None = None) -> WebhookChannel:
    if not webhook_secret:
        raise ValidationError("a webhook channel needs MONOGRAM_WEBHOOK_SECRET to sign with")
    return WebhookChannel(url, webhook_secret)
