"""`monogram identity rebuild|merges|unmerge|match|suggestions|accept|reject`."""

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


@app.command("match")
def match(
    retrain: bool = typer.Option(False, "--retrain", help="estimate the model again first"),
    full: bool = typer.Option(
        False, "--full", help="score every profile (default: those changed since the last run)"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="score and count; change nothing"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Find profiles that are one person though no identifier says so (Splink): merge the
    likely ones, suggest the doubtful ones to a person."""
    from monogram.cdp import resolve

    waiting = console.status("matching profiles (training the model the first time)")
    with workspace() as ws, waiting:
        report = resolve.run(
            ws.store, ws.config, retrain=retrain, incremental=not full, dry_run=dry_run
        )
    body = report.as_dict()
    if json_out:
        print_json(body)
        return
    settings = ws.config.identity.matching
    console.print(
        f"{report.mode} match of {report.records:,} profiles with model v{report.model_version}"
        f"{' (trained now)' if report.trained else ''}: {report.scored:,} candidate pairs at or "
        f"above {settings.review}; merged {report.merged:,} (at or above {settings.auto_merge}), "
        f"suggested {report.suggested:,}, refused by a merge guard {report.refused:,}, hard "
        f"identifiers differ {report.conflicts:,}, decided before {report.known:,}; "
        f"{report.clusters:,} clusters (largest {report.largest_cluster}); {report.seconds} s"
        + (" [dry run: nothing changed]" if dry_run else "")
    )
    if report.suggested and not dry_run:
        console.print("review them: `monogram identity suggestions`")


@app.command("suggestions")
def list_suggestions(
    status: str = typer.Option("suggested", "--status", help="suggested, merged, rejected, ..."),
    limit: int = typer.Option(50, "--limit"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Pairs of profiles that may be one person, waiting for a decision."""
    from monogram.cdp import resolve

    with workspace() as ws, ws.store.read() as conn:
        found = resolve.suggestions(conn, status, limit)
    if json_out:
        print_json(found)
        return
    if not found:
        console.print(f"no pairs with status {status}")
    for item in found:
        console.print(
            f"[bold]{item['id']}[/] {item['left']['key']} + {item['right']['key']}  "
            f"p={item['probability']:.4f}  strongest: {item['evidence'].get('strongest', '')}"
            + (f"  ({item['note']})" if item["note"] else ""),
            markup=True,
            highlight=False,
        )


def _decide(pair_id: int, action: str, by: str, note: str, json_out: bool) -> None:
    from monogram.cdp import resolve

    with workspace() as ws:
        decided = resolve.decide(ws.store, ws.config, pair_id, action, by, note)
    if json_out:
        print_json(decided)
    else:
        console.print(f"pair {pair_id}: {decided['status']}")


@app.command("accept")
def accept(
    pair_id: int = typer.Argument(..., help="a suggestion's id"),
    by: str = typer.Option("operator", "--by"),
    note: str = typer.Option("", "--note"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Merge a suggested pair (reversible with `monogram identity unmerge`)."""
    _decide(pair_id, "accept", by, note, json_out)


@app.command("reject")
def reject(
    pair_id: int = typer.Argument(..., help="a suggestion's id"),
    by: str = typer.Option("operator", "--by"),
    note: str = typer.Option("", "--note"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Keep a suggested pair apart; it is never suggested again."""
    _decide(pair_id, "reject", by, note, json_out)
