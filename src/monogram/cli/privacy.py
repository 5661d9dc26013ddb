"""`monogram privacy export|erase`."""

from __future__ import annotations

from pathlib import Path

import typer

from monogram.cdp import privacy
from monogram.cli.common import console, new_app, print_json, workspace

app = new_app("Data-subject requests: export and erase.")


@app.command("export")
def export(
    ref: str = typer.Argument(..., help="TYPE:VALUE"),
    output: Path = typer.Option(None, "--output", "-o", help="write JSON here instead of stdout"),
) -> None:
    """Everything held about one person, as JSON."""
    with workspace() as ws:
        body = privacy.export(ws.store, ws.config, ws.segments(), ref)
    if output:
        import orjson

        output.write_bytes(orjson.dumps(body, default=str, option=orjson.OPT_INDENT_2))
        console.print(f"wrote {output}")
    else:
        print_json(body)


@app.command("erase")
def erase(
    ref: str = typer.Argument(..., help="TYPE:VALUE"),
    yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Erase one person: events, identifiers, traits and everything derived from them."""
    if not yes and not typer.confirm(f"erase everything about {ref}?"):
        raise typer.Exit(1)
    with workspace() as ws:
        counts = privacy.erase(ws.store, ref)
    if json_out:
        print_json(counts)
    else:
        console.print("erased: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if counts.get("decisions"):
            console.print(
                "policies learned from their decisions too: `monogram learn rebuild` relearns "
                "them from the decisions left"
            )
