"""`monogram learn simulate`."""

from __future__ import annotations

from pathlib import Path

import typer

from monogram.cli.common import console, new_app, print_json
from monogram.learning.simulator import load_world, simulate

app = new_app("The learning loop: which strategy works for whom.")


@app.command("simulate")
def simulate_command(
    rounds: int = typer.Option(50_000, "--rounds", min=1),
    config: Path = typer.Option(None, "--config", help="a world YAML (default: the shipped one)"),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Run the policy against simulated customers with known preferences; report regret."""
    result = simulate(load_world(config), rounds, seed=seed)
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
        None, "--window-hours", help="default: learning.window_hours"
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
    if not body["rewarded"]:
        console.print("no decision is past its reward window yet")


@app.command("report")
def report(
    placement: str = typer.Option(None, "--placement"),
    campaign: str = typer.Option(None, "--campaign", help="also the uplift over the holdout"),
    html: Path = typer.Option(None, "--html", help="write an HTML page with a chart"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Strategy performance per segment (and a campaign's uplift over its holdout)."""
    from monogram.cli.common import workspace
    from monogram.learning.report import html_report, strategy_report, uplift

    with workspace() as ws, ws.store.read() as conn:
        rows = strategy_report(conn, placement)
        lift = uplift(conn, campaign) if campaign else None
    if html:
        html.write_text(
            html_report(rows, f"Strategies{' for ' + placement if placement else ''}"),
            encoding="utf-8",
        )
    if json_out:
        print_json({"strategies": rows, "uplift": lift})
        return
    for row in rows:
        low, high = row["interval"]
        console.print(
            f"{row['placement']:<14} {row['segment']:<10} {row['strategy']:<10} "
            f"{row['decisions']:>6}  {row['reward_rate']:.3f} ({low:.3f}-{high:.3f})"
        )
    if lift:
        console.print(lift)
    if html:
        console.print(f"wrote {html}")


@app.command("evaluate")
def evaluate_command(
    placement: str = typer.Option(..., "--placement"),
    policy: str = typer.Option("learned", "--policy", help="learned, or always:STRATEGY"),
    min_ess: float = typer.Option(
        200.0, "--min-ess", help="refuse below this effective sample size"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Off-policy estimate (IPS, SNIPS, doubly robust) of a policy from the decision log."""
    import numpy as np
    from sqlalchemy import select

    from monogram.cli.common import workspace
    from monogram.core.errors import ValidationError
    from monogram.learning.evaluation import Unsupported, evaluate, logs_from_decisions
    from monogram.learning.store import load_policy
    from monogram.store.tables import decisions

    with workspace() as ws, ws.store.read() as conn:
        strategies = [s.name for s in ws.placements()[placement].strategies]
        rows = list(
            conn.execute(
                select(decisions).where(
                    decisions.c.placement == placement, decisions.c.rewarded_at.is_not(None)
                )
            )
        )
        learned, _ = load_policy(conn, placement, strategies, ws.config.learning.floor)
    logs, buckets = logs_from_decisions(rows, strategies)
    if len(logs.actions) == 0:
        raise ValidationError(
            f"no rewarded decisions for {placement!r} yet: run `monogram learn update`"
        )
    if policy == "learned":
        target = np.array([learned.probabilities(b) for b in buckets])
    elif policy.startswith("always:") and policy[7:] in strategies:
        target = np.zeros((len(buckets), len(strategies)))
        target[:, strategies.index(policy[7:])] = 1.0
    else:
        raise ValidationError(
            f"--policy is learned or always:STRATEGY with one of {', '.join(strategies)}"
        )
    try:
        result = evaluate(logs, target, min_ess=min_ess)
    except Unsupported as exc:
        result = {"refused": str(exc), "n": len(logs.actions)}
    if json_out:
        print_json(result)
        return
    if "refused" in result:
        console.print(f"no estimate: {result['refused']}")
        return
    console.print(
        f"{placement}, policy {policy}: {result['n']} logged decisions, "
        f"ESS {result['effective_sample_size']}"
    )
    for name in ("ips", "snips", "dr"):
        est = result[name]
        console.print(f"  {name:<6} {est['estimate']:.4f}  ({est['low']:.4f} - {est['high']:.4f})")
