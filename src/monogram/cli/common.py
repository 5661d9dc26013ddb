"""What every CLI module shares: the workspace, JSON output, progress bars, error handling."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.exc import InterfaceError, OperationalError
from typer.core import TyperGroup

from monogram.core.errors import MonogramError
from monogram.core.settings import Settings
from monogram.workspace import Workspace, open_workspace, require_project

console = Console()
err_console = Console(stderr=True)


class Group(TyperGroup):
    """Turns Monogram's errors into one line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MonogramError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            ctx.exit(1)
        except (OperationalError, InterfaceError) as exc:
            first = str(exc.orig or exc).strip().splitlines()[0][:300]
            typer.echo(
                f"error: the database is unavailable ({first}); what was committed is kept, "
                "and running the command again skips it (events are deduplicated by messageId)",
                err=True,
            )
            ctx.exit(1)


def new_app(help_text: str) -> typer.Typer:
    return typer.Typer(
        cls=Group,
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


@contextmanager
def workspace(*, create: bool = False) -> Iterator[Workspace]:
    """The workspace MONOGRAM_HOME (default ./.monogram) names; refused when there is none
    there, unless ``create`` (``monogram demo``)."""
    settings = Settings()
    if not create:
        require_project(settings)
    ws = open_workspace(settings)
    try:
        yield ws
    finally:
        for problems in ws.problems.values():
            for problem in problems:
                err_console.print(f"[yellow]warning:[/] skipped {escape(problem)}", soft_wrap=True)
        ws.close()


def print_readable(value: Any) -> None:
    """Nested data for people: YAML-like, with dates as ISO text and no Python reprs
    (``True``, ``None``, ``datetime.datetime(...)`` never reach a user)."""
    plain = orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))
    text = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=100)
    console.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    sys.stdout.write(
        orjson.dumps(
            value, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
        ).decode()
        + "\n"
    )


def progress_bar(*, unit: str = "events", quiet: bool = False) -> Progress:
    """A Rich progress bar with count, rate and ETA (silent when stdout is not for humans)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} " + unit + "/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )


def advance(bar: Progress, task: TaskID) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback that moves ``task`` and shows its rate."""

    def callback(done: int, _total: int) -> None:
        elapsed = max(bar.tasks[task].elapsed or 1e-9, 1e-9)
        bar.update(task, completed=done, rate=f"{done / elapsed:,.1f}")

    return callback
