"""`monogram campaign run|status`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from monogram.campaigns import load_campaign, sender_for
from monogram.campaigns.executors import make_executor
from monogram.campaigns.proof import send_proof
from monogram.campaigns.run import run_campaign
from monogram.cdp import identity
from monogram.cli.common import console, new_app, print_json, progress_bar, workspace
from monogram.core.errors import ValidationError
from monogram.delivery import outbox
from monogram.delivery.channels import channel_from_url
from monogram.learning.outcomes import campaign_outcomes

app = new_app("Campaigns: one placement to an audience, resumable.")


@app.command("run")
def run(
    path: Path = typer.Argument(..., help="a campaign YAML file, e.g. campaigns/demo.yaml"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="plan only: who is eligible and who is held out; logs nothing"
    ),
    limit: int = typer.Option(None, "--limit", help="at most N customers"),
    concurrency: int = typer.Option(
        1, "--concurrency", help="local executor: customers in flight at once"
    ),
    executor: str = typer.Option(
        "local",
        "--executor",
        help="local (this process), processes (one worker process per core: faster on a "
        "multi-core machine), ray, or one a plug-in registers",
    ),
    ray_address: str = typer.Option(
        None, "--ray-address", help="ray: the cluster, e.g. ray://head:10001 (default: a local Ray)"
    ),
    workers: int = typer.Option(
        None, "--workers", min=1, help="processes/ray: workers (default: the CPUs)"
    ),
    channel: str = typer.Option(
        None, "--channel", help="smtp://host:port, file:///out.jsonl, https://..."
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Run (or resume) a campaign; rerunning after a crash sends nothing twice."""
    spec = load_campaign(path)
    runner = make_executor(
        executor, concurrency=concurrency, ray_address=ray_address, workers=workers
    )
    with workspace() as ws:
        url = (channel or spec.channel).format(home=ws.home.resolve(), campaign=spec.name)
        target = channel_from_url(
            url,
            sender=sender_for(spec, ws.brand()),
            webhook_secret=os.environ.get("MONOGRAM_WEBHOOK_SECRET"),
        )
        with progress_bar(unit="customers", quiet=json_out) as bar:
            task = bar.add_task(f"campaign {spec.name}", total=None, rate="-")

            def advance(_outcome: str) -> None:
                bar.advance(task)
                done, elapsed = bar.tasks[task].completed, bar.tasks[task].elapsed or 1e-9
                bar.update(task, rate=f"{done / elapsed:.1f}")

            summary = run_campaign(
                ws,
                spec,
                target,
                dry_run=dry_run,
                limit=limit,
                progress=advance,
                executor=runner,
                on_warning=lambda text: bar.console.print(f"[yellow]warning:[/] {text}"),
                on_audience=lambda total: bar.update(task, total=total),
            )
    body = {**summary.as_dict(), "channel": url}
    if json_out:
        print_json(body)
        return
    console.print(
        f"[bold]{spec.name}[/]: {summary.audience} in the audience, "
        f"{summary.seconds:.1f} s, channel {url}"
    )
    for outcome, count in summary.outcomes.most_common():
        console.print(f"  {outcome:<12} {count:>6}")
    for error, count in summary.errors.most_common(8):
        console.print(f"  [red]{count:>6}  step error: {error}[/] (rerun to retry)")
    for reason, count in summary.reasons.most_common(8):
        console.print(f"  [dim]{count:>6}  {reason}[/]")
    if summary.fallback_elements:
        fallbacks = ", ".join(f"{k} {v}" for k, v in summary.fallback_elements.items())
        console.print(f"  elements sent as approved copy: {fallbacks}")


def send_test(
    customer: str = typer.Option(..., "--customer", help="whose message: TYPE:VALUE"),
    to: str = typer.Option(..., "--to", help="the address the proof goes to"),
    placement: str = typer.Option("email", "--placement"),
    strategy: str = typer.Option(None, "--strategy", help="default: the placement's first"),
    channel: str = typer.Option(
        "smtp://127.0.0.1:1025", "--channel", help="an SMTP server, e.g. smtp://127.0.0.1:1025"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Send one customer's message to a test address (a proof): written and gated as a campaign
    would, recorded nowhere, with links that track nothing."""
    if "@" not in to:
        raise ValidationError(f"--to {to!r}: an email address")
    with workspace() as ws:
        delivery, sent = send_proof(ws, customer, placement, to, channel, strategy=strategy)
    if json_out:
        print_json(sent)
    else:
        console.print(f"{sent['status']}: {sent['subject']!r} to {to}", markup=False)
        for name, element in sent["elements"].items():
            console.print(f"  {name:<12} [{element['source']}] {element['text']}", markup=False)
    if delivery.status != "sent":
        raise ValidationError(f"the proof was not sent: {delivery.detail}")


@app.command("status")
def status(name: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Counts per outbox state and per reason."""
    with workspace() as ws, ws.store.read() as conn:
        body = outbox.status(conn, name)
        body["outcomes"] = campaign_outcomes(conn, name)
    if json_out:
        print_json(body)
        return
    console.print(f"[bold]{name}[/]: {body['total']} customers")
    for state, count in sorted(body["states"].items()):
        console.print(f"  {state:<12} {count:>6}")
    for reason, count in sorted(body["reasons"].items(), key=lambda x: -x[1]):
        console.print(f"  [dim]{count:>6}  {reason}[/]")
    for group in ("treated", "holdout"):
        counts = body["outcomes"][group]
        console.print(f"  {group}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


suppress_app = new_app("The suppression list: identifiers never sent to.")


@suppress_app.command("add")
def suppress_add(
    ref: str = typer.Argument(..., help="TYPE:VALUE, e.g. email:maya@example.com"),
    reason: str = typer.Option("added by an operator", "--reason"),
) -> None:
    """Never send to this identifier again (hard bounce, complaint, legal request)."""
    kind, value = identity.parse_key(ref)
    with workspace() as ws, ws.store.write() as conn:
        outbox.add_suppression(conn, kind, value, reason)
    console.print(f"suppressed {kind}:{value}")


@suppress_app.command("list")
def suppress_list(json_out: bool = typer.Option(False, "--json")) -> None:
    """Suppressed identifiers with the reason."""
    with workspace() as ws, ws.store.read() as conn:
        rows = outbox.list_suppressions(conn)
    if json_out:
        print_json(rows)
        return
    for row in rows:
        console.print(f"{row['type']}:{row['value']}  {row['reason']}", markup=False)
