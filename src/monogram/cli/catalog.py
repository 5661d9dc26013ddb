"""`monogram catalog import|list|show`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from monogram.cdp import catalog
from monogram.cli.common import console, new_app, print_json, print_readable, workspace
from monogram.core.errors import ValidationError

app = new_app("The product catalogue.")


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="products as JSONL, JSON or CSV"),
    check: bool = typer.Option(
        False, "--check", help="report what the import would do; write nothing"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Import (upsert) products: id, name, category, brand, price, attributes, description, url.

    CSV columns are the field names (attr_NAME for attributes); a broken row (an unclosed
    quote, a wrong number of columns) is reported with its line and never merged into others.
    """
    if not path.exists():
        raise ValidationError(f"{path}: no such file")
    with workspace() as ws:
        report = catalog.import_products(ws.store, catalog.read_rows(path), check=check)
    rejected: list[dict[str, Any]] = [
        {"row": n, "errors": [e.as_dict() for e in errs]} for n, errs in report.rejected
    ]
    if json_out:
        print_json({"imported": report.imported, "rejected": rejected, "check": check})
        return
    verb = "would import" if check else "imported"
    console.print(f"{verb} [green]{report.imported}[/] products, rejected [red]{len(rejected)}[/]")
    for item in rejected[:20]:
        console.print(
            f"  line {item['row']}: "
            + "; ".join(f"{e['field']}: {e['reason']}" for e in item["errors"]),
            markup=False,
        )


@app.command("list")
def list_(
    category: str = typer.Option(None, "--category"),
    limit: int = typer.Option(None, "--limit"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List products."""
    with workspace() as ws, ws.store.read() as conn:
        found = catalog.list_products(conn, category=category, limit=limit)
    if json_out:
        print_json([p.model_dump() for p in found])
        return
    for p in found:
        console.print(f"{p.id:<22} {p.price:>8.2f} {p.currency}  {p.category:<10} {p.name}")


@app.command("show")
def show(product_id: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Show one product."""
    with workspace() as ws, ws.store.read() as conn:
        product = catalog.get_product(conn, product_id)
    print_json(product.model_dump()) if json_out else print_readable(product.model_dump())
