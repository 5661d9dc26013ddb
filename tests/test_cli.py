"""The `monogram` command through Typer's runner: the interfaces scripts rely on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.main import get_command
from typer.testing import CliRunner, Result

from monogram import samples
from monogram.cli.main import app
from monogram.workspace import write_project_files
from tests.helpers import ev

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("MONOGRAM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MONOGRAM_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    write_project_files(tmp_path / "home", overwrite=False)  # as `monogram init` leaves it
    yield CliRunner()


def run(runner: CliRunner, *args: str, ok: bool = True) -> Result:
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def as_json(result: Result) -> Any:
    return orjson.loads(result.stdout)


def write_events(path: Path) -> Path:
    lines = [
        ev("page", "2026-10-30T00:00:00Z", anonymousId="a-2", name="Home"),
        ev(
            "identify",
            "2026-11-01T00:00:00Z",
            userId="42",
            anonymousId="a-1",
            traits={
                "email": "maya@example.com",
                "first_name": "Maya",
                "consent": {"email_marketing": True, "ai_generation": True, "advertising": True},
            },
        ),
        ev(
            "track",
            "2026-11-10T00:00:00Z",
            userId="42",
            event="Order Completed",
            properties={
                "order_id": "o1",
                "revenue": 59.5,
                "products": [{"product_id": "run-road-001", "category": "running"}],
            },
        ),
        ev(
            "identify",
            "2026-11-11T00:00:00Z",
            anonymousId="a-2",
            traits={"email": "maya@example.com"},
        ),
        ev("track", userId="42"),
    ]
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
    return path


def test_keys_create_prints_the_key_alone_on_the_last_line(cli: CliRunner) -> None:
    result = run(cli, "keys", "create", "--scope", "write")
    assert re.fullmatch(r"mg_write_[A-Za-z0-9_-]+", result.stdout.strip().splitlines()[-1])
    listed = as_json(run(cli, "keys", "list", "--json"))
    assert [k["scope"] for k in listed] == ["write"]
    bad = run(cli, "keys", "create", "--scope", "god", ok=False)
    assert bad.exit_code == 1 and bad.stderr.strip().startswith("error: scope must be one of")


def test_ingest_profiles_and_stats(cli: CliRunner, tmp_path: Path) -> None:
    catalog_file = tmp_path / "catalog.jsonl"
    samples.write_jsonl(catalog_file, samples.catalog())
    imported = as_json(run(cli, "catalog", "import", str(catalog_file), "--json"))
    assert imported == {"imported": 144, "rejected": [], "check": False}
    summary = as_json(run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "--json"))
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (4, 0, 1)
    assert summary["errors"][0]["index"] == 5
    stats = as_json(run(cli, "stats", "--json"))
    assert stats["events"] == 4 and stats["profiles"] == 1 and stats["identifiers"] == 4
    assert stats["quarantined"] == 1

    shown = as_json(run(cli, "profiles", "show", "email:maya@example.com", "--json"))
    for key in (
        "profile_id",
        "identifiers",
        "traits",
        "computed",
        "lifecycle_stage",
        "segments",
        "consent",
    ):
        assert key in shown
    assert shown["computed"]["order_count"] == 1 and shown["computed"]["lifetime_value"] == 59.5
    pairs = {(i["type"], i["value"]) for i in shown["identifiers"]}
    assert pairs == {
        ("user_id", "42"),
        ("anonymous_id", "a-1"),
        ("anonymous_id", "a-2"),
        ("email", "maya@example.com"),
    }

    listed = as_json(run(cli, "profiles", "list", "--json"))
    assert listed[0]["profile_id"] == shown["profile_id"]
    members = as_json(run(cli, "profiles", "list", "--segment", "demo_audience", "--json"))
    assert [m["profile_id"] for m in members] == [shown["profile_id"]]

    ctx = as_json(
        run(cli, "profiles", "context", "user_id:42", "--purpose", "email_marketing", "--json")
    )
    picks = ctx["recommended_products"]
    assert picks and {"id", "name", "price", "category"} <= set(picks[0])
    assert "maya@example.com" not in orjson.dumps(ctx).decode()

    products = as_json(run(cli, "catalog", "list", "--json"))
    assert len(products) == 144


def test_quarantine_listing_and_replay(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    held = as_json(run(cli, "ingest", "quarantine", "--json"))
    assert held[0]["errors"][0]["field"] == "event"
    replayed = as_json(run(cli, "ingest", "replay", "--json"))
    assert replayed["rejected"] == 1 and replayed["accepted"] == 0


def test_identity_commands(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    merges = as_json(run(cli, "identity", "merges", "user_id:42", "--json"))
    assert len(merges["merges"]) == 1
    merge_id = merges["merges"][0]["merge_id"]
    rebuilt = as_json(run(cli, "identity", "rebuild", "--json"))
    assert rebuilt["profiles_after"] == 1 and rebuilt["events"] == 4
    merges = as_json(run(cli, "identity", "merges", "user_id:42", "--json"))
    merge_id = merges["merges"][0]["merge_id"]
    split = as_json(run(cli, "identity", "unmerge", str(merge_id), "--json"))
    assert len(split["profiles"]) == 2
    assert as_json(run(cli, "profiles", "rebuild", "--json")) == {"profiles": 2}
    missing = run(cli, "identity", "unmerge", "999", ok=False)
    assert missing.exit_code == 1 and "no merge with id 999" in missing.stderr


def test_segments_and_privacy(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    listed = as_json(run(cli, "segments", "list", "--json"))
    assert {s["name"]: s["members"] for s in listed}["demo_audience"] == 1
    rule = as_json(run(cli, "segments", "show", "demo_audience", "--json"))
    assert rule["rule"]["all"][0] == {"field": "order_count", "op": "gte", "value": 1}
    assert len(as_json(run(cli, "segments", "members", "demo_audience", "--json"))) == 1
    exported = as_json(run(cli, "privacy", "export", "user_id:42"))
    assert len(exported["events"]) == 4
    erased = as_json(run(cli, "privacy", "erase", "user_id:42", "--yes", "--json"))
    assert erased["events"] == 4
    gone = run(cli, "profiles", "show", "user_id:42", ok=False)
    assert gone.exit_code == 1
    assert gone.stderr.strip() == "error: no profile has identifier user_id:42"


def test_init_writes_an_editable_project(cli: CliRunner, tmp_path: Path) -> None:
    shop = ["--brand", "Bean & Leaf", "--sender", "Bean & Leaf <hello@beanandleaf.example>"]
    run(cli, "init", str(tmp_path / "proj"), *shop)
    assert (tmp_path / "proj" / "monogram.yaml").exists()
    assert (tmp_path / "proj" / "segments" / "lifecycle.yaml").exists()
    written = {p: p.read_text() for p in (tmp_path / "proj").rglob("*.yaml")}
    assert "name: Bean & Leaf" in written[tmp_path / "proj" / "brand.yaml"]
    demo_words = [p for p, text in written.items() if "trailhead" in text.lower()]
    assert demo_words == []  # the demo shop's copy stays in `monogram demo`
    unnamed = run(cli, "init", str(tmp_path / "other"), ok=False)
    assert unnamed.exit_code == 1 and "--brand, --sender" in unnamed.stderr
    sloppy = run(cli, "init", str(tmp_path / "other"), "--brand", "X", "--sender", "me", ok=False)
    assert "write a name and an address" in sloppy.stderr
    nowhere = cli.invoke(app, ["stats"], env={"MONOGRAM_HOME": str(tmp_path / "typo")})
    assert nowhere.exit_code == 1 and "no Monogram workspace at" in nowhere.stderr
    assert "monogram init" in nowhere.stderr and not (tmp_path / "typo").exists()
    (tmp_path / "proj" / "monogram.yaml").write_text("lifecycle: {active_days: 500}\n")
    cli_env = {"MONOGRAM_HOME": str(tmp_path / "proj")}
    result = cli.invoke(app, ["stats"], env=cli_env)
    assert result.exit_code == 1
    assert "active_days < at_risk_days" in result.stderr


def test_demo_runs_end_to_end(cli: CliRunner) -> None:
    result = run(cli, "demo", "--customers", "60")
    assert "example profile user_id:cust-00001" in result.stdout
    stats = as_json(run(cli, "stats", "--json"))
    assert stats["profiles"] >= 60 and stats["products"] == 144


def _commands(group: Any, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if command.hidden:
            continue
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _commands(command, path + " ")
        else:
            yield path


def test_every_command_is_documented() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    commands = list(_commands(get_command(app)))
    assert "identity unmerge" in commands and "ingest replay" in commands
    missing = [c for c in commands if f"monogram {c}" not in docs]
    assert not missing, f"document these in docs/cli.md: {missing}"


def test_generate_and_preview_with_the_configured_model(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "monogram.yaml").write_text("llm: {backend: fake}\n")
    catalog_file = tmp_path / "catalog.jsonl"
    samples.write_jsonl(catalog_file, samples.catalog())
    run(cli, "catalog", "import", str(catalog_file))
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    # Without --strategy the placement's policy chooses, and the decision is logged.
    chosen = as_json(
        run(cli, "generate", "--placement", "email", "--customer", "user_id:42", "--json")
    )
    assert chosen["decision_id"].startswith("dec_") and chosen["message_id"].startswith("msg_")
    command = ["generate", "--placement", "email", "--customer", "user_id:42", "--json"]
    body = as_json(run(cli, *command, "--strategy", "warm"))
    assert {"customer", "placement", "strategy", "elements", "provenance"} <= set(body)
    greeting = body["elements"]["greeting"]
    assert (greeting["text"], greeting["source"]) == ("Hi Maya,", "locked")
    assert body["elements"]["subject"]["source"] == "generated"
    assert body["provenance"]["model"] == "fake"
    preview_only = as_json(run(cli, *command, "--strategy", "warm", "--no-record"))
    assert preview_only["decision_id"] is None and preview_only["message_id"] is None
    listed = as_json(run(cli, "placements", "list", "--json"))
    assert {p["name"] for p in listed} >= {"email", "ad", "support_reply"}
    bad = run(cli, "generate", "--placement", "emial", "--customer", "user_id:42", ok=False)
    assert bad.exit_code == 1 and "no placement named 'emial'" in bad.stderr
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_bytes(
        orjson.dumps(
            ev(
                "identify",
                "2026-11-12T00:00:00Z",
                userId="42",
                traits={"first_name": "<script>x()</script>"},
            )
        )
    )
    run(cli, "ingest", str(hostile), "-q")
    page = tmp_path / "preview.html"
    run(cli, "preview", "email", "--sample", "3", "-o", str(page))
    html = page.read_text()
    assert "user_id:42" in html and "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "<script" not in html
    assert "As it will arrive" in html and "<iframe sandbox" in html  # the rendered email
    run(cli, "preview", "ad", "--sample", "2", "-o", str(page))
    html = page.read_text()  # creatives inside the file: it needs no server
    assert html.count('<img src="data:image/png;base64,') >= 2 and "alt text:" in html


def test_review_and_explain_commands(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "monogram.yaml").write_text("llm: {backend: fake}\n")
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    body = as_json(
        run(
            cli,
            "generate",
            "--placement",
            "support_reply",
            "--customer",
            "user_id:42",
            "--input",
            "message=Hello, I have a question about my account.",
            "--strategy",
            "helpful",
            "--json",
        )
    )
    explained = as_json(run(cli, "explain", body["message_id"], "--json"))
    assert explained["status"] == "review"
    assert explained["elements"]["support_reply"]["checks"]["passed"] is True
    items = as_json(run(cli, "review", "list", "--json"))
    assert [i["element"] for i in items] == ["support_reply"]
    run(cli, "review", "approve", str(items[0]["review_id"]), "--reviewer", "ola")
    assert as_json(run(cli, "explain", body["message_id"], "--json"))["status"] == "ready"
    again = run(cli, "review", "approve", str(items[0]["review_id"]), ok=False)
    assert again.exit_code == 1 and "already approved" in again.stderr


def test_learn_commands(cli: CliRunner, tmp_path: Path) -> None:
    simulated = as_json(run(cli, "learn", "simulate", "--rounds", "3000", "--json"))
    for key in (
        "rounds",
        "reward",
        "oracle_reward",
        "uniform_reward",
        "regret",
        "uniform_regret",
        "best_strategy_per_segment",
    ):
        assert key in simulated
    assert simulated["regret"] < simulated["uniform_regret"]
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "monogram.yaml").write_text("llm: {backend: fake}\n")
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    shipped = tmp_path / "home" / "campaigns" / "demo.yaml"
    everyone = tmp_path / "home" / "campaigns" / "all.yaml"  # no holdout: a decision to reward
    everyone.write_text(shipped.read_text().replace("holdout: 0.1", "holdout: 0"))
    run(cli, "campaign", "run", str(everyone), "--json")
    assert simulated["decisions_logged"] == 3000
    from monogram.store.tables import decisions
    from monogram.workspace import open_workspace

    ws = open_workspace()
    with ws.store.read() as conn:
        made = [r.id for r in conn.execute(decisions.select()) if not r.holdout]
    ws.close()
    assert made, "the demo campaign logged a decision"
    rewarded = as_json(run(cli, "learn", "reward", made[0], "1", "--json"))
    again = as_json(run(cli, "learn", "reward", made[0], "1", "--json"))
    assert rewarded["counted"] and not again["counted"]
    assert (
        "a reward is a number from 0 to 1"
        in run(cli, "learn", "reward", made[0], "2", ok=False).output
    )
    updated = as_json(run(cli, "learn", "update", "--window-hours", "0", "--json"))
    assert updated["rewarded"].get("email", 0) == len(made) - 1  # the rewarded one is not redone
    rebuilt = as_json(run(cli, "learn", "rebuild", "--placement", "email", "--json"))
    assert rebuilt[0]["decisions"] == len(made)
    plot, page = tmp_path / "r.svg", tmp_path / "r.html"
    report = as_json(
        run(
            cli,
            "learn",
            "report",
            "--placement",
            "email",
            "--plot",
            str(plot),
            "--html",
            str(page),
            "--json",
        )
    )
    assert sum(r["decisions"] for r in report["strategies"]) == len(made)
    assert report["over_time"] and "<svg" in plot.read_text() and "Over time" in page.read_text()
    estimate = as_json(run(cli, "learn", "evaluate", "--placement", "email", "--json"))
    assert "effective sample size" in estimate["refused"]  # a handful cannot support one
    rehearsed = as_json(run(cli, "learn", "rehearse", "--weeks", "1", "--per-week", "2", "--json"))
    assert [c["campaign"] for c in rehearsed["campaigns"]] == ["rehearsal-01", "rehearsal-02"]


def test_consent_show_and_set(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    run(cli, "consent", "set", "user_id:42", "email_marketing=no", "ai_generation=yes")
    shown = as_json(run(cli, "consent", "show", "user_id:42", "--json"))
    assert shown["email_marketing"]["granted"] is False and shown["ai_generation"]["granted"]
    assert shown["email_marketing"]["source"] == "cli"
    table = run(cli, "consent", "show", "user_id:42").stdout
    assert "withdrawn" in table and "None" not in table
    typo = run(cli, "consent", "set", "user_id:42", "emial_marketing=yes", ok=False)
    assert typo.exit_code == 1 and "unknown consent (known:" in typo.stderr
    bad = run(cli, "consent", "set", "user_id:42", "email_marketing=maybe", ok=False)
    assert "write NAME=yes or NAME=no" in bad.stderr


def test_csv_imports_are_strict_and_can_be_checked_first(cli: CliRunner, tmp_path: Path) -> None:
    products = tmp_path / "products.csv"
    products.write_text(
        "id,name,category,price,description\n"
        'p1,Alpha,coffee,10,"A fine ""bean"""\n'
        'p2,Beta,coffee,11,"An unclosed quote\n'
        "p3,Gamma,tea,12,Green tea\n"
        'p4,Delta,tea,13,"Two\nlines"\n'
        "p5,Eps,tea,14,too,many\n"
    )
    checked = as_json(run(cli, "catalog", "import", str(products), "--check", "--json"))
    assert checked["imported"] == 3 and [r["row"] for r in checked["rejected"]] == [3, 7]
    assert as_json(run(cli, "catalog", "list", "--json")) == []  # --check wrote nothing
    report = as_json(run(cli, "catalog", "import", str(products), "--json"))
    reasons = {r["row"]: r["errors"][0]["reason"] for r in report["rejected"]}
    assert "quote opened on line 3" in reasons[3] and "6 columns" in reasons[7]
    listed = {p["id"]: p for p in as_json(run(cli, "catalog", "list", "--json"))}
    assert set(listed) == {"p1", "p3", "p4"}  # p3 was not swallowed into p2's description
    assert listed["p4"]["description"] == "Two\nlines"

    events = tmp_path / "events.csv"
    events.write_text(
        "type,userId,event,properties.revenue\n"
        "track,u1,Order Completed,12.5\n"
        'track,u2,"Order Completed,9\n'
        "track,u3,Order Completed,7\n"
    )
    dry = as_json(run(cli, "ingest", str(events), "--check", "--json"))
    assert dry["accepted"] == 2 and dry["rejected"] == 1
    assert as_json(run(cli, "stats", "--json"))["events"] == 0


def test_a_broken_file_is_named_and_the_rest_keeps_working(cli: CliRunner, tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    assert as_json(run(cli, "validate", "--json"))["ok"] is True
    (home / "segments" / "broken.yaml").write_text("- name: oops\n  rule: {field: nope}\n")
    (home / "segments" / "typo.yaml").write_text(
        "- name: typo\n  rule: {consent: emial_marketing}\n"
    )
    listed = run(cli, "segments", "list", "--json")
    names = {s["name"] for s in orjson.loads(listed.stdout)}
    assert "demo_audience" in names and "typo" in names and "oops" not in names
    assert "skipped" in listed.stderr and "broken.yaml" in listed.stderr
    checked = run(cli, "validate", "--json", ok=False)
    assert checked.exit_code == 1
    problems = as_json(checked)["problems"]
    assert any("broken.yaml" in p for p in problems)
    assert any("emial_marketing" in p and "match nobody" in p for p in problems)


def test_no_python_repr_reaches_a_user(cli: CliRunner, tmp_path: Path) -> None:
    reply = "Thanks for getting in touch. Your order is on its way."
    (tmp_path / "home" / "monogram.yaml").write_text(
        f"llm: {{backend: fake, options: {{text: '{reply}'}}}}\n"
    )
    catalog_file = tmp_path / "catalog.jsonl"
    samples.write_jsonl(catalog_file, samples.catalog())
    run(cli, "catalog", "import", str(catalog_file))
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    message = as_json(
        run(cli, "generate", "--placement", "support_reply", "--customer", "user_id:42",
            "--strategy", "helpful", "--input", "message=Where is my order?", "--json")
    )["message_id"]  # fmt: skip
    review_id = as_json(run(cli, "review", "list", "--json"))[0]["review_id"]
    product = as_json(run(cli, "catalog", "list", "--json"))[0]["id"]
    commands = [
        ["profiles", "show", "user_id:42"],
        ["profiles", "context", "user_id:42", "--purpose", "email_marketing"],
        ["segments", "list"],
        ["segments", "show", "demo_audience"],
        ["segments", "members", "demo_audience"],
        ["review", "show", str(review_id)],
        ["explain", message],
        ["catalog", "show", product],
        ["placements", "show", "email"],
        ["consent", "show", "user_id:42"],
        ["stats"],
        ["validate"],
    ]
    for command in commands:
        out = run(cli, *command).stdout
        for residue in ("datetime.datetime(", "{'", "': None", "': True", "': False", "Decimal("):
            assert residue not in out, (command, residue)
