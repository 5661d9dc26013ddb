"""Extension points: a plug-in package adds a channel and a quality check by entry point,
without touching Monogram's source; unknown names list what is registered; a plug-in that
raises costs one customer, not the run."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from monogram import demo
from monogram.campaigns import Campaign
from monogram.campaigns.run import run_campaign
from monogram.content.llm import MODELS
from monogram.content.llm.fake import FakeModel
from monogram.content.placements import get_placement
from monogram.core.errors import ConfigError, ValidationError
from monogram.delivery.channels import CHANNELS, channel_from_url
from monogram.learning.policy import POLICIES
from monogram.pipeline import Request, personalize
from monogram.quality.gate import PLUGIN_CHECKS
from monogram.store.tables import outbox
from monogram.workspace import Workspace

PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The test plug-in, installed the way pip leaves a package: a module and its
    ``.dist-info`` with ``entry_points.txt`` on the path."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    importlib.invalidate_caches()
    module = importlib.import_module("monogram_testplugin")
    module.SENT.clear()
    module.RAISE_FOR.clear()
    yield module
    sys.modules.pop("monogram_testplugin", None)


def test_unknown_names_list_what_is_registered() -> None:
    with pytest.raises(ConfigError, match=r"unknown model backend 'gpt'; registered: .*fake"):
        MODELS.get("gpt")
    with pytest.raises(ConfigError, match="registered: thompson, vw"):
        POLICIES.get("ucb")
    with pytest.raises(ValidationError, match="registered schemes: file, http, https, smtp"):
        channel_from_url("sms://+4912345", sender="x")


def test_a_plugin_channel_and_check_by_entry_point(
    plugin: Any, sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    assert "memory" in CHANNELS.names() and "no_shouting" in PLUGIN_CHECKS.names()
    ws = sqlite_workspace
    demo.load_samples(ws, demo.write_samples(ws, customers=40))
    ws.use_model(FakeModel(lambda m, o: "Fresh trail picks, just for you!"))
    email = get_placement(ws.placements(), "email")
    gate = email.gate.model_copy(
        update={"checks": ["no_shouting"], "blocking": [*email.gate.blocking, "no_shouting"]}
    )
    shouting = email.model_copy(update={"gate": gate})
    outcome = personalize(
        ws,
        Request(customer="user_id:cust-00001", placement=shouting, strategy="warm", record=False),
    )
    subject = outcome.elements["subject"]
    assert subject.source == "fallback" and "no_shouting: shouts" in (subject.reason or "")

    # The channel, chosen by its URL scheme, carries a campaign; the check runs in it.
    path = ws.home / "placements" / "email.yaml"
    placement = yaml.safe_load(path.read_text())
    placement["gate"] = {**placement.get("gate", {}), "checks": ["no_shouting"]}
    path.write_text(yaml.safe_dump(placement))
    spec = Campaign(  # a generative strategy for everyone: the check runs on each customer
        name="plug", placement="email", audience="demo_audience", holdout=0, strategies=["warm"]
    )
    planned = run_campaign(ws, spec, channel_from_url("memory://x", sender="s@x.io"), dry_run=True)
    assert planned.audience > 5
    with ws.store.read() as conn:
        victim = (
            conn.execute(
                select(outbox.c.profile_id)
                .where(outbox.c.campaign == "plug", outbox.c.state == "planned")
                .order_by(outbox.c.profile_id)
            )
            .scalars()
            .first()
        )
    assert victim is not None
    plugin.RAISE_FOR.add(victim)
    summary = run_campaign(ws, spec, channel_from_url("memory://x", sender="s@x.io"))
    assert summary.errors == {"RuntimeError": 1}  # one customer, and the run went on
    assert summary.outcomes["error"] == 1 and summary.outcomes["sent"] == len(plugin.SENT) > 0
    assert all(m.channel == "memory" for m in plugin.SENT)
