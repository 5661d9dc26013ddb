"""Replies as outcomes: a real campaign over SMTP, the customer's answer posted as a mail
provider would (and imported from an mbox), a support follow-up, their sentiment, and the
rewards they turn into. The scorer is measured on held-out human ratings."""

from __future__ import annotations

import email
import email.policy
import mailbox
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from monogram import demo
from monogram.campaigns import Campaign
from monogram.campaigns.run import run_campaign
from monogram.cli.main import app as cli_app
from monogram.content.llm.fake import FakeModel
from monogram.delivery import replies
from monogram.delivery.channels.file import FileChannel
from monogram.delivery.channels.smtp import SMTPChannel
from monogram.learning.outcomes import outcomes
from monogram.learning.update import update_policies
from monogram.quality import sentiment
from monogram.store.tables import decisions, events
from tests.conftest import Api, basic
from tests.smtp import smtp_inbox

DATA = Path(__file__).parent / "data"


def _sent_campaign(api: Api, customers: int = 30) -> list[EmailMessage]:
    ws = api.ws
    ws.config.replies.address = "replies@shop.example"
    demo.load_samples(ws, demo.write_samples(ws, customers=customers))
    ws.use_model(FakeModel(lambda m, o: "Fresh running and hiking gear picked for your next trail"))
    with smtp_inbox() as (port, inbox):
        spec = Campaign(name="replies", placement="email", audience="demo_audience", holdout=0.0)
        run_campaign(ws, spec, SMTPChannel("127.0.0.1", port, sender="news@shop.example"))
    assert inbox.messages
    return [
        email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
        for _, _, raw in inbox.messages
    ]


def _reply(to: EmailMessage, text: str, *, sender: str | None = None, via: str = "") -> bytes:
    answer = EmailMessage()
    answer["From"] = sender or str(to["To"])
    answer["To"] = via or str(to["Reply-To"])
    answer["Subject"] = "Re: " + str(to["Subject"])
    answer["In-Reply-To"] = str(to["Message-ID"])
    answer["References"] = str(to["Message-ID"])
    quoted = "\n".join("> " + line for line in to.get_body(("plain",)).get_content().splitlines())
    answer.set_content(
        f"{text}\n\nOn Tue, 1 Dec 2026 at 10:00, Trailhead <{to['From']}> wrote:\n{quoted}\n"
    )
    return answer.as_bytes()


def test_an_email_reply_is_matched_scored_recorded_once_and_rewarded(api: Api) -> None:
    ws = api.ws
    sent = _sent_campaign(api)
    first = sent[0]
    reply_to = str(first["Reply-To"])
    assert reply_to.startswith("replies+msg_") and reply_to.endswith("@shop.example")
    assert len(reply_to.split("@")[0]) <= 64
    message_id = str(first["X-Monogram-Message"])
    raw = _reply(first, "Thank you so much, the jacket fits perfectly and arrived early!")
    read = basic(api.read)
    headers = {**read, "Content-Type": "message/rfc822"}

    answer = api.client.post("/v1/inbound/email", content=raw, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["matched"] and body["recorded"] and body["message_id"] == message_id
    assert body["kind"] == "email"
    assert body["sentiment"]["label"] == "positive" and body["sentiment"]["score"] > 0.2
    # A mail provider retrying the same post records nothing new.
    retried = api.client.post("/v1/inbound/email", content=raw, headers=headers).json()
    assert retried["matched"] and not retried["recorded"]
    # A write key (it ships in web pages) cannot record an outcome.
    refused = api.client.post("/v1/inbound/email", content=raw, headers=basic(api.write))
    assert refused.status_code == 403
    # SendGrid's Inbound Parse posts the raw message in the form field `email`.
    unhappy = _reply(sent[1], "The parcel arrived damaged and nobody answers my emails. Awful.")
    form = api.client.post(
        "/v1/inbound/email", data={"email": unhappy.decode(), "to": "x"}, headers=read
    )
    assert form.status_code == 200 and form.json()["sentiment"]["label"] == "negative"

    with ws.store.read() as conn:
        stored = list(
            conn.execute(
                select(events.c.payload, events.c.source).where(events.c.name == "Email Replied")
            )
        )
        decision = conn.execute(select(decisions).where(decisions.c.message_id == message_id)).one()
    assert len(stored) == 2 and {s.source for s in stored} == {"inbound"}
    props = [orjson.loads(s.payload)["properties"] for s in stored]
    mine = next(p for p in props if p["message_id"] == message_id)
    # Only the new text is kept: the quoted message and the "On ... wrote:" line are cut off.
    assert mine["text"] == "Thank you so much, the jacket fits perfectly and arrived early!"
    assert mine["decision_id"] == decision.id and mine["from_customer"] is True

    result = update_policies(ws, window_hours=0)
    assert result["rewarded"]["email"] >= 1
    with ws.store.read() as conn:
        found = outcomes(conn, decision, window=timedelta(hours=72))
        rewarded = conn.execute(select(decisions).where(decisions.c.id == decision.id)).one()
    assert {"replied", "positive_reply"} <= found and "negative_reply" not in found
    assert rewarded.reward == pytest.approx(1.0 / 5.0)  # positive_reply 1 of the top reward 5


def test_mail_that_is_no_usable_reply_is_answered_unmatched_and_never_recorded(
    api: Api,
) -> None:
    ws = api.ws
    sent = _sent_campaign(api)
    first = sent[0]
    read = {**basic(api.read), "Content-Type": "message/rfc822"}
    local, domain = str(first["Reply-To"]).split("@")
    mac = local.rsplit(".", 1)[1]
    forged = local[: -len(mac)] + ("0" if mac[0] != "0" else "1") * len(mac) + "@" + domain
    stranger = "stranger@evil.example"
    automatic = EmailMessage()
    automatic["From"] = str(first["To"])
    automatic["To"] = str(first["Reply-To"])
    automatic["Auto-Submitted"] = "auto-replied"
    automatic.set_content("I am out of the office until Monday.")
    unknown_charset = (
        f"From: {first['To']}\r\nTo: {first['Reply-To']}\r\n"
        "Content-Type: text/plain; charset=x-unknown\r\n\r\nThanks!\r\n"
    ).encode()
    deep = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" + (
        b"--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" * 3000
    )
    cases = {
        "forged reply address, stranger": _reply(first, "Great!", sender=stranger, via=forged),
        "no reply address, stranger": _reply(
            first, "Great!", sender=stranger, via="hello@shop.example"
        ),
        "an out-of-office notice": automatic.as_bytes(),
        "only the quote": _reply(first, ""),
        "no From address": b'From: "\r\nTo: <\r\n\r\nhello',
        "not an email": b"hello",
        "deeply nested parts": deep,
    }
    for name, raw in cases.items():
        answer = api.client.post("/v1/inbound/email", content=raw, headers=read)
        assert answer.status_code == 200, (name, answer.text)
        assert answer.json()["matched"] is False and answer.json()["reason"], name
    # An unknown charset is read as UTF-8: the reply still counts.
    lenient = api.client.post("/v1/inbound/email", content=unknown_charset, headers=read)
    assert lenient.json()["matched"] is True
    # A malformed request is the integration's fault: a 400.
    empty = api.client.post("/v1/inbound/email", content=b"  ", headers=read)
    no_field = api.client.post("/v1/inbound/email", data={"to": "x"}, headers=basic(api.read))
    assert empty.status_code == no_field.status_code == 400
    # Without the reply address, In-Reply-To from the customer's own address is enough.
    plain = _reply(sent[1], "Thanks, lovely email.", via="hello@shop.example")
    got = api.client.post("/v1/inbound/email", content=plain, headers=read).json()
    assert got["matched"], got
    with ws.store.read() as conn:
        count = conn.execute(select(events.c.seq).where(events.c.name == "Email Replied")).all()
    assert len(count) == 2


def test_provider_formats_signatures_and_replies_below_the_quote(api: Api) -> None:
    sent = _sent_campaign(api)
    read = basic(api.read)
    signed = _reply(sent[0], "Thanks, it fits!\n\nBest regards,\nJohn Smith\nACME Corp")
    mailgun = api.client.post(
        "/v1/inbound/email", data={"body-mime": signed.decode()}, headers=read
    )
    assert mailgun.status_code == 200 and mailgun.json()["matched"], mailgun.text
    below = EmailMessage()
    below["From"], below["To"] = str(sent[1]["To"]), str(sent[1]["Reply-To"])
    below.set_content(
        "On Tue, 1 Dec 2026 at 10:00, Trailhead <news@shop.example> wrote:\n> Hi there\n"
        "> New arrivals\n\nThe parcel never came and nobody answers. Very disappointed.\n"
    )
    postmark = api.client.post(
        "/v1/inbound/email", json={"RawEmail": below.as_string()}, headers=read
    )
    assert postmark.json()["matched"] and postmark.json()["sentiment"]["label"] == "negative"
    with api.ws.store.read() as conn:
        texts = {
            orjson.loads(p)["properties"]["text"]
            for (p,) in conn.execute(
                select(events.c.payload).where(events.c.name == "Email Replied")
            )
        }
    assert texts == {
        "Thanks, it fits!",
        "The parcel never came and nobody answers. Very disappointed.",
    }


def test_an_esp_export_carries_the_reply_address(api: Api, tmp_path: Path) -> None:
    ws = api.ws
    ws.config.replies.address = "replies@shop.example"
    demo.load_samples(ws, demo.write_samples(ws, customers=20))
    ws.use_model(FakeModel(lambda m, o: "Fresh running and hiking gear picked for your next trail"))
    spec = Campaign(name="export", placement="email", audience="demo_audience", holdout=0.0)
    run_campaign(ws, spec, FileChannel(tmp_path / "out.jsonl"))
    rows = [orjson.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert rows and all(r["reply_to"].startswith("replies+msg_") for r in rows)
    token = replies.REPLY_TOKEN.search(rows[0]["reply_to"])
    assert token is not None and token[1] == rows[0]["message_id"]


def test_replies_import_from_an_mbox_reports_what_it_could_not_match(
    api: Api, tmp_path: Path
) -> None:
    sent = _sent_campaign(api)
    box = mailbox.mbox(tmp_path / "replies.mbox")
    box.add(_reply(sent[0], "Love it, thanks!", via="hello@shop.example"))
    box.add(_reply(sent[1], "Please stop, this is not what I ordered.", via="hello@shop.example"))
    box.add(_reply(sent[2], "Hi!", sender="someone@else.example", via="hello@shop.example"))
    box.close()
    runner = CliRunner()
    args = ["replies", "import", str(tmp_path / "replies.mbox"), "--json"]
    result = runner.invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert summary["recorded"] == 2 and len(summary["skipped"]) == 1
    assert "not a reply to a message Monogram sent" in summary["skipped"][0]["reason"]
    assert summary["sentiment"] == {"positive": 1, "negative": 1}
    again = orjson.loads(runner.invoke(cli_app, args).stdout)
    assert again["recorded"] == 0 and again["already_recorded"] == 2
    with api.ws.store.read() as conn:
        stored = conn.execute(select(events.c.seq).where(events.c.name == "Email Replied")).all()
    assert len(stored) == 2


def test_a_support_follow_up_rewards_resolution_and_sentiment(api: Api) -> None:
    ws = api.ws
    demo.load_samples(ws, demo.write_samples(ws, customers=20))
    ws.use_model(FakeModel(lambda m, o: "Your order is on its way and should arrive soon."))
    read = basic(api.read)
    ws.config.learning.policy = "learned"
    drafts = []
    for user in ("cust-00001", "cust-00002"):
        answer = api.client.post(
            "/v1/support/reply",
            json={"customer": f"user_id:{user}", "message": "Where is my order?"},
            headers=read,
        )
        assert answer.status_code == 200, answer.text
        drafts.append(answer.json())
    happy, unhappy = drafts
    ok = api.client.post(
        "/v1/support/followup",
        json={"message_id": happy["message_id"], "text": "Brilliant, thanks!", "resolved": True},
        headers=read,
    )
    assert ok.status_code == 200 and ok.json()["sentiment"]["label"] == "positive"
    bad = api.client.post(
        "/v1/support/followup",
        json={
            "message_id": unhappy["message_id"],
            "text": "That did not help at all. Still no parcel and still no answer.",
            "resolved": False,
        },
        headers=read,
    )
    assert bad.status_code == 200 and bad.json()["sentiment"]["label"] == "negative"
    empty = api.client.post(
        "/v1/support/followup", json={"message_id": happy["message_id"]}, headers=read
    )
    assert empty.status_code == 400 and "give text, resolved" in empty.text
    missing = api.client.post(
        "/v1/support/followup", json={"message_id": "msg_nope", "text": "hi"}, headers=read
    )
    assert missing.status_code == 404

    refused = api.client.post(
        "/v1/support/followup",
        json={"message_id": happy["message_id"], "text": "hi"},
        headers=basic(api.write),
    )
    assert refused.status_code == 403

    update_policies(ws, window_hours=0)
    with ws.store.read() as conn:
        rows = {
            r.id: r
            for r in conn.execute(select(decisions).where(decisions.c.placement == "support_reply"))
        }
        seen = {d: outcomes(conn, rows[d], timedelta(hours=72)) for d in rows}
    assert seen[happy["decision_id"]] == {"replied", "positive_reply", "resolved"}
    assert seen[unhappy["decision_id"]] == {"replied", "negative_reply", "unresolved"}
    # resolved 5 + positive 1, over the top reward 5, clipped to 1; unresolved and unhappy: 0.
    assert rows[happy["decision_id"]].reward == pytest.approx(1.0)
    assert rows[unhappy["decision_id"]].reward == 0.0
    # A follow-up names a support message: an email's message id is refused.
    with ws.store.read() as conn:
        email_message = conn.execute(
            select(decisions.c.message_id).where(decisions.c.placement != "support_reply")
        ).scalar()
    if email_message:
        wrong = api.client.post(
            "/v1/support/followup",
            json={"message_id": email_message, "text": "hi"},
            headers=read,
        )
        assert wrong.status_code == 400 and "support" in wrong.text


def test_the_scorer_on_held_out_human_ratings_and_other_languages() -> None:
    rows = [
        line.split("\t", 1)
        for line in (DATA / "sentiment_amazon.tsv").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    rated = [(float(r), t) for r, t in rows if abs(float(r)) >= 0.5]
    assert len(rated) >= 250
    scored = sentiment.score([t for _, t in rated])
    agree = sum((s.score > 0) == (r > 0) for (r, _), s in zip(rated, scored, strict=True))
    assert agree / len(rated) >= 0.8  # the bench measures 0.850 on all 3,708
    plain = {
        "Vielen Dank, die Schuhe passen perfekt!": "positive",
        "Merci beaucoup, tout est parfait.": "positive",
        "El paquete llegó roto y nadie responde. Muy decepcionado.": "negative",
        "Das ist jetzt das dritte Mal, dass die Lieferung zu spät kommt. Unmöglich.": "negative",
        "": "neutral",
    }
    assert [s.label for s in sentiment.score(list(plain))] == list(plain.values())


def test_new_text_cuts_quotes_and_signatures_in_several_languages() -> None:
    sender = "Trailhead <news@shop.example>"
    german = f"Passt leider nicht.\n\nAm 01.12.2026 um 10:00 schrieb {sender}:\n> Hallo"
    french = f"Très bien reçu, merci.\n\nLe mar. 1 déc. 2026 à 10:00, {sender} a écrit :\n> Bonjour"
    assert replies.new_text(german) == "Passt leider nicht."
    assert replies.new_text(french) == "Très bien reçu, merci."
    assert replies.reply_address("s", "replies@shop.example", "msg_" + "a" * 20).count("+") == 1
    # What is stored fits any database: no NUL, at most 8 KB of UTF-8 (whole characters).
    long = replies.new_text("\x00" + "日本語のテキスト。" * 2000)
    assert "\x00" not in long and 7_990 <= len(long.encode()) <= replies.MAX_TEXT_BYTES
    signed = "Thanks, it fits!\n\nBest regards,\nJohn Smith\nACME Corp"
    assert replies.new_text(signed) == "Thanks, it fits!"
