"""File export for ESPs and ad platforms: JSONL or CSV, appended, one row a message.

Files are created readable by their owner only (0600): they hold addresses and personal copy.
Each sent row's outbox entry records the file (``file:PATH``), so erasing a person removes
their rows from every export the product wrote (``erase_rows``).
"""

from __future__ import annotations

import csv
import io
import os
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
    "reply_to",
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
            "reply_to": message.headers.get("Reply-To", ""),
        }
        try:
            with (
                self._lock,
                os.fdopen(  # created readable by its owner only
                    os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                    "a",
                    encoding="utf-8",
                    newline="",
                ) as handle,
            ):
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
        return Delivery(message.message_id, "sent", provider_id=f"file:{self.path.resolve()}")


def from_url(url: str, *, sender: str, webhook_secret: str | None = None) -> FileChannel:
    """``file:///path/out.jsonl`` (or ``.csv``); ``file://./relative.jsonl``."""
    parts = urlsplit(url)
    path = Path(parts.netloc + parts.path) if parts.netloc == "." else Path(parts.path)
    return FileChannel(path, sender=sender)


def erase_rows(path: Path, message_ids: set[str]) -> int:
    """Remove the rows of these messages from an export (rewritten in place, atomically, still
    0600); the number removed. A file that is gone has nothing left to remove."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return 0
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        kept = [r for r in rows if r.get("message_id") not in message_ids]
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(kept)
        removed, rewritten = len(rows) - len(kept), out.getvalue()
    else:
        lines = [line for line in text.split("\n") if line]
        kept_lines = [
            line for line in lines if orjson.loads(line).get("message_id") not in message_ids
        ]
        removed, rewritten = len(lines) - len(kept_lines), "".join(f"{x}\n" for x in kept_lines)
    if removed:
        temporary = path.with_name(f".{path.name}.erasing")
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(rewritten)
        os.replace(temporary, path)
    return removed
