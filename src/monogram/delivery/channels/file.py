"""File export for ESPs and ad platforms: JSONL or CSV, appended, one row a message."""

from __future__ import annotations

import csv
import threading
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from monogram.delivery.channels import Delivery, Outbound

CSV_FIELDS = [
    "message_id",
    "recipient",
    "sender",
    "channel",
    "subject",
    "preheader",
    "text",
    "html",
    "list_unsubscribe",
]


class FileChannel:
    name = "file"

    def __init__(self, path: Path, sender: str = "") -> None:
        suffix = path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise ValueError(f"{path}: export to .jsonl or .csv")
        self.path, self.format = path, suffix[1:]
        self.sender = sender
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, message: Outbound) -> Delivery:
        # Everything an ESP needs to send it as it would have gone out: the HTML part (with
        # its open pixel and tracked links), the text part, preheader, sender, unsubscribe.
        row = {
            "message_id": message.message_id,
            "recipient": message.recipient,
            "sender": self.sender,
            "channel": message.channel,
            "subject": message.subject,
            "preheader": str(message.data.get("preheader") or ""),
            "text": message.text,
            "html": message.html or "",
            "list_unsubscribe": message.headers.get("List-Unsubscribe", ""),
        }
        try:
            with self._lock, self.path.open("a", encoding="utf-8", newline="") as handle:
                if self.format == "jsonl":
                    handle.write(
                        orjson.dumps({**row, "data": message.data}, default=str).decode() + "\n"
                    )
                else:
                    writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
                    if handle.tell() == 0:
                        writer.writeheader()
                    writer.writerow(row)
        except OSError as exc:
            return Delivery(message.message_id, "failed", detail=f"file: {exc}")
        return Delivery(message.message_id, "sent")


def from_url(url: str, *, sender: str, webhook_secret: str | None = None) -> FileChannel:
    """``file:///path/out.jsonl`` (or ``.csv``); ``file://./relative.jsonl``."""
    parts = urlsplit(url)
    path = Path(parts.netloc + parts.path) if parts.netloc == "." else Path(parts.path)
    return FileChannel(path, sender=sender)
