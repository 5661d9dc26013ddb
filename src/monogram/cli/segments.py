"""`monogram segments list|show|members`."""

from __future__ import annotations

import typer

from monogram.cdp import identity, segments
from monogram.cli.common import console, new_app, print_json, print_readable, workspace

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
        print_readable(body)


@app.command("members")
def members(
    name: str,
    limit: int = typer.Option(None, "--limit"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """A segment's members (evaluated in the database): profile ids with their user id and
    email; ``--json`` prints the profile ids."""
    with workspace() as ws, ws.store.read() as conn:
        found = segments.members(
            conn, segments.get_segment(ws.segments(), name), ws.config, limit=limit
        )
        shown = {pid: identity.identifiers_for(conn, pid) for pid in ([] if json_out else found)}
    if json_out:
        print_json(found)
        return
    for pid in found:
        keys = [f"{k['type']}:{k['value']}" for k in shown[pid] if k["type"] != "anonymous_id"]
        console.print(f"{pid}  {'  '.join(keys[:3]) or '(anonymous)'}", markup=False)
    console.print(f"{len(found)} members", style="dim")
