"""`monogram consent show|set`: a person's consent, by the names the project defines."""

from __future__ import annotations

import typer
from rich.table import Table

from monogram.cdp import context, privacy, profiles
from monogram.cli.common import console, new_app, print_json, workspace
from monogram.core.errors import ValidationError

app = new_app("Consent: what each customer allows, by the names monogram.yaml defines.")

YES = {"yes", "true", "1", "granted", "on"}
NO = {"no", "false", "0", "withdrawn", "off"}


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="TYPE:VALUE, e.g. email:maya@example.com"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Each consent the project defines: granted, withdrawn or never given, with when and how."""
    with workspace() as ws, ws.store.read() as conn:
        view = profiles.consent_view(context.load_state(conn, context.resolve(conn, ref)))
        names = list(ws.config.consent_purposes)
    if json_out:
        print_json({name: view.get(name) for name in names})
        return
    table = Table("consent", "state", "since", "source", title=ref, title_justify="left")
    for name in names:
        entry = view.get(name)
        if entry is None:
            table.add_row(name, "[dim]never given[/]", "-", "-")
            continue
        state = "[green]granted[/]" if entry.get("granted") else "[red]withdrawn[/]"
        table.add_row(name, state, str(entry.get("at") or "-"), str(entry.get("source") or "-"))
    console.print(table)


@app.command("set")
def set_consent(
    ref: str = typer.Argument(..., help="TYPE:VALUE, e.g. email:maya@example.com"),
    changes: list[str] = typer.Argument(
        ..., help="NAME=yes|no, e.g. email_marketing=no ai_generation=yes"
    ),
    source: str = typer.Option("cli", "--source", help="recorded with the change"),
) -> None:
    """Record consent decisions (as a Consent Updated event, so rebuilds keep them)."""
    consent: dict[str, bool] = {}
    for change in changes:
        name, sep, value = change.partition("=")
        if not sep or value.strip().lower() not in YES | NO:
            raise ValidationError(f"{change!r}: write NAME=yes or NAME=no")
        consent[name.strip()] = value.strip().lower() in YES
    with workspace() as ws:
        after = privacy.record_consent(ws.store, ws.config, ref, consent, source)
    for name in consent:
        state = "granted" if after.get(name, {}).get("granted") else "withdrawn"
        console.print(f"{ref}: {name} {state}", markup=False)
