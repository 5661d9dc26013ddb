"""`monogram ingest FILE`, `ingest quarantine`, `ingest replay`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from monogram.cdp import files, ingest, unify
from monogram.cdp.ingest import IngestReport
from monogram.cli.common import Group, console, print_json, progress_bar, workspace
from monogram.core.errors import ValidationError


class IngestGroup(Group):
    """``monogram ingest FILE`` runs the hidden ``file`` command; named subcommands win."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args.insert(0, "file")
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=IngestGroup,
    help="Import events from files: `monogram ingest FILE [--check] [--json]` (JSONL, one "
    "Segment event a line, or CSV with dotted headers such as traits.email); `ingest "
    "quarantine` and `ingest replay` inspect and replay rejected events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("file", hidden=True)
def ingest_file(
    path: Path = typer.Argument(..., help="JSONL (one Segment event per line) or CSV"),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    check: bool = typer.Option(
        False, "--check", help="report what the import would accept and reject; write nothing"
    ),
    as_kind: str = typer.Option(
        "events", "--as", help="events (default), or identify: one customer record a row"
    ),
    id_column: str = typer.Option("id", "--id-column", help="--as identify: the record id"),
    id_type: str = typer.Option(
        "crm_id", "--id-type", help="--as identify: the id's identifier type (crm_id, user_id, ...)"
    ),
    mapping: Path = typer.Option(
        None, "--map", help="--as identify: a YAML file of column: trait_name (and skip: [...])"
    ),
) -> None:
    """Import events from FILE (streamed, resumable: a rerun skips what is already in). With
    ``--as identify``, each row is a customer record (a CRM export) and becomes an identify
    event carrying the record's id and its columns as traits."""
    if not path.exists():
        raise ValidationError(f"{path}: no such file")
    if as_kind not in ("events", "identify"):
        raise ValidationError(f"--as {as_kind!r}: use events or identify")
    if as_kind == "identify":
        _ingest_records(
            path, files.RecordMapping(id_column, id_type, **_mapping(mapping)), json_out, quiet
        )
        return
    if check:
        with workspace():  # the file is checked for this workspace, which must exist
            report = files.check_file(path)
        show_report(report, json_out)
        return
    with workspace() as ws, progress_bar(quiet=quiet or json_out) as bar:
        task = bar.add_task(f"ingesting {path.name}", total=path.stat().st_size, rate="0")
        seen = [0]

        def advance(count: int, done: int) -> None:
            seen[0] += count
            elapsed = bar.tasks[task].elapsed or 1e-9
            bar.update(task, completed=done, rate=f"{seen[0] / elapsed:,.0f}")

        report = files.ingest_file(ws.store, ws.config, path, progress=advance)
    show_report(report, json_out)


def _mapping(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError(f"--map {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"--map {path}: expected column: trait_name lines")
    skip = data.pop("skip", []) or []
    if not isinstance(skip, list) or not all(isinstance(v, str) for v in data.values()):
        raise ValidationError(f"--map {path}: column: trait_name lines and skip: [columns]")
    return {"rename": {str(k): v for k, v in data.items()}, "skip": {str(c) for c in skip}}


def _ingest_records(path: Path, mapping: files.RecordMapping, json_out: bool, quiet: bool) -> None:
    with workspace() as ws, progress_bar(quiet=quiet or json_out) as bar:
        task = bar.add_task(
            f"importing records from {path.name}", total=path.stat().st_size, rate="0"
        )
        seen = [0]

        def advance(count: int, done: int) -> None:
            seen[0] += count
            elapsed = bar.tasks[task].elapsed or 1e-9
            bar.update(task, completed=done, rate=f"{seen[0] / elapsed:,.0f}")

        report = files.ingest_records(ws.store, ws.config, path, mapping, progress=advance)
    show_report(report, json_out)


def show_report(report: IngestReport, json_out: bool) -> None:
    if json_out:
        body: dict[str, Any] = report.as_dict()
        body["reasons"] = report.reasons()
        body["errors"] = body["errors"][:100]
        print_json(body)
        return
    console.print(
        f"accepted [green]{report.accepted:,}[/], duplicate {report.duplicates:,}, "
        f"rejected [red]{len(report.rejected):,}[/]"
    )
    for reason, count in list(report.reasons().items())[:10]:
        console.print(f"  {count:>6,}  {reason}")
    for rejection in report.rejected[:5]:
        detail = "; ".join(str(e) for e in rejection.errors)
        console.print(f"  line/index {rejection.index}: {detail}")
    if report.rejected:
        console.print("rejected events are kept: `monogram ingest quarantine` lists them.")


@app.command("quarantine")
def list_quarantine(
    limit: int = typer.Option(50, "--limit"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List quarantined events with the reasons they were refused."""
    with workspace() as ws, ws.store.read() as conn:
        rows = ingest.quarantined(conn, limit=limit)
    if json_out:
        print_json(rows)
        return
    for row in rows:
        reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in row["errors"])
        console.print(f"[bold]{row['id']}[/] {row['source']} {row['message_id'] or '-'}  {reasons}")
        console.print(f"    {row['payload'][:160]}", markup=False)


@app.command("replay")
def replay(
    ids: list[int] = typer.Argument(None, help="quarantine ids (default: all)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Retry quarantined events; those that now pass leave the quarantine."""
    with workspace() as ws:
        report = unify.replay_quarantine(ws.store, ws.config, ids or None)
    show_report(report, json_out)
