"""`monogram profiles show|list|context|rebuild`."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import func, select

from monogram.cdp import context, identity, segments, unify
from monogram.cli.common import (
    console,
    new_app,
    print_json,
    print_readable,
    progress_bar,
    workspace,
)
from monogram.store.tables import profiles as profiles_table

app = new_app("Unified customer profiles.")


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="TYPE:VALUE, e.g. user_id:42 or email:a@b.com"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Show one unified profile: identifiers, traits, computed traits, segments, consent."""
    with workspace() as ws, ws.store.read() as conn:
        view = context.profile_view(conn, ws.config, ws.segments(), context.resolve(conn, ref))
    if json_out:
        print_json(view)
        return
    _print_profile(view)


def _print_profile(view: dict[str, Any]) -> None:
    c = view["computed"]
    console.print(f"[bold]{view['profile_id']}[/]  stage [cyan]{view['lifecycle_stage']}[/]")
    console.print("  ids: " + ", ".join(f"{i['type']}:{i['value']}" for i in view["identifiers"]))
    console.print(
        f"  orders {c['order_count']}, lifetime value {c['lifetime_value']:.2f}, "
        f"last order {c['last_order_at'] or '-'}, rfm {(c['rfm'] or {}).get('score', '-')}"
    )
    console.print(
        f"  favourites: {', '.join(c['favorite_categories']) or '-'}; "
        f"brands {', '.join(c['favorite_brands']) or '-'}"
    )
    console.print(f"  segments: {', '.join(view['segments']) or '-'}")
    consent = ", ".join(
        f"{p}={'yes' if e['granted'] else 'no'}" for p, e in view["consent"].items()
    )
    console.print(f"  consent: {consent or '-'}")
    if view["zero_party"]:
        console.print(f"  told us: {view['zero_party']}")


@app.command("list")
def list_(
    segment: str = typer.Option(None, "--segment", help="only members of this segment"),
    limit: int = typer.Option(20, "--limit"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List profiles (optionally one segment's members) with their identifiers."""
    with workspace() as ws, ws.store.read() as conn:
        if segment:
            chosen = segments.get_segment(ws.segments(), segment)
            ids = segments.members(conn, chosen, ws.config, limit=limit)
        else:
            ids = list(
                conn.execute(
                    select(profiles_table.c.profile_id)
                    .order_by(profiles_table.c.profile_id)
                    .limit(limit)
                ).scalars()
            )
        rows: list[dict[str, Any]] = [
            {
                "profile_id": pid,
                "identifiers": [
                    {"type": i["type"], "value": i["value"]}
                    for i in identity.identifiers_for(conn, pid)
                ],
            }
            for pid in ids
        ]
    if json_out:
        print_json(rows)
        return
    for row in rows:
        console.print(
            f"{row['profile_id']}  "
            + ", ".join(f"{i['type']}:{i['value']}" for i in row["identifiers"])
        )


@app.command("context")
def context_(
    ref: str = typer.Argument(..., help="TYPE:VALUE"),
    purpose: str = typer.Option(..., "--purpose", help="a purpose from monogram.yaml"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """The consent-scoped customer context one purpose may use (what a prompt will see)."""
    with workspace() as ws, ws.store.read() as conn:
        built = context.customer_context(
            conn, ws.config, ws.segments(), context.resolve(conn, ref), purpose
        )
    body = built.model_dump(exclude_none=True)
    if json_out:
        print_json(body)
    else:
        print_readable(body)


@app.command("rebuild")
def rebuild(json_out: bool = typer.Option(False, "--json")) -> None:
    """Recompute every profile from the event log (identities unchanged)."""
    with workspace() as ws:
        with ws.store.read() as conn:
            total = int(conn.execute(select(func.count()).select_from(profiles_table)).scalar_one())
        with progress_bar(unit="profiles", quiet=json_out) as bar:
            task = bar.add_task("rebuilding profiles", total=total, rate="-")
            written = unify.rebuild_profiles(
                ws.store, ws.config, progress=lambda n: bar.advance(task, n)
            )
    if json_out:
        print_json({"profiles": written})
    else:
        console.print(f"rebuilt {written:,} profiles from the log")
