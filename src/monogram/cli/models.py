"""`monogram models eval`: a report card for language models on the user's own workspace."""

from __future__ import annotations

from pathlib import Path

import typer

from monogram import evaluate
from monogram.cli.common import console, new_app, print_json, progress_bar, workspace
from monogram.content.llm import make_model
from monogram.core.errors import ValidationError
from monogram.core.settings import LLMConfig

app = new_app("Language models: compare them on your own customers before you choose one.")


def _config(spec: str, base: LLMConfig) -> LLMConfig:
    """``llamacpp:PATH`` (a GGUF file) or ``openai:MODEL@URL`` (any OpenAI-compatible server)."""
    backend, sep, rest = spec.partition(":")
    if backend == "llamacpp" and sep and rest:
        return base.model_copy(update={"backend": "llamacpp", "model": rest})
    if backend == "openai" and sep and "@" in rest:
        name, _, url = rest.partition("@")
        return base.model_copy(update={"backend": "openai", "model": name, "base_url": url})
    raise ValidationError(
        f"--with {spec!r}: write llamacpp:PATH.gguf or openai:MODEL@http://HOST:PORT/v1"
    )


@app.command("eval")
def eval_models(
    others: list[str] = typer.Option(
        [],
        "--with",
        help="another model to compare: llamacpp:PATH.gguf or openai:MODEL@http://HOST:PORT/v1",
    ),
    customers: int = typer.Option(40, "--customers", min=1, help="sample size"),
    labels: Path = typer.Option(
        None, "--labels", help="JSON lines rating texts 0/1/2 (see docs/quality.md)"
    ),
    out: Path = typer.Option(None, "--out", help="write every output as JSON lines"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Write every placement for a fixed sample of your customers with the configured model
    (and each --with model) and compare: gate pass rate, fallbacks, seconds per element and,
    with --labels, the share a person rated usable."""
    rated = evaluate.read_labels(labels) if labels else None
    results = {}
    with workspace() as ws:
        configs = [ws.config.llm, *(_config(spec, ws.config.llm) for spec in others)]
        sample = evaluate.sample_customers(ws, customers)
        if not sample:
            raise ValidationError(
                "no customer with an order allows every purpose the placements need"
            )
        everything = []
        for config in configs:
            ws.use_model(make_model(config))
            name = ws.model().model_id
            with progress_bar(unit="placements", quiet=json_out) as bar:
                task = bar.add_task(f"{name}", total=len(sample), rate="-")

                def progress(done: int, total: int, task: int = task, bar: object = bar) -> None:
                    bar.update(task, completed=done, total=total)  # type: ignore[attr-defined]

                outputs = evaluate.run(ws, sample, progress=progress)
            everything += outputs
            results[name] = evaluate.report(outputs, rated)
    if out:
        evaluate.write_outputs(everything, out)
    if json_out:
        print_json(results)
        return
    console.print(f"{len(sample)} customers; figures per placement (labels: {labels or 'none'})")
    for name, figures in results.items():
        console.print(f"\n[bold]{name}[/]")
        console.print(evaluate.format_report(figures), markup=False, highlight=False)
