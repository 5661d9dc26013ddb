"""The layout holds: stages import only earlier stages, nothing imports an edge, and the
campaign run and real-time serving leave the stage order to the per-customer step."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "monogram"
STAGES = ["core", "store", "cdp", "content", "quality", "delivery", "learning"]
EDGES = {"api", "cli", "web"}


def _runtime_imports(path: Path) -> list[str]:
    """The monogram modules a file imports when it runs (not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for inner in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("monogram"):
            found.append(str(node.module))
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("monogram")]
    return found


def _modules() -> dict[str, list[str]]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        out[name] = _runtime_imports(path)
    return out


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_stages_import_only_earlier_stages_and_never_an_edge() -> None:
    wrong = []
    for module, imports in _modules().items():
        mine = _package(module)
        for target in imports:
            theirs = _package(target)
            if mine in STAGES and theirs is not None and theirs not in STAGES:
                wrong.append(f"{module} imports {target} (not a stage)")
            elif mine in STAGES and theirs in STAGES and STAGES.index(theirs) > STAGES.index(mine):
                wrong.append(f"{module} imports {target} (a later stage)")
            if theirs in EDGES and mine not in EDGES and module != "monogram.__main__":
                wrong.append(f"{module} imports the edge {target}")
    assert wrong == []


def test_campaigns_and_realtime_leave_the_stage_order_to_the_step() -> None:
    modules = _modules()
    forbidden = {"monogram.learning.store", "monogram.learning.decisions", "monogram.store.tables"}
    for module in ("monogram.campaigns.run", "monogram.realtime"):
        assert forbidden.isdisjoint(modules[module]), module
        assert "monogram.pipeline" in modules[module]
