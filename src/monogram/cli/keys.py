"""`monogram keys`: create, list and revoke API keys."""

from __future__ import annotations

import typer

from monogram import keys as api_keys
from monogram.cli.common import console, new_app, print_json, workspace

app = new_app("API keys: Basic-auth user name for the HTTP API.")


@app.command("create")
def create(
    scope: str = typer.Option(..., "--scope", help="write (send events), read, or admin"),
    name: str = typer.Option("", "--name", help="a label to recognise the key by"),
) -> None:
    """Create a key. The key is printed once, alone on the last line."""
    with workspace() as ws:
        record, secret = api_keys.create_key(ws.store, scope, name)
    typer.echo(
        f"created {record.scope} key {record.id} ({record.name}); "
        "store it now, it is not shown again:",
        err=True,
    )
    typer.echo(secret)


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json")) -> None:
    """List keys (prefixes only; secrets are never stored)."""
    with workspace() as ws:
        found = api_keys.list_keys(ws.store)
    if json_out:
        print_json([k.__dict__ for k in found])
        return
    for k in found:
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        console.print(f"{k.id}  {k.scope:<6} {k.prefix}…  {k.name}  ({state})")


@app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke a key by id; requests with it fail from now on."""
    with workspace() as ws:
        api_keys.revoke_key(ws.store, key_id)
    typer.echo(f"revoked {key_id}")
