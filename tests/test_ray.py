"""The ray executor against a real local Ray and a real PostgreSQL: the same outcomes as the
local executor, and a worker killed with SIGKILL mid-run leaves no duplicate message."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from monogram import demo
from monogram.campaigns import Campaign
from monogram.campaigns.executors import make_executor
from monogram.campaigns.ray_executor import RayExecutor
from monogram.campaigns.run import run_campaign
from monogram.core.errors import ConfigError
from monogram.delivery.channels.file import FileChannel
from monogram.store.tables import outbox
from monogram.workspace import Workspace
from tests.executors_common import (
    assert_each_sent_once,
    assert_same_as_local,
    fake_workspace,
    kill_a_worker_mid_run,
)

pytest.importorskip("ray")


def test_ray_gives_the_outcomes_local_gives(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = fake_workspace(tmp_path / "home", pg_url, monkeypatch)
    demo.load_samples(ws, demo.write_samples(ws, customers=240))
    executor = RayExecutor(workers=2, num_cpus=2, batch_size=8)
    assert_same_as_local(ws, tmp_path, executor, audience_over=100, sent_over=50)
    ws.close()


def test_a_worker_killed_mid_run_leaves_no_duplicate(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = fake_workspace(tmp_path / "home", pg_url, monkeypatch, delay=0.02)
    demo.load_samples(ws, demo.write_samples(ws, customers=160))
    spec = Campaign(name="kill", placement="email", audience="demo_audience", holdout=0.1)
    out = tmp_path / "out.jsonl"
    executor = RayExecutor(workers=2, num_cpus=2, batch_size=4)
    first = kill_a_worker_mid_run(
        ws, spec, out, executor, lambda: os.kill(executor.worker_pids()[0], signal.SIGKILL)
    )
    print("first run:", first.as_dict())
    # Ray restarts the actor and retries its batch, or the batch is recorded as errors: either
    # way a rerun completes the campaign.
    again = run_campaign(ws, spec, FileChannel(out), executor=make_executor("local"))
    assert not again.errors
    assert_each_sent_once(ws, out, "kill")
    ws.close()


def test_ray_refuses_sqlite_and_an_unreachable_cluster(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    spec = Campaign(name="nope", placement="email", audience="demo_audience")
    channel = FileChannel(tmp_path / "never.jsonl")
    with pytest.raises(ConfigError, match="PostgreSQL"):
        run_campaign(sqlite_workspace, spec, channel, executor=make_executor("ray"))
    registered = "unknown executor 'rayy'; registered: local, processes, ray"
    with pytest.raises(ConfigError, match=registered):
        make_executor("rayy")
    with sqlite_workspace.store.read() as conn:
        assert not list(conn.execute(select(outbox)))  # nothing was marked
    assert not (tmp_path / "never.jsonl").exists()


def test_ray_unreachable_is_refused_before_anything_moves(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = fake_workspace(tmp_path / "home", pg_url, monkeypatch)
    demo.load_samples(ws, demo.write_samples(ws, customers=20))
    spec = Campaign(name="nope", placement="email", audience="demo_audience")
    channel = FileChannel(tmp_path / "never.jsonl")
    executor = make_executor("ray", ray_address="127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"cannot reach Ray at 127\.0\.0\.1:9"):
        run_campaign(ws, spec, channel, executor=executor)
    with ws.store.read() as conn:
        assert not list(conn.execute(select(outbox)))  # nothing was marked
    assert not (tmp_path / "never.jsonl").exists()
    ws.close()
