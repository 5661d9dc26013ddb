"""End to end: demo data, a campaign to a real SMTP server, the open pixel, a click, a
conversion and an unsubscribe through the tracking endpoints, visible on the profile and the
decision."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from monogram import demo
from monogram.api.app import create_app
from monogram.campaigns import Campaign
from monogram.campaigns.run import run_campaign
from monogram.cdp import context, unify
from monogram.content.llm.fake import FakeModel
from monogram.delivery.channels.smtp import SMTPChannel
from monogram.learning.outcomes import campaign_outcomes
from monogram.store.tables import decisions
from monogram.workspace import Workspace
from tests.smtp import free_port, smtp_inbox


def test_campaign_to_smtp_then_open_click_convert_unsubscribe(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    demo.load_samples(ws, demo.write_samples(ws, customers=60))
    ws.use_model(FakeModel(lambda m, o: "Fresh running and hiking gear picked for your next trail"))
    with smtp_inbox() as (port, inbox):
        spec = Campaign(name="e2e", placement="email", audience="demo_audience", holdout=0.0)
        summary = run_campaign(ws, spec, SMTPChannel("127.0.0.1", port, sender="news@shop.example"))
    assert summary.outcomes["sent"] == len(inbox.messages) > 0
    received = email.message_from_bytes(inbox.messages[0][2], policy=email.policy.default)
    html = next(p for p in received.walk() if p.get_content_type() == "text/html").get_content()
    text = next(p for p in received.walk() if p.get_content_type() == "text/plain").get_content()
    pixel = re.search(r'<img src="([^"]+)"', html).group(1).replace("&amp;", "&")
    click = re.search(r"Shop now: (\S+)", text).group(1)
    unsubscribe = received["List-Unsubscribe"].strip("<>")
    assert "{{unsubscribe_url}}" not in text and unsubscribe in text
    message_id = received["X-Monogram-Message"]

    client = TestClient(create_app(ws))
    path = lambda url: url.split("127.0.0.1:8000", 1)[1]  # noqa: E731
    assert client.get(path(pixel)).headers["content-type"] == "image/gif"
    redirect = client.get(path(click), follow_redirects=False)
    assert redirect.status_code == 302 and redirect.headers["location"].startswith(
        "https://shop.trailhead.example/p/"
    )
    forged = path(click)[:-3] + ("AAA" if not path(click).endswith("AAA") else "BBB")
    assert client.get(forged, follow_redirects=False).status_code == 401

    with ws.store.read() as conn:
        decision = conn.execute(select(decisions).where(decisions.c.message_id == message_id)).one()
        ref = f"profile_id:{decision.profile_id}"
        before = context.profile_view(conn, ws.config, {}, decision.profile_id)
    user_id = next(i["value"] for i in before["identifiers"] if i["type"] == "user_id")
    unify.ingest_batch(
        ws.store,
        ws.config,
        [
            {
                "type": "track",
                "userId": user_id,
                "event": "Order Completed",
                "properties": {"order_id": "e2e-1", "revenue": 42.0},
            }
        ],
        source="test",
    )
    assert client.post(path(unsubscribe)).status_code == 200

    with ws.store.read() as conn:
        after = context.profile_view(conn, ws.config, {}, context.resolve(conn, ref))
        results = campaign_outcomes(conn, "e2e")
    assert after["consent"]["email_marketing"]["granted"] is False
    assert after["computed"]["email_click_rate"] is not None
    assert results["treated"]["opened"] == 1 and results["treated"]["clicked"] == 1
    assert results["treated"]["converted"] == 1 and results["treated"]["unsubscribed"] == 1
    # The unsubscribed customer is not emailed again.
    run_campaign(
        ws,
        Campaign(name="e2e-2", placement="email", audience="demo_audience", holdout=0.0),
        SMTPChannel("127.0.0.1", free_port(), sender="news@shop.example", timeout_s=1),
    )
    with ws.store.read() as conn:
        from monogram.store.tables import outbox

        row = conn.execute(
            select(outbox).where(
                outbox.c.campaign == "e2e-2", outbox.c.profile_id == decision.profile_id
            )
        ).first()
    assert row is None or row.state == "suppressed"
