"""The `monogram` command: one module per noun, wired here."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.markup import escape

from monogram import demo as demo_mod
from monogram.cdp import context, segments
from monogram.cli import campaign as campaign_cli
from monogram.cli import catalog, identity, ingest, keys, privacy, profiles
from monogram.cli import consent as consent_cli
from monogram.cli import generate as generate_cli
from monogram.cli import learn as learn_cli
from monogram.cli import models as models_cli
from monogram.cli import replies as replies_cli
from monogram.cli import review as review_cli
from monogram.cli import segments as segments_cli
from monogram.cli.common import advance, console, new_app, print_json, progress_bar, workspace
from monogram.core.errors import ValidationError
from monogram.core.settings import Settings
from monogram.workspace import Shop, Workspace, require_project, write_project_files

app = new_app(
    "Monogram: a generative AI personalization engine (CDP, guarded generation, learning)."
)
app.add_typer(keys.app, name="keys")
app.add_typer(ingest.app, name="ingest")
app.add_typer(catalog.app, name="catalog")
app.add_typer(identity.app, name="identity")
app.add_typer(profiles.app, name="profiles")
app.add_typer(segments_cli.app, name="segments")
app.add_typer(privacy.app, name="privacy")
app.add_typer(consent_cli.app, name="consent")
app.add_typer(generate_cli.placements_app, name="placements")
app.command("generate")(generate_cli.generate)
app.command("preview")(generate_cli.preview)
app.command("check")(generate_cli.check)
app.add_typer(review_cli.app, name="review")
app.command("explain")(review_cli.explain)
app.add_typer(campaign_cli.app, name="campaign")
app.command("send-test")(campaign_cli.send_test)
app.add_typer(campaign_cli.suppress_app, name="suppress")
app.add_typer(learn_cli.app, name="learn")
app.add_typer(models_cli.app, name="models")
app.add_typer(replies_cli.app, name="replies")


@app.command("init")
def init(
    directory: Path = typer.Argument(
        None, help="folder for the workspace (default: MONOGRAM_HOME, else ./.monogram)"
    ),
    brand: str = typer.Option(None, "--brand", help="your shop's name, e.g. 'Bean & Leaf'"),
    sender: str = typer.Option(
        None, "--sender", help="who email comes from: 'Bean & Leaf <hello@beanandleaf.example>'"
    ),
    website: str = typer.Option(None, "--website", help="e.g. https://beanandleaf.example"),
    description: str = typer.Option(
        None, "--description", help="one sentence: what the shop sells and to whom"
    ),
    tone: list[str] = typer.Option([], "--tone", help="a tone rule in plain words (repeat)"),
    force: bool = typer.Option(False, "--force", help="overwrite existing files"),
) -> None:
    """Create a workspace for your shop: brand kit, placements, segments, a first campaign.

    Asks for the brand name, sender, website and description when they are not given as
    options (and stdin is a terminal). The brand kit (brand.yaml) holds the copy a marketer
    edits; placements refer to it.
    """
    target = directory or Settings().home
    answers = {"brand": brand, "sender": sender, "website": website, "description": description}
    questions = {
        "brand": "Your shop's name",
        "sender": "Who email comes from (Name <address>)",
        "website": "Your website (optional)",
        "description": "What you sell, and to whom, in one sentence",
    }
    missing = [k for k in ("brand", "sender") if not answers[k]]
    if missing and not sys.stdin.isatty():
        flags = ", ".join(f"--{k}" for k in missing)
        raise ValidationError(f"monogram init needs {flags} (or run it in a terminal to be asked)")
    for key, question in questions.items():
        if answers[key] is None and sys.stdin.isatty():
            answers[key] = typer.prompt(question, default="" if key == "website" else None)
    shop = Shop(
        name=str(answers["brand"]).strip(),
        sender=_checked_sender(str(answers["sender"])),
        website=str(answers["website"] or "").strip(),
        description=str(answers["description"] or "").strip(),
        tone=tuple(tone),
    )
    written = write_project_files(target, overwrite=force, shop=shop)
    for path in written:
        console.print(f"wrote {path}", markup=False)
    if not written:
        console.print(f"{target} already has a project (use --force to overwrite)", markup=False)
    console.print(
        f"next: MONOGRAM_HOME={target} monogram catalog import products.csv, then "
        "monogram ingest events.jsonl (see docs/cli.md)",
        markup=False,
    )


def _checked_sender(sender: str) -> str:
    from email.utils import parseaddr

    name, address = parseaddr(sender)
    if "@" not in address or not name:
        raise ValidationError(
            f"--sender {sender!r}: write a name and an address, e.g. 'Bean & Leaf "
            "<hello@beanandleaf.example>'"
        )
    return sender.strip()


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="server processes (default: one per CPU core on PostgreSQL, 1 on SQLite)",
    ),
) -> None:
    """Run the HTTP API (Segment-compatible ingestion, profiles, context).

    GET /health answers 200 when ready (503 while the database is unavailable).
    """
    import logging
    import os

    import uvicorn

    from monogram.api.app import RedactIdentifiers, create_app

    settings = Settings()
    require_project(settings)  # before the server starts: not an empty workspace by accident
    logging.getLogger("uvicorn.access").addFilter(RedactIdentifiers())
    sqlite = settings.resolved_database_url.startswith("sqlite")
    count = workers or (1 if sqlite else max(1, os.cpu_count() or 1))
    if count == 1:
        uvicorn.run(create_app(), host=host, port=port, log_level="info")
        return
    # Each worker process opens the workspace itself (the factory runs in the worker).
    uvicorn.run(
        "monogram.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=count,
        log_level="info",
    )


@app.command("validate")
def validate(json_out: bool = typer.Option(False, "--json")) -> None:
    """Check every project file at once (monogram.yaml, brand kit, segments, placements,
    campaigns), naming each problem by its file; exit status 1 when there is one."""
    from monogram.checkup import validate_project

    settings = Settings()
    require_project(settings)
    report = validate_project(settings.home)
    if json_out:
        print_json({"ok": report.ok, "problems": report.problems, "counts": report.counts})
    else:
        for problem in report.problems:
            console.print(f"[red]problem:[/] {escape(problem)}", highlight=False, soft_wrap=True)
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        console.print(("ok: " if report.ok else "checked: ") + counts)
    if not report.ok:
        raise typer.Exit(1)


@app.command("stats")
def stats(json_out: bool = typer.Option(False, "--json")) -> None:
    """Counts: events, profiles, identifiers, quarantined events, products, merges."""
    with workspace() as ws:
        body = demo_mod.stats(ws)
    if json_out:
        print_json(body)
    else:
        for key, value in body.items():
            console.print(f"{key:<16} {value:>10,}")


@app.command("demo")
def demo(
    customers: int = typer.Option(2000, "--customers", help="how many sample customers"),
    seed: int = typer.Option(7, "--seed"),
) -> None:
    """Generate sample data, ingest it like users do, and show profiles and contexts."""
    with workspace(create=True) as ws:
        console.print(f"[bold]Monogram demo[/] in {ws.home.resolve()} ({Settings().env})")
        data = demo_mod.write_samples(ws, seed=seed, customers=customers)
        console.print(
            f"wrote {data.products} products and {data.events:,} events "
            f"to {data.events_file.parent}"
        )
        started = time.perf_counter()
        with progress_bar() as bar:
            task = bar.add_task("ingesting events", total=data.events_file.stat().st_size, rate="0")
            seen = [0]

            def advance(count: int, done: int) -> None:
                seen[0] += count
                bar.update(
                    task,
                    completed=done,
                    rate=f"{seen[0] / max(bar.tasks[task].elapsed or 1e-9, 1e-9):,.0f}",
                )

            imported, report = demo_mod.load_samples(ws, data, progress=advance)
        seconds = time.perf_counter() - started
        console.print(
            f"catalogue: {imported} products; events: {report.accepted:,} accepted, "
            f"{report.duplicates:,} duplicate, {len(report.rejected):,} rejected "
            f"({report.accepted / seconds:,.0f} events/s)"
        )
        for reason, count in list(report.reasons().items())[:3]:
            console.print(f"  rejected {count}: {reason}")
        counts = demo_mod.stats(ws)
        console.print(
            f"{counts['profiles']:,} profiles from {counts['identifiers']:,} identifiers; "
            f"{counts['merges']:,} merges, {counts['refused_merges']:,} refused by guards"
        )
        _show_segments(ws)
        _show_examples(ws)
        _show_generation(ws, ["user_id:cust-00001", "user_id:cust-00004", "user_id:cust-00007"])
        _show_creative(ws, "user_id:cust-00001")
        _run_demo_campaign(ws)
        _show_learning(ws)
    console.print(
        "\nnext: `monogram profiles show user_id:cust-00001`, `monogram serve`, "
        "`monogram segments list`"
    )


def _show_segments(ws: Workspace) -> None:
    with ws.store.read() as conn:
        console.print("[bold]segments[/]")
        for segment in ws.segments().values():
            console.print(
                f"  {segment.name:<24} {segments.count_members(conn, segment, ws.config):>6,}  "
                f"{segment.description}"
            )


def _show_examples(ws: Workspace) -> None:
    with ws.store.read() as conn:
        for ref in ("user_id:cust-00001", "user_id:cust-00002"):
            profile_id = context.resolve(conn, ref)
            view = context.profile_view(conn, ws.config, ws.segments(), profile_id)
            console.print(f"\n[bold]example profile[/] {ref}")
            profiles._print_profile(view)
            built = context.customer_context(
                conn, ws.config, ws.segments(), profile_id, "email_marketing"
            )
            picks = ", ".join(f"{p.name} ({p.price:.2f})" for p in built.recommended_products[:3])
            if built.consented:
                console.print(f"  email context: {len(built.fields)} fields; recommends {picks}")
            else:
                console.print(
                    f"  email context withheld: missing consent {', '.join(built.missing_consent)}"
                )


def _show_generation(ws: Workspace, refs: list[str]) -> None:
    """Write the email placement for a few customers with the configured (bundled) model."""
    from monogram.pipeline import draft_for

    console.print(f"\n[bold]generated email[/] (model: {ws.config.llm.backend})")
    counts = {"generated": 0, "fallback": 0}
    started = time.perf_counter()
    for ref in refs:
        draft = draft_for(ws, ref, "email", strategy="warm", surface="demo")
        console.print(f"[bold]{ref}[/]")
        for element in draft.elements.values():
            if element.source == "locked":
                continue
            counts[element.source] += 1
            note = f"  [dim]({element.reason})[/]" if element.reason else ""
            console.print(f"  {element.name:<10} \\[{element.source}] ", end="")
            console.print(element.text, markup=False, end="")
            console.print(note)
    total = sum(counts.values())
    console.print(
        f"{counts['generated']} of {total} elements generated, {counts['fallback']} fell back "
        f"to approved copy, in {time.perf_counter() - started:.1f} s. "
        "The bundled model is tiny; the quality gate decides what may be sent."
    )


def _show_creative(ws: Workspace, ref: str) -> None:
    """Render the ad placement's creative for one customer and write its files to look at."""
    from monogram.content.images import ImageStore
    from monogram.pipeline import draft_for

    draft = draft_for(ws, ref, "ad", strategy="bold", surface="demo")
    creative = draft.elements["creative"]
    folder = ws.home / "creatives"
    folder.mkdir(exist_ok=True)
    written = []
    for image in (creative.media or {}).get("images", []):
        path = folder / f"ad-{ref.split(':')[-1]}-{image['size']}.{image['format']}"
        path.write_bytes(ImageStore(ws.store).read(image["name"]))
        written.append(str(path))
    console.print(f"\n[bold]ad creative[/] for {ref} \\[{creative.source}]: ", end="")
    console.print(creative.text, markup=False)
    if creative.reason:
        console.print(f"  [dim]{escape(creative.reason)}[/]")
    console.print("  wrote " + ", ".join(written))


def _run_demo_campaign(ws: Workspace, customers: int = 8) -> None:
    """Send the demo campaign (to a file export unless campaigns/demo.yaml says otherwise)."""
    import os

    from monogram.campaigns import load_campaign, sender_for
    from monogram.campaigns.run import run_campaign
    from monogram.delivery.channels import channel_from_url

    spec = load_campaign(ws.home / "campaigns" / "demo.yaml")
    url = spec.channel.format(home=ws.home.resolve(), campaign=spec.name)
    channel = channel_from_url(
        url,
        sender=sender_for(spec, ws.brand()),
        webhook_secret=os.environ.get("MONOGRAM_WEBHOOK_SECRET"),
    )
    console.print(f"\n[bold]demo campaign[/] ({customers} customers of {spec.audience}) to {url}")
    summary = run_campaign(
        ws,
        spec,
        channel,
        limit=customers,
        on_warning=lambda text: console.print(f"  [yellow]warning:[/] {escape(text)}"),
    )
    console.print(
        "  "
        + ", ".join(f"{k} {v}" for k, v in summary.outcomes.most_common())
        + f" in {summary.seconds:.1f} s"
    )
    for reason, count in summary.reasons.most_common(4):
        console.print(f"  [dim]{count:>4}  {reason}[/]")
    console.print(
        "  `monogram campaign status demo` shows it; "
        "`monogram review list` what waits for a person."
    )


def _show_learning(ws: Workspace) -> None:
    """Three simulated weeks of campaigns on a copy of the demo workspace, against customers
    whose preferences per lifecycle stage are known: what the policy learned."""
    from monogram.campaigns.rehearsal import rehearse

    console.print(
        "\n[bold]learning[/]: 3 simulated weeks of campaigns (2 a week) on a copy of this "
        "workspace; customers respond with known preferences per lifecycle stage"
    )
    with progress_bar(unit="campaigns") as bar:
        task = bar.add_task("rehearsing", total=6, rate="0")
        result = rehearse(ws, weeks=3, per_week=2, progress=advance(bar, task))
    learn_cli.show_rehearsal(result)
    console.print(
        "  `monogram learn rehearse` runs it again; `monogram learn simulate` at scale; "
        "`monogram learn update` learns from real outcomes."
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
