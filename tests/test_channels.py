"""Channels against real peers on localhost: an SMTP server (aiosmtpd), an HTTP receiver."""

from __future__ import annotations

import csv
import email
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest

from monogram.delivery.channels import Outbound
from monogram.delivery.channels.file import FileChannel
from monogram.delivery.channels.smtp import SMTPChannel
from monogram.delivery.channels.webhook import SIGNATURE_HEADER, WebhookChannel, verify
from tests.smtp import Inbox, free_port


def outbound(message_id: str = "msg_1") -> Outbound:
    return Outbound(
        message_id=message_id,
        recipient="maya@example.com",
        channel="email",
        subject="New trail picks",
        text="Hi Maya,\nNew gear is here.",
        html="<p>Hi Maya,</p><p>New gear is here.</p>",
        headers={
            "List-Unsubscribe": "<https://shop.example/u/abc>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        data={"decision_id": "dec_1"},
    )


def test_smtp_sends_multipart_with_unsubscribe(smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    channel = SMTPChannel("127.0.0.1", port, sender="Trailhead <news@shop.example>")
    delivery = channel.send(outbound())
    assert delivery.status == "sent" and delivery.provider_id
    assert len(inbox.messages) == 1
    sender, recipients, raw = inbox.messages[0]
    assert sender == "news@shop.example" and recipients == ["maya@example.com"]
    parsed = email.message_from_bytes(raw)
    assert parsed["Subject"] == "New trail picks"
    assert parsed["List-Unsubscribe"] == "<https://shop.example/u/abc>"
    assert parsed["X-Monogram-Message"] == "msg_1"
    types = [part.get_content_type() for part in parsed.walk()]
    assert "text/plain" in types and "text/html" in types


def test_smtp_down_is_a_failed_delivery_not_an_exception() -> None:
    channel = SMTPChannel("127.0.0.1", free_port(), sender="news@shop.example", timeout_s=2)
    delivery = channel.send(outbound())
    assert delivery.status == "failed" and "smtp" in delivery.detail


class Receiver(BaseHTTPRequestHandler):
    statuses: list[int] = []
    seen: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((dict(self.headers), body))
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("R", (Receiver,), {"statuses": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def test_webhook_signs_retries_and_dead_letters(receiver: tuple[str, type[Receiver]]) -> None:
    url, handler = receiver
    channel = WebhookChannel(url, "s3cret", retries=2, backoff_s=0.01)
    handler.statuses = [503, 500]
    delivery = channel.send(outbound())
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    headers, body = handler.seen[-1]
    assert verify("s3cret", body, headers[SIGNATURE_HEADER])
    assert not verify("wrong", body, headers[SIGNATURE_HEADER])
    assert orjson.loads(body)["data"] == {"decision_id": "dec_1"}
    handler.statuses = [500, 500, 500]
    dead = channel.send(outbound("msg_2"))
    assert (dead.status, dead.attempts) == ("dead_letter", 3) and "500" in dead.detail
    handler.statuses = [422]
    refused = channel.send(outbound("msg_3"))
    assert (refused.status, refused.attempts) == ("failed", 1)


def test_file_export_jsonl_and_csv(tmp_path: Path) -> None:
    jsonl = FileChannel(tmp_path / "out.jsonl")
    for n in range(3):
        assert jsonl.send(outbound(f"msg_{n}")).status == "sent"
    rows = [orjson.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["message_id"] for r in rows] == ["msg_0", "msg_1", "msg_2"]
    table = FileChannel(tmp_path / "out.csv")
    table.send(outbound("a"))
    table.send(outbound("b"))
    with (tmp_path / "out.csv").open() as handle:
        assert [r["message_id"] for r in csv.DictReader(handle)] == ["a", "b"]
    with pytest.raises(ValueError, match=r"jsonl or \.csv"):
        FileChannel(tmp_path / "out.xml")
