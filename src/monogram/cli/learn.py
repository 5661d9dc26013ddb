"""`monogram learn simulate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from monogram.cli.common import console, new_app, print_json, print_readable
from monogram.learning.simulator import load_world, simulate

app = new_app("The learning loop: which strategy works for whom.")


@app.command("simulate")
def simulate_command(
    rounds: int = typer.Option(50_000, "--rounds", min=1),
    config: Path = typer.Option(None, "--config", help="a world YAML (default: the shipped one)"),
    backend: str = typer.Option("thompson", "--backend", help="thompson or vw"),
    floor: float = typer.Option(0.01, "--floor", min=0, max=0.2, help="exploration floor"),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Run the policy against simulated customers with known preferences; report regret."""
    from monogram.cli.common import advance, progress_bar
    from monogram.core.errors import ValidationError

    if backend not in ("thompson", "vw"):
        raise ValidationError(f"--backend: thompson or vw, not {backend!r}")
    world = load_world(config)
    with progress_bar(unit="decisions", quiet=json_out) as bar:
        task = bar.add_task("simulating", total=rounds, rate="0")
        result = simulate(
            world, rounds, seed=seed, floor=floor, backend=backend, progress=advance(bar, task)
        )
    if json_out:
        print_json(result)
        return
    share = 100 * result["regret"] / max(result["uniform_regret"], 1e-9)
    r = result
    console.print(
        f"{rounds:,} decisions: reward {r['reward']:.0f} (oracle {r['oracle_reward']:.0f}, "
        f"uniform {r['uniform_reward']:.0f}, best single strategy {r['best_single_reward']:.0f})"
    )
    console.print(
        f"regret {r['regret']:.0f}: {share:.0f}% of uniform random's ({r['uniform_regret']:.0f})"
    )
    for segment, best in result["best_strategy_per_segment"].items():
        mark = "ok" if best["true"] == best["learned"] else "MISSED"
        console.print(
            f"  {segment:<18} true {best['true']:<10} learned {best['learned']:<10} {mark}"
        )


@app.command("update")
def update(
    window_hours: float = typer.Option(
        None,
        "--window-hours",
        help="reward decisions older than this (default: their reward window; 0: all now)",
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Reward decisions whose window has passed and update each placement's policy."""
    from monogram.cli.common import workspace
    from monogram.learning.update import update_policies

    with workspace() as ws:
        body = update_policies(ws, window_hours)
    if json_out:
        print_json(body)
        return
    for placement, count in body["rewarded"].items():
        console.print(
            f"{placement}: {count} decisions rewarded; policy now v{body['versions'][placement]}"
        )
    for placement, wait in body["waiting"].items():
        console.print(
            f"{placement}: {wait['decisions']} decisions wait for their {wait['window_hours']:g} h "
            f"reward window (outcomes count within it); the first is due {wait['next_due']}. "
            "`--window-hours 0` rewards them now with the outcomes so far",
            markup=False,
        )
    if not body["rewarded"] and not body["waiting"]:
        console.print("no decision to reward: nothing was decided since the last update")


@app.command("report")
def report(
    placement: str = typer.Option(None, "--placement"),
    campaign: str = typer.Option(None, "--campaign", help="also the uplift over the holdout"),
    by: str = typer.Option("week", "--by", help="trend period: day or week"),
    html: Path = typer.Option(None, "--html", help="write an HTML page with charts and tables"),
    plot: Path = typer.Option(None, "--plot", help="write the charts as a .png or .svg file"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Strategy performance per segment, overall and over time (and a campaign's uplift)."""
    from monogram.cli.common import workspace
    from monogram.learning.report import html_report, save_plot, strategy_report, uplift

    with workspace() as ws, ws.store.read() as conn:
        rows = strategy_report(conn, placement)
        trend = strategy_report(conn, placement, by=by)
        lift = uplift(conn, campaign) if campaign else None
    title = f"Strategies{' for ' + placement if placement else ''}"
    if html:
        html.write_text(html_report(rows, title, trend), encoding="utf-8")
    if plot:
        save_plot(rows, plot, trend)
    if json_out:
        print_json({"strategies": rows, "over_time": trend, "uplift": lift})
        return
    if not rows:
        console.print("no rewarded decisions yet: `monogram learn update` rewards them")
    for row in rows:
        low, high = row["interval"]
        console.print(
            f"{row['placement']:<14} {row['segment']:<28} {row['strategy']:<10} "
            f"{row['decisions']:>6}  {row['reward_rate']:.3f} ({low:.3f}-{high:.3f})"
        )
    periods = sorted({r["period"] for r in trend})
    if len(periods) > 1:
        console.print(f"[bold]over time[/] (reward rate per {by}, all segments)")
        for strategy in sorted({r["strategy"] for r in trend}):
            cells = []
            for period in periods:
                hits = [r for r in trend if r["strategy"] == strategy and r["period"] == period]
                n = sum(r["decisions"] for r in hits)
                rate = sum(r["reward_rate"] * r["decisions"] for r in hits) / n if n else 0.0
                cells.append(f"{period} {rate:.3f} ({n})")
            console.print(f"  {strategy:<10} " + "  ".join(cells))
    if lift:
        print_readable({"uplift": lift})
    for path in (html, plot):
        if path:
            console.print(f"wrote {path}")


@app.command("templates")
def templates(
    placement: str = typer.Option(None, "--placement"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Which prompt variant wins per segment (reward rate with 95% intervals), over every
    strategy that uses it."""
    from monogram.cli.common import workspace
    from monogram.learning.report import template_report

    with workspace() as ws, ws.store.read() as conn:
        specs = ws.placements()
        if placement:
            specs = {placement: specs[placement]} if placement in specs else {}
        rows = template_report(conn, specs)
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("no rewarded decisions for prompt variants yet (`monogram learn update`)")
    for row in rows:
        low, high = row["interval"]
        mark = " <- wins" + (" (clearly)" if row["clear"] else " (intervals overlap)")
        console.print(
            f"{row['placement']:<14} {row['segment']:<28} {row['variant']:<16} "
            f"{row['decisions']:>6}  {row['reward_rate']:.3f} ({low:.3f}-{high:.3f})"
            + (mark if row["winner"] else ""),
            markup=False,
        )


@app.command("retire")
def retire(
    min_decisions: int = typer.Option(
        200, "--min-decisions", help="rewarded decisions each arm needs before it is judged"
    ),
    by: str = typer.Option("operator", "--by"),
    dry_run: bool = typer.Option(False, "--dry-run", help="name them; retire nothing"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Retire, per segment, the arms (strategies and prompt variants) whose reward rate is
    below the segment's best with 95% confidence; the evidence is kept, and the policy stops
    choosing them there. Approved-copy strategies and the baseline are never retired."""
    from monogram.cli.common import workspace
    from monogram.learning import variants

    with workspace() as ws:
        fresh = variants.retire(
            ws.store, ws.placements(), by=by, min_decisions=min_decisions, dry_run=dry_run
        )
        with ws.store.read() as conn:
            standing = variants.list_retired(conn)
    if json_out:
        print_json({"retired_now": fresh, "retired": standing, "dry_run": dry_run})
        return
    verb = "would retire" if dry_run else "retired"
    if not fresh:
        console.print(f"nothing to retire (arms need {min_decisions} rewarded decisions each)")
    for item in fresh:
        e = item["evidence"]
        console.print(
            f"{verb} {item['placement']}/{item['strategy']} in {item['segment']}: "
            f"{e['reward_rate']:.3f} ({e['interval'][0]:.3f}-{e['interval'][1]:.3f}, "
            f"{e['decisions']} decisions) against {e['best']} {e['best_reward_rate']:.3f} "
            f"({e['best_interval'][0]:.3f}-{e['best_interval'][1]:.3f})",
            markup=False,
        )
    if standing:
        console.print(
            f"{len(standing)} arm(s) retired in all; `monogram learn revive` brings one back"
        )


@app.command("revive")
def revive(
    placement: str = typer.Argument(...),
    strategy: str = typer.Argument(..., help="the arm, e.g. warm__short"),
    segment: str = typer.Option(None, "--segment", help="default: every segment"),
) -> None:
    """Bring a retired arm back into the policy's choice."""
    from monogram.cli.common import workspace
    from monogram.learning import variants

    with workspace() as ws:
        count = variants.revive(ws.store, placement, strategy, segment)
    console.print(f"revived {placement}/{strategy} in {count} segment(s)")


@app.command("exemplars")
def learned_exemplars(
    action: str = typer.Argument("list", help="list, build or rollback"),
    version: int = typer.Option(None, "--version", help="rollback: the version (0: none)"),
    per_segment: int = typer.Option(3, "--per-segment", help="build: examples per element"),
    consent: str = typer.Option("ai_generation", "--consent", help="build: the purpose"),
    by: str = typer.Option("operator", "--by"),
    note: str = typer.Option("", "--note"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Worked examples learned per segment from reviewed edits and rewarded copy: `build` a
    new version (made active), `list` the versions, `rollback --version N` to an earlier one."""
    from monogram.cli.common import workspace
    from monogram.learning import exemplars

    if action not in ("list", "build", "rollback"):
        raise typer.BadParameter("list, build or rollback", param_hint="ACTION")
    with workspace() as ws:
        if action == "build":
            built = exemplars.build(
                ws.store,
                ws.placements(),
                by=by,
                consent=consent,
                per_segment=per_segment,
                note=note,
            )
            if not json_out:
                console.print(
                    f"exemplar set v{built['version']}: {built['exemplars']} examples "
                    f"({', '.join(f'{k} {v}' for k, v in built['by_source'].items())}), active"
                )
        elif action == "rollback":
            if version is None:
                raise typer.BadParameter("give --version", param_hint="--version")
            exemplars.rollback(ws.store, version)
            if not json_out:
                console.print(f"active exemplar set: {'none' if version == 0 else f'v{version}'}")
        with ws.store.read() as conn:
            listed = exemplars.sets(conn)
    if json_out:
        print_json(listed)
    elif action == "list":
        if not listed:
            console.print("no learned exemplars yet: `monogram learn exemplars build`")
        for item in listed:
            mark = " (active)" if item["active"] else ""
            when = f"{item['created_at']:%Y-%m-%d %H:%M}"
            console.print(
                f"v{item['version']}{mark}: {item['exemplars']} examples, {when} by {item['by']} "
                f"{item['note']}",
                markup=False,
            )


@app.command("propose")
def propose_variants(
    placement: str = typer.Argument(...),
    sample: int = typer.Option(5, "--sample", help="customers each proposal is tried on"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Propose prompt variants rewritten from the winning instruction (shorter, plainer,
    warmer, one concrete fact), try each on a sample of customers (nothing recorded) beside the
    current one, and keep the figures; a person approves with `monogram learn decide`."""
    from monogram import proposing
    from monogram.cli.common import workspace

    with workspace() as ws, console.status("trying proposals on sample customers") as status:
        found = proposing.propose(
            ws, placement, sample=sample, progress=lambda what: status.update(f"trying {what}")
        )
    if json_out:
        print_json(found)
        return
    if not found:
        console.print("nothing new to propose for this placement")
    for item in found:
        check = item["check"]
        console.print(
            f"[bold]{item['id']}[/] {item['placement']}.{item['element']} {item['variant_id']} "
            f"({item['how']}): gate passed {check['variant']['passed']}/{check['customers']} "
            f"(current {check['current']['passed']}/{check['customers']})",
            highlight=False,
        )
        console.print(f"    {item['instruction']}", markup=False)


@app.command("proposals")
def list_proposals(
    status: str = typer.Option(None, "--status", help="proposed, live or rejected"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Proposed, live and rejected prompt variants, with their offline checks."""
    from monogram.cli.common import workspace
    from monogram.learning import proposals

    with workspace() as ws, ws.store.read() as conn:
        found = proposals.listed(conn, status)
    if json_out:
        print_json(found)
        return
    for item in found:
        check = item["check"] or {}
        passed = (check.get("variant") or {}).get("passed", "-")
        console.print(
            f"{item['id']} [{item['status']}] {item['placement']}.{item['element']} "
            f"{item['variant_id']}: passed {passed}/{check.get('customers', '-')}  "
            f"{item['instruction']}",
            markup=False,
        )


@app.command("decide")
def decide_proposal(
    proposal_id: int = typer.Argument(...),
    action: str = typer.Argument(..., help="approve (the variant goes live) or reject"),
    by: str = typer.Option("operator", "--by"),
    note: str = typer.Option("", "--note"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Approve a proposed prompt variant (it becomes a learning arm at once) or reject it."""
    from monogram.cli.common import workspace
    from monogram.learning import proposals

    with workspace() as ws:
        decided = proposals.decide(ws.store, proposal_id, action, by, note)
    if json_out:
        print_json(decided)
    else:
        console.print(f"proposal {proposal_id}: {decided['status']}")


@app.command("export-preferences")
def export_preferences(
    output: Path = typer.Argument(..., help="the JSONL file to write"),
    placement: str = typer.Option(None, "--placement"),
    source: list[str] = typer.Option(
        None, "--source", help="review_edit, review_reject, gate (default: all)"
    ),
    consent: str = typer.Option(
        "ai_generation", "--consent", help="only customers who consent to this purpose"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Write preference pairs (prompt, chosen, rejected) from reviewed edits and rejections
    and from candidates the gate turned down, for TRL's DPO/ORPO trainers (PII scrubbed)."""
    from monogram.cli.common import workspace
    from monogram.learning import preferences

    chosen_sources = tuple(source) if source else preferences.SOURCES
    with workspace() as ws, ws.store.read() as conn:
        report = preferences.export(
            conn,
            ws.brand(),
            ws.placements(),
            output,
            consent=consent,
            sources=chosen_sources,
            placement=placement,
        )
    if json_out:
        print_json(report.as_dict())
        return
    by_source = ", ".join(f"{k} {v:,}" for k, v in report.by_source.items())
    console.print(f"wrote {report.pairs:,} preference pairs to {output} ({by_source})")
    for why, count in report.skipped.items():
        console.print(f"  left out {count:,}: {why}")


@app.command("reward")
def reward_command(
    decision_id: str = typer.Argument(..., help="the decision id a choice returned"),
    value: float = typer.Argument(..., help="a reward from 0 to 1"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Reward one decision now (counted once; a second reward is reported, not counted)."""
    from monogram.cli.common import workspace
    from monogram.learning.store import reward

    with workspace() as ws, ws.store.write() as conn:
        body = reward(conn, ws.config, ws.placements(), decision_id, value)
    if json_out:
        print_json(body)
    elif body["counted"]:
        console.print(f"rewarded {decision_id} with {value}; policy now v{body['version']}")
    else:
        console.print(f"{decision_id} was rewarded before: not counted again")


@app.command("rebuild")
def rebuild_command(
    placement: str = typer.Option(None, "--placement", help="default: every placement"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Relearn policies from the rewarded decisions still in the log (after erasures, a
    backend switch or new features)."""
    from monogram.cli.common import workspace
    from monogram.content.placements import get_placement
    from monogram.learning.store import rebuild

    with workspace() as ws, ws.store.write() as conn:
        chosen = (
            [get_placement(ws.placements(), placement)] if placement else ws.placements().values()
        )
        results = [rebuild(conn, ws.config, p) for p in chosen]
    if json_out:
        print_json(results)
        return
    for result in results:
        console.print(
            f"{result['placement']}: relearned from {result['decisions']:,} rewarded decisions; "
            f"policy now v{result['version']}"
        )


@app.command("rehearse")
def rehearse_command(
    weeks: int = typer.Option(3, "--weeks", min=1),
    per_week: int = typer.Option(2, "--per-week", min=1, help="campaigns a week"),
    placement: str = typer.Option("email", "--placement"),
    audience: str = typer.Option("demo_audience", "--audience"),
    responses: Path = typer.Option(
        None, "--responses", help="a YAML of simulated click rates (default: the demo's)"
    ),
    in_place: bool = typer.Option(
        False, "--in-place", help="run on this workspace instead of a copy (scratch data only)"
    ),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Simulated weeks of campaigns against customers with known preferences, on a copy of
    this workspace: which strategies the policy learns for which segments."""
    from monogram.campaigns.rehearsal import DEMO_RESPONSES, load_responses, rehearse
    from monogram.cli.common import advance, progress_bar, workspace

    world = load_responses(responses) if responses else DEMO_RESPONSES
    with workspace() as ws, progress_bar(unit="campaigns", quiet=json_out) as bar:
        task = bar.add_task("rehearsing", total=weeks * per_week, rate="0")
        result = rehearse(
            ws,
            responses=world,
            placement=placement,
            audience=audience,
            weeks=weeks,
            per_week=per_week,
            seed=seed,
            in_place=in_place,
            progress=advance(bar, task),
        )
    if json_out:
        print_json(result)
        return
    show_rehearsal(result)


def show_rehearsal(result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("campaign", "date", "customers", "click rate", "orders", "held out (orders)")
    for row in result["campaigns"]:
        table.add_row(
            row["campaign"],
            row["at"][:10],
            f"{row['decisions']:,}",
            f"{row['click_rate']:.1%}",
            str(row["orders"]),
            f"{row['holdout']} ({row['holdout_orders']})",
        )
    console.print(table)
    console.print(f"learned per {result['feature']} (policy v{result['policy_version']}):")
    for value, best in result["best_strategy_per_context"].items():
        mark = "ok" if best["true"] == best["learned"] else "not yet"
        console.print(
            f"  {value:<10} true {best['true']:<9} learned {best['learned']:<9} "
            f"{mark:<7} {best['decisions']:>6,} decisions"
        )


@app.command("evaluate")
def evaluate_command(
    placement: str = typer.Option(..., "--placement"),
    policy: str = typer.Option(
        "learned", "--policy", help="learned, uniform, baseline, or always:STRATEGY"
    ),
    min_ess: float = typer.Option(
        200.0, "--min-ess", help="refuse below this effective sample size"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Off-policy estimate (IPS, SNIPS, doubly robust) of a policy from the decision log."""
    from monogram.cli.common import workspace
    from monogram.content.placements import get_placement
    from monogram.learning.evaluation import evaluate_candidate

    with workspace() as ws, ws.store.read() as conn:
        spec = get_placement(ws.placements(), placement)
        result = evaluate_candidate(conn, ws.config, spec, policy, min_ess=min_ess)
    if json_out:
        print_json(result)
        return
    if "refused" in result:
        console.print(f"no estimate from {result['n']} rewarded decisions: {result['refused']}")
        return
    console.print(
        f"{placement}, policy {policy}: {result['n']} logged decisions, "
        f"ESS {result['effective_sample_size']}"
    )
    for name in ("ips", "snips", "dr"):
        est = result[name]
        console.print(f"  {name:<6} {est['estimate']:.4f}  ({est['low']:.4f} - {est['high']:.4f})")
