"""`monogram generate`, `monogram preview`, `monogram placements`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import typer

from monogram.cdp import segments
from monogram.cli.common import (
    console,
    new_app,
    print_json,
    print_readable,
    progress_bar,
    workspace,
)
from monogram.content.placements import get_placement
from monogram.core.errors import NotFound, ValidationError
from monogram.delivery.compose import compose, fill_unsubscribe
from monogram.pipeline import Outcome, Request, draft_for, personalize
from monogram.web.preview import preview_customers, render_preview

placements_app = new_app("Placements: the surfaces that get content.")


def _inputs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError(
                f"--input {pair!r}: write KEY=VALUE, e.g. product_id=run-road-001"
            )
        out[key.strip()] = value
    return out


def generate(
    placement: str = typer.Option(..., "--placement", help="a placement name, e.g. email"),
    customers: list[str] = typer.Option(
        [], "--customer", help="TYPE:VALUE, e.g. user_id:42 (repeat for several)"
    ),
    segment: str = typer.Option(None, "--segment", help="every member of this segment"),
    limit: int = typer.Option(None, "--limit", min=1, help="at most this many segment members"),
    strategy: str = typer.Option(None, "--strategy", help="default: the placement's first"),
    inputs: list[str] = typer.Option([], "--input", help="KEY=VALUE, e.g. product_id=run-road-001"),
    json_out: bool = typer.Option(False, "--json", help="JSON (one line a customer for several)"),
    record: bool = typer.Option(
        True,
        "--record/--no-record",
        help="log the decision and store the message (default), or only show the content",
    ),
) -> None:
    """Write one placement's content for one or many customers, with context and provenance.

    Each message is stored and its strategy decision logged (without ``--strategy`` the
    placement's policy chooses), so outcomes reported on it teach the learning loop;
    ``--no-record`` only shows the content.

    The model is loaded once and kept for every customer and element (the shared prompt
    prefix is evaluated once), so a batch costs far less per customer than separate calls.
    """
    if not customers and not segment:
        raise ValidationError("--customer or --segment: say whose content to write")
    given = _inputs(inputs)
    with workspace() as ws:
        refs = list(customers)
        if segment:
            with ws.store.read() as conn:
                found = segments.members(
                    conn, segments.get_segment(ws.segments(), segment), ws.config, limit=limit
                )
            refs += [f"profile_id:{pid}" for pid in found]
        if not refs:
            raise NotFound(f"segment {segment!r} has no members")

        def step(ref: str, progress: Any = None) -> Outcome:
            request = Request(
                customer=ref,
                placement=placement,
                strategy=strategy,
                inputs=given,
                record=record,
                surface="cli",
            )
            return personalize(ws, request, progress=progress)

        if len(refs) == 1 and not segment:
            with console.status(f"writing {placement} for {refs[0]}") as status:
                outcome = step(refs[0], lambda name: status.update(f"writing {placement}: {name}"))
            print_json(_body(outcome)) if json_out else _show(outcome)
            return
        with progress_bar(unit="customers", quiet=json_out and not console.is_terminal) as bar:
            task = bar.add_task(f"writing {placement}", total=len(refs), rate="-")
            for ref in refs:
                outcome = step(ref)
                if json_out:
                    typer.echo(orjson.dumps(_body(outcome)).decode())
                else:
                    _show(outcome)
                bar.advance(task)


def _body(outcome: Outcome) -> dict[str, Any]:
    body: dict[str, Any] = (
        outcome.draft.as_dict() if outcome.draft else {"customer": outcome.customer}
    )
    for element in body.get("elements", {}).values():
        element["text"] = fill_unsubscribe(element["text"], None)
    return {**body, "decision_id": outcome.decision_id}


def _show(outcome: Outcome) -> None:
    draft = outcome.draft
    if draft is None:
        console.print(f"{outcome.customer}: held out of {outcome.placement}, nothing written")
        return
    body = draft.as_dict()
    console.print(f"[bold]{draft.placement}[/] for {draft.customer} (strategy {draft.strategy})")
    for element in draft.elements.values():
        tag = {"generated": "green", "locked": "blue", "fallback": "yellow"}.get(
            element.source, "cyan"
        )
        console.print(f"[bold]{element.name}[/] [{tag}]{element.source}[/]")
        console.print(f"  {fill_unsubscribe(element.text, None)}", markup=False)
        if element.reason:
            console.print(f"  [dim]{element.reason}[/]", markup=False)
    fields = ", ".join(body["provenance"]["context_fields"])
    console.print(f"[dim]model {body['provenance']['model']}, fields {fields}[/]")


def preview(
    placement: str = typer.Argument(..., help="a placement name"),
    sample: int = typer.Option(5, "--sample", help="how many customers"),
    strategy: str = typer.Option(None, "--strategy"),
    output: Path = typer.Option(Path("preview.html"), "--output", "-o"),
) -> None:
    """Write an HTML page with N customers' contexts and contents side by side."""
    with workspace() as ws:
        spec = get_placement(ws.placements(), placement)
        refs = preview_customers(ws, spec, sample)
        drafts = []
        rendered: dict[str, str] = {}
        with progress_bar(unit="customers") as bar:
            task = bar.add_task(f"writing {placement}", total=len(refs), rate="-")
            for ref in refs:
                inputs = (
                    {"message": "Hi, my last order has not arrived yet. Can you help?"}
                    if "message" in spec.inputs
                    else {}
                )
                drafted = draft_for(ws, ref, spec, strategy=strategy, inputs=inputs, record=False)
                drafts.append(drafted)
                if spec.channel == "email":
                    rendered[ref] = _as_received(ws, drafted)
                bar.advance(task)
    output.write_text(
        render_preview(
            placement,
            strategy or spec.strategies[0].name,
            drafts,
            rendered,
            image_src=lambda name: inline_image(ws, name),
        ),
        encoding="utf-8",
    )
    console.print(f"wrote {output} ({len(drafts)} customers)")


def _as_received(ws: Any, draft: Any) -> str:
    """The email as its recipient will see it (links not signed: nothing is sent)."""
    brand = ws.brand()
    message = {**draft.as_dict(), "message_id": "preview"}
    links = {"open": "about:blank", "unsubscribe": "#unsubscribe"}
    outbound = compose(
        message,
        "",
        "email",
        None,
        links,
        lambda url: url,
        brand=brand.name,
        website=brand.website,
        image_url=lambda name: inline_image(ws, name),
    )
    return outbound.html or ""


def inline_image(ws: Any, name: str) -> str:
    """A creative as a data: URL, so a preview file shows it with no server running."""
    import base64

    from monogram.content.images import ImageStore

    data = ImageStore(ws.store).read(name)
    kind = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}[name.rsplit(".")[-1]]
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


@placements_app.command("list")
def list_placements(json_out: bool = typer.Option(False, "--json")) -> None:
    """Placements with their channel, elements and strategies."""
    with workspace() as ws:
        found = ws.placements()
    rows = [
        {
            "name": p.name,
            "channel": p.channel,
            "purpose": p.purpose,
            "elements": {e.name: e.kind for e in p.elements},
            "strategies": [s.name for s in p.strategies],
        }
        for p in found.values()
    ]
    if json_out:
        print_json(rows)
        return
    for row in rows:
        console.print(
            f"[bold]{row['name']:<20}[/] {row['channel']:<12} "
            f"elements {', '.join(row['elements'])}; strategies {', '.join(row['strategies'])}"
        )


@placements_app.command("check")
def check_placements(
    name: str = typer.Argument(None, help="one placement (default: all)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Warn about limits no candidate can meet (token budgets, approved copy over a limit)
    and creatives that would always fall back (colours under WCAG AA, a missing fallback
    image, an unknown colourway or image backend) before a campaign finds out; exits 1 when
    there is any."""
    from monogram.content.images import image_warnings
    from monogram.content.prompts import limit_warnings

    with workspace() as ws:
        found = ws.placements()
        specs = [get_placement(found, name)] if name else list(found.values())
        brand = ws.brand()
        warnings = {
            spec.name: limit_warnings(brand, spec) + image_warnings(brand, spec, ws.home)
            for spec in specs
        }
    if json_out:
        print_json(warnings)
    else:
        for placement, items in warnings.items():
            mark = "[green]ok[/]" if not items else f"[yellow]{len(items)} warning(s)[/]"
            console.print(f"[bold]{placement:<20}[/] {mark}")
            for item in items:
                console.print(f"  {item}", markup=False)
    if any(warnings.values()):
        raise typer.Exit(1)


@placements_app.command("show")
def show_placement(name: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """A placement's full definition."""
    with workspace() as ws:
        spec = get_placement(ws.placements(), name)
    print_json(spec.model_dump()) if json_out else print_readable(spec.model_dump())


def check(
    text: str = typer.Option(..., "--text", help="the text to check"),
    placement: str = typer.Option(..., "--placement"),
    customer: str = typer.Option(..., "--customer", help="TYPE:VALUE"),
    element: str = typer.Option(None, "--element", help="default: the first generated element"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Run the quality gate on any text, as one element of a placement for one customer."""
    from monogram.pipeline import check_text

    with workspace() as ws:
        body = check_text(ws, text, customer, placement, element)
    if json_out:
        print_json(body)
        return
    verdict = "[green]passed[/]" if body["passed"] else "[red]failed[/]"
    console.print(f"{verdict} as {placement}.{body['element']} (score {body['score']:.2f})")
    for item in body["checks"]:
        mark = "ok  " if item["passed"] else "FAIL"
        console.print(f"  {mark} {item['name']:<12} {item['score']:.2f}", markup=False)
        for reason in item["reasons"]:
            span = f" ({reason['span']!r})" if reason["span"] else ""
            console.print(f"         {reason['message']}{span}", markup=False)
