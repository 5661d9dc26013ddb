"""`monogram review list|show|approve|edit|reject` and `monogram explain`."""

from __future__ import annotations

import getpass

import typer

from monogram.cli.common import console, new_app, print_json, print_readable, workspace
from monogram.quality import review
from monogram.reviewing import decide_review

app = new_app("The human review queue.")


def _reviewer(name: str | None) -> str:
    return name or getpass.getuser()


@app.command("list")
def list_(
    status: str = typer.Option("pending", "--status", help="pending, approved, edited, rejected"),
    limit: int = typer.Option(50, "--limit"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Review items, oldest first."""
    with workspace() as ws, ws.store.read() as conn:
        items = review.list_reviews(conn, status, limit)
    if json_out:
        print_json(items)
        return
    for item in items:
        console.print(
            f"[bold]{item['review_id']}[/] {item['placement']}.{item['element']} "
            f"({item['message_id']}): {'; '.join(item['reasons'])}"
        )
        console.print(f"    {item['original']}", markup=False)


@app.command("show")
def show(review_id: int, json_out: bool = typer.Option(False, "--json")) -> None:
    """One review item with its message."""
    with workspace() as ws, ws.store.read() as conn:
        item = review.get_review(conn, review_id)
        item["message"] = review.explain(conn, item["message_id"])
    if json_out:
        print_json(item)
    else:
        print_readable(item)


@app.command("approve")
def approve(
    review_id: int,
    reviewer: str = typer.Option(None, "--reviewer", help="default: your user name"),
    note: str = typer.Option(None, "--note"),
) -> None:
    """Approve the text as it is."""
    with workspace() as ws:
        item = review.decide(ws.store, review_id, "approve", _reviewer(reviewer), note=note)
    console.print(f"review {review_id} approved by {item['reviewer']}")


@app.command("edit")
def edit(
    review_id: int,
    text: str = typer.Option(..., "--text", help="the corrected text"),
    reviewer: str = typer.Option(None, "--reviewer"),
    note: str = typer.Option(None, "--note"),
    add_to_library: bool = typer.Option(False, "--add-to-library", help="also an approved variant"),
    override: str = typer.Option(
        None, "--override", help="why a text the quality gate fails should go out anyway"
    ),
) -> None:
    """Replace the text; the edit goes through the quality gate first and is kept as
    preference data (original, edited, who, when)."""
    with workspace() as ws:
        item = decide_review(
            ws,
            review_id,
            "edit",
            _reviewer(reviewer),
            text=text,
            note=note,
            override=override,
            add_to_library=add_to_library,
        )
    if "library_variant" in item:
        console.print(
            f"added to the library of {item['placement']}.{item['element']} as "
            f"{item['library_variant']}"
        )
    console.print(f"review {review_id} edited by {item['reviewer']}")


@app.command("reject")
def reject(
    review_id: int,
    reviewer: str = typer.Option(None, "--reviewer"),
    note: str = typer.Option(None, "--note"),
) -> None:
    """Reject the text; the element goes out as its approved fallback."""
    with workspace() as ws:
        item = decide_review(ws, review_id, "reject", _reviewer(reviewer), note=note)
    console.print(f"review {review_id} rejected; {item['placement']}.{item['element']} falls back")


def explain(message_id: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Why a message says what it says: sources, every check's score and reasons, reviews."""
    with workspace() as ws, ws.store.read() as conn:
        body = review.explain(conn, message_id)
    if json_out:
        print_json(body)
        return
    console.print(
        f"[bold]{body['message_id']}[/] {body['placement']} for {body['customer']} "
        f"(strategy {body['strategy']}, status {body['status']})"
    )
    for name, element in body["elements"].items():
        console.print(f"[bold]{name}[/] {element['source']}: ", end="")
        console.print(element["text"], markup=False)
        if element.get("reason"):
            console.print(f"  reason: {element['reason']}", markup=False)
        for check in (element.get("checks") or {}).get("checks", []):
            reasons = "; ".join(r["message"] for r in check["reasons"])
            mark = "ok  " if check["passed"] else "FAIL"
            line = f"  {mark} {check['name']:<12} {check['score']:.2f} {reasons}"
            console.print(line, markup=False)
    for item in body["reviews"]:
        console.print(
            f"review {item['review_id']}: {item['status']} ({'; '.join(item['reasons'])})",
            markup=False,
        )
