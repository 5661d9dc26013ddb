"""Docs that run: examples in the docs parse, and defaults match what the docs promise."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from monogram.cdp.segments import parse_segments
from monogram.core.settings import ProjectConfig, load_project_config
from monogram.workspace import DEFAULTS

ROOT = Path(__file__).resolve().parents[1]


def yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(), flags=re.S)


def test_segment_examples_in_the_docs_are_valid() -> None:
    blocks = yaml_blocks(ROOT / "docs" / "configuration.md")
    assert blocks
    for block in blocks:
        assert parse_segments(yaml.safe_load(block), "docs/configuration.md")


def test_shipped_project_file_is_valid_and_close_to_the_defaults(tmp_path: Path) -> None:
    shipped = tmp_path / "monogram.yaml"
    shipped.write_text((DEFAULTS / "monogram.yaml").read_text())
    config = load_project_config(shipped)
    defaults = ProjectConfig()
    assert config.lifecycle == defaults.lifecycle
    assert config.rfm == defaults.rfm
    assert config.purposes == defaults.purposes
    assert config.identity.limits == defaults.identity.limits
    assert config.identity.blocked_values == defaults.identity.blocked_values


def test_every_env_variable_in_settings_is_documented() -> None:
    from monogram.core.settings import Settings

    docs = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"MONOGRAM_{name.upper()}" in docs, name


def test_learning_examples_in_the_docs_are_valid() -> None:
    from monogram.campaigns.rehearsal import Responses
    from monogram.content.placements import Placement, PlacementLearning, PromptVariant
    from monogram.core.settings import LearningConfig
    from monogram.learning.simulator import World

    blocks = [yaml.safe_load(b) for b in yaml_blocks(ROOT / "docs" / "learning.md")]
    project, placement, support, world, responses = [b for b in blocks if isinstance(b, dict)]
    (element,) = [item for b in blocks if isinstance(b, list) for item in b]
    assert [PromptVariant.model_validate(v).id for v in element["variants"]] == [
        "short",
        "question",
        "seasonal",
    ]
    assert LearningConfig.model_validate(project["learning"]) == LearningConfig()
    assert PlacementLearning.model_validate(placement["learning"]).baseline == "rule"
    assert PlacementLearning.model_validate(support["learning"]).rewards == (
        Placement.model_validate(_default_placement("support_reply")).learning.rewards
    )
    assert World.model_validate(world).drift is not None
    assert Responses.model_validate(responses).click_rates["active"]["practical"] == 0.14


def _default_placement(name: str) -> object:
    path = ROOT / "src" / "monogram" / "defaults" / "placements" / f"{name}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_link_in_the_docs_stays_in_the_repository_and_resolves() -> None:
    broken = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            path = (doc.parent / target.split("#")[0]).resolve()
            if not path.is_relative_to(ROOT) or not path.exists():
                broken.append(f"{doc.name}: {target}")
        if "shared/DESIGN.md" in text or "shared/STYLE.md" in text:
            broken.append(f"{doc.name}: names a file outside the repository")
    assert broken == []


def test_sections_the_makefile_points_to_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for doc, section in re.findall(r"see (docs/[\w.]+|README), \"([^\"]+)\"", makefile):
        path = ROOT / ("README.md" if doc == "README" else doc)
        assert re.search(rf"^#+ .*{re.escape(section)}", path.read_text(), flags=re.M), section


def test_every_documented_command_exists() -> None:
    from typer.testing import CliRunner

    from monogram.cli.main import app

    documented = set()
    for line in (ROOT / "docs" / "cli.md").read_text(encoding="utf-8").splitlines():
        found = re.match(r"\| `monogram ([a-z][a-z -]*?)(?: [A-Z\[<-]|`)", line)
        if found:
            documented.add(found.group(1).strip())
    assert len(documented) > 30
    runner = CliRunner()
    for command in sorted(documented):
        result = runner.invoke(app, [*command.split(), "--help"], prog_name="monogram")
        assert result.exit_code == 0, (command, result.output)
        assert f"Usage: monogram {command}" in " ".join(result.output.split()), command
