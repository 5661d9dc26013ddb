"""`monogram segments list|show|members`."""

from __future__ import annotations

import typer

from monogram.cdp import segments
from monogram.cli.common import console, new_app, print_json, workspace

app = new_app("Audience segments defined in the workspace's segments/*.yaml.")


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json")) -> None:
    """List segments with their member counts."""
    with workspace() as ws, ws.store.read() as conn:
        rows = [
            {
                "name": s.name,
                "description": s.description,
                "members": segments.count_members(conn, s, ws.config),
            }
            for s in ws.segments().values()
        ]
    if json_out:
        print_json(rows)
        return
    for row in rows:
        console.print(f"[bold]{row['name']:<24}[/] {row['members']:>7,}  {row['description']}")


@app.command("show")
def show(name: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Show a segment's rule."""
    with workspace() as ws:
        segment = segments.get_segment(ws.segments(), name)
    body = segment.model_dump(by_alias=True, exclude_defaults=True)
    if json_out:
        print_json(body)
    else:
        console.print(body)


@app.command("members")
def members(
    name: str,
    limit: int = typer.Option(None, "--limit"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Profile ids in a segment (evaluated in the database)."""
    with workspace() as ws, ws.store.read() as conn:
        found = segments.members(
            conn, segments.get_segment(ws.segments(), name), ws.config, limit=limit
        )
    if json_out:
        print_json(found)
    else:
        for pid in found:
            console.print(pid)
