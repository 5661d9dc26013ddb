"""What makes generated content worth sending: prompts in the request's shape, limits that
cut at sentence and clause ends, prefix states that do not change what the model writes,
batch generation, the model report card and the limits check."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from monogram import evaluate
from monogram.assembly import order_asked_about
from monogram.content.generate import fit, unusable
from monogram.content.llm import GenerationOptions
from monogram.content.llm.fake import FakeModel
from monogram.content.llm.llamacpp import LlamaCppModel
from monogram.content.placements import GeneratedElement
from monogram.content.prompts import build_prompt, fence, limit_warnings
from monogram.workspace import Workspace
from tests.test_cli import as_json, cli, run, write_events  # noqa: F401
from tests.test_generation import seed_customers


def element(**fields: object) -> GeneratedElement:
    spec = {"name": "x", "instruction": "Write it.", "fallbacks": [{"id": "d", "text": "ok"}]}
    return GeneratedElement.model_validate({**spec, **fields})


def test_long_text_keeps_whole_sentences_and_never_a_truncated_one() -> None:
    two = element(max_chars=80, single_line=False, max_sentences=2)
    text = "The tent is light. It packs small. It sets up in minutes and"
    assert fit(text, two, cut_off=True) == ("The tent is light. It packs small.", False)
    cut, still = fit("The tent is light and packs small and", two, cut_off=True)
    assert still and unusable(cut, two, cut_off=still) == "cut off at the token limit"
    # 3.5 kg is not a sentence end; a sentence limit applies even within the length limit.
    assert (
        fit("It weighs 3.5 kg. Strong. Light.", two, cut_off=False)[0]
        == "It weighs 3.5 kg. Strong."
    )


def test_one_line_text_keeps_its_leading_clauses() -> None:
    subject = element(max_chars=60)
    long = "Alder & Ash Lite Tent, a favourite among campers, and the pick for Calvin this year"
    assert fit(long, subject, cut_off=False) == (
        "Alder & Ash Lite Tent, a favourite among campers",
        False,
    )
    lone = "A single clause that runs on far beyond the limit of sixty characters"
    text, still = fit(lone, subject, cut_off=True)
    assert still and unusable(text, subject, cut_off=still) is not None


def test_prompt_is_worked_examples_in_the_requests_shape(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    seed_customers(ws)
    spec = ws.placements()["email"]
    opening = next(e for e in spec.generated() if e.name == "opening")
    source = {"lifecycle_stage": "active", "computed": {"favorite_categories": ["running"]}}
    prompt = build_prompt(ws.brand(), spec, opening, spec.strategies[0], source)
    system, *turns = prompt.messages
    assert "Task:" in system["content"] and "do not greet again" in system["content"]
    users = [m["content"] for m in turns if m["role"] == "user"]
    # Every example and the request are data blocks with the same labels, nothing else.
    assert all(u.startswith("<<<DATA") and u.endswith("DATA>>>") for u in users)
    assert (
        "order history: orders often" in users[-1] and "favourite categories: running" in users[-1]
    )
    assert all("order history:" in u for u in users)
    assert fence({}) == "<<<DATA\nnothing specific is known\nDATA>>>"


def test_support_reply_sees_the_order_asked_about_and_a_matching_example(
    sqlite_workspace: Workspace,
) -> None:
    orders = [{"order_id": "ord-2", "products": []}, {"order_id": "ord-1", "products": []}]
    assert order_asked_about(orders, "Where is ORD-1?")["order_id"] == "ord-1"
    assert order_asked_about(orders, "Where is my parcel?")["order_id"] == "ord-2"
    ws = sqlite_workspace
    spec = ws.placements()["support_reply"]
    reply = spec.generated()[0]
    source = {"input": {"message": "Please cancel order ord-1, wrong colour."}, "order": orders[1]}
    prompt = build_prompt(ws.brand(), spec, reply, spec.strategies[0], source)
    nearest_example = prompt.messages[-2]["content"]  # the answer just before the request
    assert "cancel" in nearest_example.lower()
    assert "purchases" not in prompt.messages[-1]["content"]


def test_prefix_states_do_not_change_what_the_model_writes() -> None:
    """Restoring a saved prefix state must give the same text as evaluating from scratch."""
    cached = LlamaCppModel(n_ctx=1024, threads=2, cache_mb=64)
    plain = LlamaCppModel(n_ctx=1024, threads=2, cache_mb=0)
    options = GenerationOptions(temperature=0.0, max_tokens=12, seed=1)
    prefix = [{"role": "system", "content": "You write short subject lines for a shop. " * 8}]
    other = [{"role": "system", "content": "You answer support questions politely. " * 8}]
    calls = []
    for n, category in enumerate(["running", "hiking", "yoga", "camping"]):
        calls.append([*prefix, {"role": "user", "content": f"Customer {n} likes {category}."}])
        calls.append([*other, {"role": "user", "content": f"Where is order {n}?"}])
    with_states = [cached.complete(m, options)[0].text for m in calls]
    without = [plain.complete(m, options)[0].text for m in calls]
    assert with_states == without
    assert any(entry.state for entry in cached._prefixes._entries.values())


def test_sentence_limit_stops_the_model_at_a_sentence_end() -> None:
    model = LlamaCppModel(n_ctx=1024, threads=2, cache_mb=0)
    messages = [{"role": "user", "content": "Write a long story about a hiker in the hills."}]
    free = model.complete(messages, GenerationOptions(max_tokens=120, seed=3))[0]
    limited = model.complete(messages, GenerationOptions(max_tokens=120, seed=3, max_sentences=1))[
        0
    ]
    assert limited.completion_tokens < free.completion_tokens
    assert limited.finish_reason == "stop"


def test_report_scores_the_gate_against_labels() -> None:
    def out(text: str, passed: bool, placement: str = "email") -> evaluate.Output:
        return evaluate.Output(
            "m", "user_id:1", placement, "subject", "warm", text, passed, None, False, 0.5, False
        )

    outputs = [out("a", True), out("b", True), out("c", False), out("d", False, "ad")]
    labels = {o.key: {"label": n} for o, n in zip(outputs, [2, 0, 2, 1], strict=True)}
    body = evaluate.report(outputs, labels)
    overall = body["all"]
    assert overall["gate_passed"] == 0.5 and overall["fallback"] == 0.5
    assert overall["usable"] == 0.75 and overall["usable_and_passed"] == 0.25
    assert overall["passed_but_unusable"] == 0.5 and overall["rated_two_passed"] == 0.5
    assert body["ad"]["elements"] == 1 and "usable" in evaluate.format_report(body)


def test_generate_for_a_segment_in_one_process(cli: CliRunner, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "monogram.yaml").write_text("llm: {backend: fake}\n")
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    result = run(cli, "generate", "--placement", "email", "--segment", "demo_audience", "--json")
    lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert lines and all(body["placement"] == "email" for body in lines)
    missing = run(cli, "generate", "--placement", "email", ok=False)
    assert missing.exit_code != 0 and "--customer or --segment" in missing.output


def test_placements_check_warns_about_limits_no_candidate_meets(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    spec = ws.placements()["email"]
    assert limit_warnings(ws.brand(), spec) == []
    broken = spec.model_copy(deep=True)
    subject = next(e for e in broken.generated() if e.name == "subject")
    subject.max_chars = 20
    subject.options.max_tokens = 2
    warnings = limit_warnings(ws.brand(), broken)
    assert any("cannot hold even its shortest approved copy" in w for w in warnings)
    assert any("over max_chars 20" in w for w in warnings)


def test_models_eval_reports_on_the_users_own_customers(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    seed_customers(ws)
    ws.use_model(FakeModel(lambda m, o: "New running gear for your next run, picked for you."))
    customers = evaluate.sample_customers(ws, 5)
    assert customers == ["user_id:u1"]
    outputs = evaluate.run(ws, customers, placements=["email", "ad"])
    assert {o.placement for o in outputs} == {"email", "ad"}
    labels = {o.key: {"label": 1} for o in outputs}
    body = evaluate.report(outputs, labels)
    assert body["all"]["labelled"] == len(outputs) and body["all"]["usable"] == 1.0
    passed, why = evaluate.regate(ws, orjson.loads(orjson.dumps(outputs[0].__dict__)))
    assert passed == outputs[0].passed, why


@pytest.mark.parametrize("bad", ["2", "x"])
def test_labels_must_be_ratings(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "labels.jsonl"
    row = {"placement": "p", "element": "e", "customer": "c", "text": "t", "label": bad}
    path.write_text(orjson.dumps(row).decode() + "\n")
    with pytest.raises(Exception, match="label must be 0, 1 or 2"):
        evaluate.read_labels(path)


LABELS = Path(__file__).resolve().parent / "data" / "content_labels.jsonl"
# What the gate must keep holding on the labelled set (docs/quality.md has the figures and how
# the labels were made): of the texts it passes, at most this share rated unusable; of the
# texts rated "send as is", at least this share passed. These are regression floors a little
# below today's figures, not the targets: the issue asks for at most 10% passed-but-unusable,
# which rule checks on the bundled 135M model do not reach (see the docs).
MAX_PASSED_UNUSABLE = 0.23
MIN_RATED_TWO_PASSED = 0.95


def test_the_gate_against_the_labelled_set(tmp_path: Path) -> None:
    from monogram import samples
    from monogram.cdp import catalog
    from monogram.core.settings import Settings
    from monogram.workspace import open_workspace

    rows = [orjson.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    assert len(rows) >= 300 and len({r["model"] for r in rows}) >= 2
    assert {r["label"] for r in rows} <= {0, 1, 2} and all(r["reason"] for r in rows)
    ws = open_workspace(Settings(home=tmp_path / "home"))
    catalog.import_products(ws.store, enumerate(samples.catalog()))
    verdicts = [evaluate.regate(ws, row) for row in rows]
    passed = [row for row, (ok, _) in zip(rows, verdicts, strict=True) if ok]
    unusable = [row["text"] for row in passed if row["label"] == 0]
    twos = [(r, ok, why) for r, (ok, why) in zip(rows, verdicts, strict=True) if r["label"] == 2]
    missed = [(row["text"], why) for row, ok, why in twos if not ok]
    assert len(unusable) / len(passed) <= MAX_PASSED_UNUSABLE, unusable[:10]
    assert 1 - len(missed) / len(twos) >= MIN_RATED_TWO_PASSED, missed[:10]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("", "empty output"),
        ("<<<DATA\nfirst name: Ana\nDATA>>>", "residue"),
        ("Ŝ̷͓ ####### @@@@ ¤¤¤ ĳĳĳĳ", "quality gate"),
        (None, "model failed"),
    ],
)
def test_a_model_that_answers_nothing_or_garbage_falls_back_with_the_reason(
    sqlite_workspace: Workspace, answer: str | None, reason: str
) -> None:
    from monogram.pipeline import draft_for

    ws = sqlite_workspace
    seed_customers(ws)
    ws.use_model(FakeModel(lambda m, o: answer))  # type: ignore[arg-type,return-value]
    draft = draft_for(ws, "user_id:u1", "email", strategy="warm")
    subject = draft.elements["subject"]
    assert subject.source == "fallback" and reason in (subject.reason or ""), subject.reason


def test_placements_check_and_models_eval_from_the_cli(cli: CliRunner, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "monogram.yaml").write_text("llm: {backend: fake}\n")
    run(cli, "ingest", str(write_events(tmp_path / "e.jsonl")), "-q")
    checked = run(cli, "placements", "check", "--json")
    assert all(items == [] for items in as_json(checked).values())
    email = tmp_path / "home" / "placements" / "email.yaml"
    email.write_text(email.read_text().replace("max_chars: 60", "max_chars: 20"))
    warned = run(cli, "placements", "check", "email", ok=False)
    assert warned.exit_code == 1 and "over max_chars 20" in warned.output
    refused = run(cli, "models", "eval", "--customers", "3", ok=False)
    assert refused.exit_code != 0 and "allows every purpose" in refused.output
    bad = run(cli, "models", "eval", "--with", "nonsense", ok=False)
    assert bad.exit_code != 0 and "llamacpp:PATH.gguf" in bad.output


def test_approved_copy_takes_no_second_full_stop_after_a_name_that_has_one() -> None:
    from monogram.content.prompts import render_locked

    template = "Thanks for being part of {{ brand }}. More soon..."
    assert render_locked(template, {"brand": "Trailhead & Co."}, origin="t") == (
        "Thanks for being part of Trailhead & Co. More soon..."
    )
    assert render_locked(template, {"brand": "Trailhead"}, origin="t") == (
        "Thanks for being part of Trailhead. More soon..."
    )
