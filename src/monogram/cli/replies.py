"""`monogram replies import|followup`: customers' replies as outcomes, with their sentiment."""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.markup import escape

from monogram.cli.common import console, new_app, print_json, progress_bar, workspace
from monogram.core.errors import MonogramError, ValidationError
from monogram.delivery import replies

app = new_app("Replies: customers' answers to sent messages, scored for sentiment as outcomes.")


def _emails(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, raw) per email in a file (.eml), a folder of .eml files, an mbox or a Maildir."""
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            maildir = mailbox.Maildir(path, create=False)
            try:
                for key, message in maildir.iteritems():
                    yield f"{path}/{key}", message.as_bytes()
            finally:
                maildir.close()
            return
        for file in sorted(path.glob("*.eml")):
            yield str(file), file.read_bytes()
        return
    if not path.is_file():
        raise ValidationError(f"{path}: no such file or folder")
    with path.open("rb") as handle:
        head = handle.read(5)
    if head == b"From ":
        box = mailbox.mbox(path, create=False)
        try:
            for index, letter in enumerate(box):
                yield f"{path}#{index + 1}", letter.as_bytes()
        finally:
            box.close()
        return
    yield str(path), path.read_bytes()


@app.command("import")
def import_replies(
    path: Path = typer.Argument(..., help="an .eml file, a folder of them, an mbox or a Maildir"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Record the replies in PATH: each matched to the message it answers (reply address or
    In-Reply-To from the customer's own address), scored and recorded once (importing the same
    mail again records nothing new: counted as already recorded). Emails that are no usable
    reply (stray, automatic, unreadable, only the quote) are listed, not recorded."""
    counts: Counter[str] = Counter()
    again = 0
    skipped: list[dict[str, str]] = []
    with workspace() as ws, progress_bar(unit="emails", quiet=json_out) as bar:
        task = bar.add_task("replies", total=None)
        placements = ws.placements()
        for done, (name, raw) in enumerate(_emails(path), 1):
            try:
                reply = replies.record_email(ws.store, ws.config, placements, ws.secret(), raw)
            except MonogramError as exc:
                skipped.append({"email": name, "reason": str(exc)})
            else:
                if reply.recorded:
                    counts[reply.label] += 1
                else:
                    again += 1
            bar.update(task, completed=done)
    summary = {
        "recorded": sum(counts.values()),
        "already_recorded": again,
        "sentiment": dict(counts),
        "skipped": skipped,
    }
    if json_out:
        print_json(summary)
        return
    console.print(
        f"recorded {summary['recorded']} replies"
        + "".join(f", {n} {label}" for label, n in sorted(counts.items()))
        + (f"; {again} recorded before" if again else "")
    )
    for item in skipped:
        console.print(f"[yellow]skipped[/] {escape(item['email'])}: {escape(item['reason'])}")


@app.command("followup")
def followup(
    message_id: str = typer.Argument(..., help="the support reply's message id"),
    text: str = typer.Option("", "--text", help="what the customer wrote next"),
    resolved: bool | None = typer.Option(
        None, "--resolved/--unresolved", help="the help desk's verdict"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Record a follow-up to a support reply (its text, and whether the matter is resolved)."""
    if not text.strip() and resolved is None:
        raise ValidationError("give --text, --resolved/--unresolved, or both")
    with workspace() as ws:
        reply = replies.record(
            ws.store, ws.config, ws.placements(), message_id, text, kind="support",
            resolved=resolved,
        )  # fmt: skip
    if json_out:
        print_json(reply.as_dict())
        return
    verdict = {True: ", resolved", False: ", unresolved", None: ""}[resolved]
    console.print(f"{message_id}: {reply.label} ({reply.score:+.2f}){verdict}", markup=False)
