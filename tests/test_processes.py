"""The processes executor (worker processes on this machine) on the SQLite file the tests use
by default: the same outcomes as the local executor, and a worker killed with SIGKILL
mid-run (even inside a write) leaves the database usable and no duplicate message."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from monogram import demo
from monogram.campaigns import Campaign
from monogram.campaigns.executors import ProcessExecutor, make_executor
from monogram.campaigns.run import run_campaign
from monogram.delivery.channels.file import FileChannel
from tests.executors_common import (
    assert_each_sent_once,
    assert_same_as_local,
    fake_workspace,
    kill_a_worker_mid_run,
)


def _workers_of(parent: int) -> list[int]:
    """The pool's worker processes: children of ``parent`` started by multiprocessing's spawn
    (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def test_processes_give_the_outcomes_local_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = fake_workspace(tmp_path / "home", None, monkeypatch)
    demo.load_samples(ws, demo.write_samples(ws, customers=160))
    executor = make_executor("processes", workers=2)
    assert isinstance(executor, ProcessExecutor)
    assert_same_as_local(ws, tmp_path, executor, audience_over=60, sent_over=30)
    assert executor.pool is None  # the run closed its workers
    ws.close()


def test_a_worker_killed_mid_run_leaves_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = fake_workspace(tmp_path / "home", None, monkeypatch, delay=0.02)
    demo.load_samples(ws, demo.write_samples(ws, customers=160))
    spec = Campaign(name="kill", placement="email", audience="demo_audience", holdout=0.1)
    out = tmp_path / "out.jsonl"
    executor = ProcessExecutor(workers=2, batch_size=4)

    def kill() -> None:
        workers = _workers_of(os.getpid())
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)

    first = kill_a_worker_mid_run(ws, spec, out, executor, kill)
    # The dead worker's batch and everything after it are this run's errors, left planned.
    assert sum(first.errors.values()) > 0
    again = run_campaign(ws, spec, FileChannel(out), executor=make_executor("processes"))
    assert not again.errors
    assert_each_sent_once(ws, out, "kill")
    ws.close()
