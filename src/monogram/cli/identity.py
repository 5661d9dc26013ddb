"""`monogram identity rebuild|merges|unmerge`."""

from __future__ import annotations

import time
from typing import Any

import typer

from monogram.cdp import context, identity, unify
from monogram.cli.common import console, new_app, print_json, progress_bar, workspace

app = new_app("The identity graph: merges, refusals, rebuild and unmerge.")


@app.command("rebuild")
def rebuild(json_out: bool = typer.Option(False, "--json")) -> None:
    """Recompute the whole graph and every profile from the event log."""
    with workspace() as ws:
        with ws.store.read() as conn:
            total = unify.event_count(conn)
        started = time.perf_counter()
        with progress_bar(quiet=json_out) as bar:
            task = bar.add_task("replaying the log", total=total, rate="0")

            def advance(n: int) -> None:
                bar.advance(task, n)
                done = bar.tasks[task].completed
                bar.update(task, rate=f"{done / max(bar.tasks[task].elapsed or 1e-9, 1e-9):,.0f}")

            report = unify.rebuild_identities(ws.store, ws.config, progress=advance)
    body = {
        "events": report.events,
        "profiles_before": report.profiles_before,
        "profiles_after": report.profiles_after,
        "merges": report.merges,
        "refusals": report.refusals,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if json_out:
        print_json(body)
    else:
        console.print(
            f"replayed {report.events:,} events: {report.profiles_after:,} profiles "
            f"(was {report.profiles_before:,}), {report.merges:,} merges, "
            f"{report.refusals:,} refused merges, in {body['seconds']} s"
        )


@app.command("merges")
def merges(
    ref: str = typer.Argument(..., help="TYPE:VALUE"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Show the merges (and refused merges) behind one profile."""
    with workspace() as ws, ws.store.read() as conn:
        profile_id = context.resolve(conn, ref)
        body: dict[str, Any] = {
            "profile_id": profile_id,
            "merges": identity.merges_for(conn, profile_id),
            "refused": identity.refusals_for(conn, profile_id),
        }
    if json_out:
        print_json(body)
        return
    console.print(f"profile {profile_id}")
    for m in body["merges"]:
        console.print(
            f"  merge {m['merge_id']}: {', '.join(m['loser_identifiers'])} -> "
            f"{', '.join(m['winner_identifiers'])}  ({m['reason']})"
        )
    for r in body["refused"]:
        console.print(f"  refused: {r['identifier']} + {r['other_identifier']}: {r['reason']}")


@app.command("unmerge")
def unmerge(
    merge_id: int = typer.Argument(..., help="the merge id (see `monogram identity merges`)"),
    reason: str = typer.Option("marked wrong by an operator", "--reason"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Split a wrong merge; its two sides stay apart and events are re-attributed."""
    with workspace() as ws:
        holders = unify.unmerge(ws.store, ws.config, merge_id, reason)
    if json_out:
        print_json({"merge_id": merge_id, "profiles": holders})
    else:
        console.print(f"split merge {merge_id}; the events now sit on: {', '.join(holders)}")
