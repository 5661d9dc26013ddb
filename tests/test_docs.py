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
    from monogram.content.placements import PlacementLearning
    from monogram.core.settings import LearningConfig
    from monogram.learning.simulator import World

    project, placement, world, responses = (
        yaml.safe_load(b) for b in yaml_blocks(ROOT / "docs" / "learning.md")
    )
    assert LearningConfig.model_validate(project["learning"]) == LearningConfig()
    assert PlacementLearning.model_validate(placement["learning"]).baseline == "rule"
    assert World.model_validate(world).drift is not None
    assert Responses.model_validate(responses).click_rates["active"]["practical"] == 0.14
