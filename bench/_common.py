"""Shared set-up for the benchmark scripts (not tests: they print figures)."""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path

from monogram.core.settings import Settings
from monogram.workspace import Workspace, open_workspace


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.processor() or platform.machine()}, {cpus} cores, Python {platform.python_version()}"


def fresh_workspace(url: str | None = None) -> Workspace:
    """A new workspace in a temporary folder (SQLite unless ``url`` names another database)."""
    home = Path(tempfile.mkdtemp(prefix="monogram-bench-"))
    return open_workspace(
        Settings(home=home, database_url=url or os.environ.get("BENCH_DATABASE_URL"))
    )
