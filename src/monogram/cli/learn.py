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
    backend: str = typer.Option("thompson", "--backend", help="thompson or vw"),
    floor: float = typer.Option(0.01, "--floor", min=0, max=0.2, help="exploration floor"),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Run the policy against simulated customers with known preferences; report regret."""
    from monogram.cli.common import progress_bar
    from monogram.core.errors import ValidationError

    if backend not in ("thompson", "vw"):
        raise ValidationError(f"--backend: thompson or vw, not {backend!r}")
    world = load_world(config)
    if json_out:
        result = simulate(world, rounds, seed=seed, floor=floor, backend=backend)
        print_json(result)
        return
    with progress_bar(unit="decisions") as bar:
        task = bar.add_task("simulating", total=rounds, rate="0")

        def advance(done: int, _total: int) -> None:
            elapsed = max(bar.tasks[task].elapsed or 1e-9, 1e-9)
            bar.update(task, completed=done, rate=f"{done / elapsed:,.0f}")

        result = simulate(world, rounds, seed=seed, floor=floor, backend=backend, progress=advance)
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
