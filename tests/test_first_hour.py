"""A new user's first hour, scripted: from an empty folder to a campaign in a real inbox.

Init a workspace for a coffee roaster, import its catalogue and a few hundred events, define a
segment, preview, send a proof to a real local SMTP server, run a campaign to it, and read
what arrived: HTML and text parts, the unsubscribe headers, the new brand's name, no template
residue and none of the demo shop's words. The bundled model writes the copy.
"""

from __future__ import annotations

import email
import random
from email.message import Message
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tests.smtp import Inbox
from tests.test_cli import as_json, run

BRAND = "Bean & Leaf"
PRODUCTS = [
    ("ethiopia-yirga", "Yirgacheffe Single Origin", "coffee", 16.5, "floral, citrus"),
    ("colombia-huila", "Huila Medium Roast", "coffee", 14.0, "caramel, cocoa"),
    ("house-espresso", "House Espresso Blend", "coffee", 13.0, "chocolate, hazelnut"),
    ("sencha-green", "Uji Sencha", "tea", 12.0, "grassy, sweet"),
    ("earl-grey", "Bergamot Earl Grey", "tea", 9.5, "bergamot, malty"),
    ("pour-over-kit", "Ceramic Pour-Over Kit", "brewing", 34.0, ""),
]


def _catalogue(path: Path) -> Path:
    lines = ["id,name,category,price,currency,url,description,attr_notes"]
    for pid, name, category, price, notes in PRODUCTS:
        url = f"https://beanandleaf.example/p/{pid}"
        lines.append(
            f'{pid},"{name}",{category},{price},USD,{url},"{name}, roasted weekly.",{notes}'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _events(path: Path, people: int = 40) -> Path:
    rng = random.Random(5)
    events: list[dict[str, Any]] = []
    names = ["Ada", "Ben", "Cleo", "Dev", "Ema", "Finn", "Gia", "Hal"]
    for n in range(people):
        user = f"bl-{n:03d}"
        stamp = f"2026-11-{1 + n % 27:02d}T09:00:00Z"
        traits = {
            "email": f"{user}@customers.example",
            "first_name": names[n % len(names)],
            "consent": {"email_marketing": True, "ai_generation": True, "personalization": True},
        }
        events.append({"type": "identify", "userId": user, "traits": traits, "timestamp": stamp})
        for k in range(rng.randint(1, 3)):
            pid, name, category, price, _ = rng.choice(PRODUCTS)
            properties = {
                "order_id": f"{user}-o{k}",
                "revenue": price,
                "currency": "USD",
                "products": [{"product_id": pid, "name": name, "category": category}],
            }
            events.append(
                {"type": "track", "userId": user, "event": "Order Completed",
                 "properties": properties, "timestamp": stamp}
            )  # fmt: skip
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    return path


def _parts(raw: bytes) -> tuple[Message, str, str]:
    message = email.message_from_bytes(raw)
    text = html = ""
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if part.get_content_type() == "text/plain" and payload:
            text = payload.decode()
        elif part.get_content_type() == "text/html" and payload:
            html = payload.decode()
    return message, text, html


def _assert_a_real_email(raw: bytes) -> None:
    message, text, html = _parts(raw)
    assert text and html.lstrip().startswith("<!DOCTYPE html>")
    assert BRAND in message["From"] and "hello@beanandleaf.example" in message["From"]
    assert message["List-Unsubscribe"].startswith("<http")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert BRAND in text and "Bean &amp; Leaf" in html  # the footer names the new brand
    for residue in ("{{", "}}", "{%", "[Customer", "[Name", "<<<"):
        assert residue not in text and residue not in html
    for demo_word in ("Trailhead", "trailhead"):
        assert demo_word not in text and demo_word not in html
    assert "Unsubscribe" in html and "/t/" in text  # a working unsubscribe link in both parts


@pytest.mark.timeout(600)
def test_first_hour_from_an_empty_folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: tuple[int, Inbox],
) -> None:
    port, inbox = smtp_server
    home = tmp_path / "bean-and-leaf"
    monkeypatch.setenv("MONOGRAM_HOME", str(home))
    monkeypatch.delenv("MONOGRAM_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    cli = CliRunner()

    before = run(cli, "stats", ok=False)  # nothing made by accident
    assert before.exit_code == 1 and "monogram init" in before.stderr and not home.exists()

    run(
        cli, "init",
        "--brand", BRAND,
        "--sender", f"{BRAND} <hello@beanandleaf.example>",
        "--website", "https://beanandleaf.example",
        "--description", "A coffee roaster selling beans, tea and brewing gear to home baristas.",
    )  # fmt: skip
    run(cli, "catalog", "import", str(_catalogue(tmp_path / "products.csv")))
    run(cli, "ingest", str(_events(tmp_path / "events.jsonl")), "-q")
    (home / "segments" / "coffee.yaml").write_text(
        "- name: coffee_buyers\n"
        "  description: Ordered and welcome AI-written email\n"
        "  rule:\n"
        "    all:\n"
        "      - {field: order_count, op: gte, value: 1}\n"
        "      - {consent: email_marketing}\n"
        "      - {consent: ai_generation}\n",
        encoding="utf-8",
    )
    members = as_json(run(cli, "segments", "members", "coffee_buyers", "--json"))
    assert len(members) == 40

    preview = as_json(
        run(cli, "generate", "--placement", "email", "--customer", "user_id:bl-001",
            "--strategy", "warm", "--no-record", "--json")
    )  # fmt: skip
    assert preview["message_id"] is None and preview["elements"]["greeting"]["text"] == "Hi Ben,"

    proof = as_json(
        run(cli, "send-test", "--customer", "user_id:bl-001", "--to", "me@beanandleaf.example",
            "--strategy", "warm", "--channel", f"smtp://127.0.0.1:{port}", "--json")
    )  # fmt: skip
    assert proof["status"] == "sent" and proof["subject"].startswith("[proof] ")
    sender, recipients, raw = inbox.messages[-1]
    assert recipients == ["me@beanandleaf.example"] and "beanandleaf" in sender
    _assert_a_real_email(raw)

    (home / "campaigns" / "first.yaml").write_text(
        "name: first\nplacement: email\naudience: coffee_buyers\nholdout: 0\n"
        "strategies: [warm, select]\n",
        encoding="utf-8",
    )
    command = ["campaign", "run", str(home / "campaigns" / "first.yaml"), "--limit", "3",
               "--channel", f"smtp://127.0.0.1:{port}", "--json"]  # fmt: skip
    summary = as_json(run(cli, *command))
    assert summary["outcomes"].get("sent", 0) + summary["outcomes"].get("review", 0) == 3
    assert len(inbox.messages) == 1 + summary["outcomes"].get("sent", 0)
    # What the gate held for a person is approved in the review queue; a rerun sends it.
    for item in as_json(run(cli, "review", "list", "--json")):
        run(cli, "review", "approve", str(item["review_id"]), "--reviewer", "owner")
    again = as_json(run(cli, *command))
    assert again["outcomes"] == {"sent": 3}
    campaign_mail = inbox.messages[1:]
    assert len(campaign_mail) == 3  # every customer once, nothing twice
    for _, recipients, raw in campaign_mail:
        assert recipients[0].endswith("@customers.example")
        _assert_a_real_email(raw)
