"""The web console in a real browser: Playwright driving the system's Chromium against a real
server (uvicorn on localhost) over a demo workspace.

Each flow is a test. Screenshots of each page go to a temporary folder, or to ``docs/img/``
with ``MONOGRAM_SCREENSHOTS=1`` (how the docs' pictures are made).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from monogram import demo
from monogram.content.llm.fake import FakeModel
from monogram.core.settings import Settings
from monogram.keys import create_key
from monogram.pipeline import draft_for
from monogram.workspace import Workspace, open_workspace
from tests.pg import _free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("MONOGRAM_REQUIRE_BROWSER"):
        raise RuntimeError("no Chromium at /usr/bin/chromium: apt-get install chromium")
    pytest.skip("no system Chromium (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

SHOTS = (
    Path(__file__).resolve().parents[1] / "docs" / "img"
    if os.environ.get("MONOGRAM_SCREENSHOTS")
    else None
)


@dataclass
class Console:
    url: str
    ws: Workspace
    admin: str
    read: str
    shots: Path
    export: Path


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    import uvicorn

    from monogram.api.app import create_app

    home = tmp_path_factory.mktemp("console")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ws = open_workspace(
        Settings(home=home, database_url=f"sqlite:///{home / 'store.db'}", public_url=url)
    )
    demo.load_samples(ws, demo.write_samples(ws, customers=60))
    reply = "Your last order is on its way. It should arrive in a few days."
    ws.use_model(FakeModel(lambda m, o: reply))
    _, admin = create_key(ws.store, "admin", "Ada (marketing)")
    _, read = create_key(ws.store, "read", "Reed (analyst)")
    for customer in ("user_id:cust-00001", "user_id:cust-00002", "user_id:cust-00003"):
        # Support replies are high-risk: each waits in the review queue.
        draft_for(ws, customer, "support_reply", inputs={"message": "Where is my last order?"})
    ws.use_model(FakeModel(lambda m, o: "Fresh trail gear picked for your next weekend out."))
    server = uvicorn.Server(uvicorn.Config(create_app(ws), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    shots = SHOTS or home / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    yield Console(url, ws, admin, read, shots, home / "exports" / "demo.jsonl")
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    yield context.new_page()
    context.close()


def sign_in(page: Page, console: Console, key: str, target: str = "/ui/") -> None:
    page.goto(f"{console.url}{target}")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def shoot(page: Page, console: Console, name: str) -> None:
    page.screenshot(path=str(console.shots / f"console-{name}.png"), full_page=True)


def test_sign_in_refuses_a_wrong_key_then_takes_the_right_one(page: Page, console: Console) -> None:
    page.goto(f"{console.url}/ui/customers")
    expect(page).to_have_url(re.compile(r"/ui/sign-in\?next=/ui/customers"))
    page.get_by_label("API key").fill("mk_not_a_key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked API key")
    shoot(page, console, "sign-in")
    page.get_by_label("API key").fill(console.admin)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/ui/customers")  # back where it was going
    cookie = next(c for c in page.context.cookies() if c["name"] == "monogram_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.goto(f"{console.url}/ui/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    # Whole-base counts run in the background; the page looks again until they are in.
    expect(page.get_by_text("recounted in the background")).to_be_visible(timeout=20_000)
    with console.ws.store.read() as conn:
        from sqlalchemy import func, select

        from monogram.store.tables import profiles

        total = conn.execute(select(func.count()).select_from(profiles)).scalar_one()
    expect(page.locator(".stat").first).to_have_text(f"{total:,}")
    shoot(page, console, "overview")


def test_find_a_customer_by_email_and_open_the_profile(page: Page, console: Console) -> None:
    with console.ws.store.read() as conn:
        from sqlalchemy import select

        from monogram.store.tables import identifiers

        email = conn.execute(
            select(identifiers.c.value).where(identifiers.c.type == "email").limit(1)
        ).scalar_one()
    sign_in(page, console, console.admin, "/ui/customers")
    page.get_by_label("Find a customer").press_sequentially(email[:6], delay=20)
    result = page.locator("#results a").first
    expect(result).to_be_visible()  # answered as the letters were typed, no submit
    page.get_by_label("Find a customer").fill(email)
    expect(page.locator("#results li")).to_have_count(1)
    shoot(page, console, "customers")
    page.locator("#results a").first.click()
    expect(page.get_by_role("cell", name=email, exact=True)).to_be_visible()
    page.get_by_label("purpose", exact=True).select_option("email_marketing")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("pre").last).to_contain_text('"purpose"')
    shoot(page, console, "profile")


def test_preview_a_placement_for_three_customers(page: Page, console: Console) -> None:
    sign_in(page, console, console.admin, "/ui/content")
    shoot(page, console, "content")
    page.get_by_role("link", name="Preview for 3 customers").first.click()
    cards = page.locator("section.card")
    expect(cards).to_have_count(3)
    expect(cards.first.locator(".badge").first).to_be_visible()
    expect(page.get_by_text("gate:").first).to_be_visible()
    shoot(page, console, "preview")


def test_approve_one_review_item_and_edit_another(page: Page, console: Console) -> None:
    sign_in(page, console, console.admin, "/ui/reviews")
    items = page.locator(".review-item")
    expect(items).to_have_count(3)
    shoot(page, console, "reviews")
    first_id = items.first.get_attribute("aria-label")
    page.keyboard.press("a")  # the keyboard shortcut approves the selected (first) item
    expect(page.get_by_role("status")).to_contain_text("approved")
    expect(page.locator(".review-item")).to_have_count(2)
    assert page.locator(".review-item").first.get_attribute("aria-label") != first_id
    edited = "Thanks for getting in touch. Your order is on its way and should arrive soon."
    box = page.locator(".review-item").first.locator("textarea")
    box.fill(edited)
    page.locator(".review-item").first.get_by_role("button", name="Save edit and approve").click()
    expect(page.get_by_role("status")).to_contain_text("edited and approved")
    with console.ws.store.read() as conn:
        from monogram.quality import review

        decided = review.list_reviews(conn, None, 50)
    assert [r["status"] for r in decided].count("approved") == 1
    kept = [r for r in decided if r["status"] == "edited"]
    assert kept and kept[0]["edited"] == edited and kept[0]["original"] != edited


def test_a_read_key_cannot_approve(page: Page, console: Console) -> None:
    sign_in(page, console, console.read, "/ui/reviews")
    expect(page.locator(".review-item")).not_to_have_count(0)
    # A read session gets no buttons; a forged post (with its own CSRF token) is refused.
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{console.url}/ui/reviews", form={"csrf": token or "", "one": "2", "action": "approve"}
    )
    assert answer.status == 403
    assert "read key" in answer.text()
    page.set_content(answer.text())
    shoot(page, console, "read-key-refused")


def test_dry_run_then_run_a_campaign_and_count_a_click(page: Page, console: Console) -> None:
    sign_in(page, console, console.admin, "/ui/campaigns")
    shoot(page, console, "campaigns")
    page.get_by_role("link", name="demo", exact=True).click()
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("heading", name=re.compile("Dry run: \\d+ customers"))).to_be_visible()
    assert not console.export.exists()  # a dry run sends nothing
    sample = page.get_by_role("link", name="Preview the content for the first customers")
    expect(sample).to_have_attribute("href", re.compile(r"customers=profile_id%3A"))
    page.get_by_label("Channel").fill(f"file://{console.export}")
    page.get_by_role("button", name="Launch").click()
    expect(page).to_have_url(re.compile(r"/ui/campaigns/demo/results"), timeout=60_000)
    rows = [orjson.loads(line) for line in console.export.read_text().splitlines()]
    expect(page.locator('[data-state="sent"]')).to_have_text(str(len(rows)))
    shoot(page, console, "results")
    # A customer clicks the tracked link in their email: the click shows on the results page.
    link = re.search(r'href="(http://127\.0\.0\.1:\d+/t/c/[^"]+)"', rows[0]["html"])
    assert link, rows[0]["html"][:300]
    clicked = page.request.get(link.group(1).replace("&amp;", "&"), max_redirects=0)
    assert clicked.status == 302
    page.reload()
    cells = page.locator('[data-outcome="clicked"]')
    assert sum(int(cells.nth(i).inner_text()) for i in range(cells.count())) == 1
    # Launching again resumes: nobody is sent the email twice.
    page.goto(f"{console.url}/ui/campaigns/demo")
    page.get_by_label("Channel").fill(f"file://{console.export}")
    page.get_by_role("button", name="Launch").click()
    expect(page).to_have_url(re.compile(r"/ui/campaigns/demo/results"), timeout=60_000)
    assert len(console.export.read_text().splitlines()) == len(rows)


def test_switch_a_placement_to_the_learned_policy(page: Page, console: Console) -> None:
    sign_in(page, console, console.admin, "/ui/learning")
    row = page.locator("tr", has=page.locator('[data-mode="email"]'))
    row.get_by_label("serve").select_option("learned")
    row.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("alert")).to_contain_text("tick the confirmation")
    page.go_back()
    row = page.locator("tr", has=page.locator('[data-mode="email"]'))
    row.get_by_label("serve").select_option("learned")
    row.get_by_label("I confirm").check()
    row.get_by_role("button", name="Switch").click()
    expect(page.locator('[data-mode="email"]')).to_have_text("learned")
    shoot(page, console, "learning")
    with console.ws.store.read() as conn:
        from monogram.learning import store

        assert store.policy_mode(conn, console.ws.config, "email") == "learned"


def test_segment_rule_errors_show_inline_and_keys_page_works(page: Page, console: Console) -> None:
    sign_in(page, console, console.admin, "/ui/segments/demo_audience")
    page.get_by_label("Rule (YAML)").fill("all:\n  - {field: nope, op: gte, value: 1}\n")
    page.get_by_role("button", name="Preview size").click()
    expect(page.get_by_role("alert")).to_contain_text("rule.all.0.field")
    page.get_by_label("Rule (YAML)").fill("all:\n  - {field: order_count, op: gte, value: 2}\n")
    page.get_by_role("button", name="Preview size").click()
    expect(page.get_by_role("status")).to_contain_text("would have")
    shoot(page, console, "segment")
    page.goto(f"{console.url}/ui/customers/prof_no_such_person")
    expect(page.get_by_role("alert")).to_contain_text("no customer")
    page.goto(f"{console.url}/ui/keys")
    page.get_by_label("Name").fill("ESP export job")
    page.get_by_label("Scope").select_option("write")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("pre")).to_have_text(re.compile(r"^\S{20,}$"))
    shoot(page, console, "keys")


def test_reject_a_suggested_identity_match(page: Page, browser: Browser, console: Console) -> None:
    from sqlalchemy import insert, select

    from monogram.cdp import context
    from monogram.core.clock import now
    from monogram.store.tables import match_pairs

    with console.ws.store.read() as conn:
        left = context.resolve(conn, "user_id:cust-00004")
        right = context.resolve(conn, "user_id:cust-00005")
    with console.ws.store.write() as conn:
        conn.execute(
            insert(match_pairs).values(
                left_id=min(left, right),
                right_id=max(left, right),
                left_key="user_id:cust-00004",
                right_key="user_id:cust-00005",
                probability=0.93,
                evidence={"first_name": -4.2, "last_name": 8.1, "strongest": "last_name +8.1"},
                status="suggested",
                model_version=1,
                created_at=now(),
                note="first names differ and no date of birth agrees (one household?)",
            )
        )
    sign_in(page, console, console.read, "/ui/identity")
    pair = page.locator(".match-pair")
    expect(pair).to_have_count(1)
    expect(pair.first).to_contain_text("one household?")
    expect(page.get_by_role("button", name="Reject")).to_have_count(0)  # a read key only looks
    admin_context = browser.new_context(viewport={"width": 1360, "height": 900})
    admin = admin_context.new_page()
    sign_in(admin, console, console.admin, "/ui/identity")
    shoot(admin, console, "identity")
    admin.get_by_label("Note").fill("siblings")
    admin.get_by_role("button", name="Reject").click()
    expect(admin.get_by_role("status")).to_contain_text("rejected")
    expect(admin.locator(".match-pair")).to_have_count(0)
    with console.ws.store.read() as conn:
        row = conn.execute(select(match_pairs)).one()
    assert row.status == "rejected" and row.note == "siblings"
    assert row.decided_by.startswith("console:")
    admin_context.close()


def test_approve_a_proposed_variant_and_revive_a_retired_arm(page: Page, console: Console) -> None:
    from sqlalchemy import insert, select

    from monogram.core.clock import now
    from monogram.store.tables import retired_arms, variant_proposals

    check = {
        "customers": 3,
        "variant": {"passed": 3, "fell_back": 0, "texts": ["Trail shoes, light and quick"]},
        "current": {"passed": 2, "fell_back": 1, "texts": []},
    }
    with console.ws.store.write() as conn:
        proposal = conn.execute(
            insert(variant_proposals)
            .values(
                placement="ad",
                element="headline",
                variant_id="short1",
                instruction="Write a short ad headline. Use at most eight words.",
                how="rule: short",
                status="proposed",
                check=check,
                created_at=now(),
            )
            .returning(variant_proposals.c.id)
        ).scalar_one()
        conn.execute(
            insert(retired_arms).values(
                placement="email",
                strategy="warm",
                segment="lifecycle_stage=lapsed",
                at=now(),
                by="test",
                evidence={"decisions": 300, "reward_rate": 0.02, "best": "practical",
                          "best_reward_rate": 0.09},
            )
        )  # fmt: skip
    sign_in(page, console, console.admin, "/ui/learning")
    card = page.locator(".proposal")
    expect(card).to_have_count(1)
    expect(card.first).to_contain_text("Gate passed 3 of 3 customers")
    card.first.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("live")
    page.get_by_role("button", name="Revive").click()
    expect(page.get_by_role("status")).to_contain_text("is back in lifecycle_stage=lapsed")
    with console.ws.store.read() as conn:
        assert (
            conn.execute(
                select(variant_proposals.c.status).where(variant_proposals.c.id == proposal)
            ).scalar_one()
            == "live"
        )
        assert conn.execute(select(retired_arms.c.revived_at)).scalar_one() is not None
