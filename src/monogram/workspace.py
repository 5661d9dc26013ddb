"""A workspace: the settings, the project file and the store, opened together.

The workspace folder is ``./.monogram/`` unless ``MONOGRAM_HOME`` names another; it holds the
project file ``monogram.yaml``, segment definitions in ``segments/`` and, by default, the
SQLite database. ``MONOGRAM_DATABASE_URL`` points the store elsewhere (PostgreSQL).
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from monogram.cdp.segments import Segment, load_segments
from monogram.content.brand import BrandKit, load_brand
from monogram.content.llm import LanguageModel, make_model
from monogram.content.placements import Placement, load_placements
from monogram.core.errors import ConfigError
from monogram.core.settings import PROJECT_FILE, ProjectConfig, Settings, load_project_config

# Stages that keep records about a person register an eraser and an exporter with
# cdp.privacy when imported; importing them here means every workspace erases everything.
from monogram.delivery import outbox as _outbox  # noqa: F401
from monogram.learning import decisions as _decisions  # noqa: F401
from monogram.learning import exemplars as _exemplars  # noqa: F401
from monogram.learning import proposals
from monogram.quality import review as _review  # noqa: F401
from monogram.store import Store, migrate

DEFAULTS = resources.files("monogram") / "defaults"
Stamp = tuple[tuple[str, int], ...]
T = TypeVar("T")


@dataclass
class Workspace:
    settings: Settings
    config: ProjectConfig
    store: Store
    _files: dict[str, tuple[Stamp, Any]] = field(default_factory=dict)
    _model: LanguageModel | None = None
    # Project files that did not load (named with the reason); the rest keeps working.
    problems: dict[str, list[str]] = field(default_factory=dict)
    # Per-workspace runtime state (worker pools, in-flight work, caches), never module-global.
    _runtime: dict[str, Any] = field(default_factory=dict)
    _runtime_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def segments_dir(self) -> Path:
        return self.home / "segments"

    def _load(self, path: Path, loader: Callable[[Path], Any]) -> Any:
        """``loader(path)``, read again only when the file (or a YAML file in the folder)
        changes: these are read for every customer, so not parsed every time."""
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path] if path.exists() else []
        stamp = tuple((p.name, p.stat().st_mtime_ns) for p in files)
        cached = self._files.get(str(path))
        if cached is None or cached[0] != stamp:
            cached = (stamp, loader(path))
            self._files[str(path)] = cached
        return cached[1]

    def segments(self) -> dict[str, Segment]:
        """Segment definitions from ``segments/*.yaml``, reloaded when a file changes; a file
        that does not load is skipped and named in ``problems``."""
        segments: dict[str, Segment] = self._load(
            self.segments_dir, lambda path: load_segments(path, self._problems("segments"))
        )
        return segments

    def _problems(self, kind: str) -> list[str]:
        self.problems[kind] = []
        return self.problems[kind]

    def brand(self) -> BrandKit:
        brand: BrandKit = self._load(self.home / "brand.yaml", load_brand)
        return brand

    def placements(self) -> dict[str, Placement]:
        """The placement files, with the prompt variants people approved (``learn propose``)
        added; the store is looked at again every couple of seconds."""
        placements: dict[str, Placement] = self._load(
            self.home / "placements",
            lambda path: load_placements(path, self._problems("placements")),
        )
        return self._with_live_variants(placements)

    def _with_live_variants(self, placements: dict[str, Placement]) -> dict[str, Placement]:
        checked = self._runtime.get("live_variants")
        if checked is None or time.monotonic() > checked[0]:
            with self.store.read() as conn:
                rows = proposals.live(conn)
            checked = (time.monotonic() + 2.0, tuple(r.id for r in rows), rows)
            self._runtime["live_variants"] = checked
        if not checked[2]:
            return placements
        merged = self._runtime.get("live_placements")
        if merged is None or merged[0] is not placements or merged[1] != checked[1]:
            merged = (placements, checked[1], proposals.with_live(placements, checked[2]))
            self._runtime["live_placements"] = merged
        found: dict[str, Placement] = merged[2]
        return found

    def model(self) -> LanguageModel:
        """The configured language model, loaded once per workspace."""
        if self._model is None:
            self._model = make_model(self.config.llm)
        return self._model

    def use_model(self, model: LanguageModel) -> None:
        """Use this model instance (tests, benchmarks, a shared server-side model)."""
        self._model = model

    def runtime(self, name: str, factory: Callable[[], T]) -> T:
        """This workspace's ``name`` runtime object, made by ``factory`` on first use."""
        with self._runtime_lock:
            if name not in self._runtime:
                self._runtime[name] = factory()
            found: T = self._runtime[name]
            return found

    def secret(self) -> str:
        """The signing secret: ``MONOGRAM_SECRET_KEY``; in development and test only, a random
        one kept in the workspace (never a built-in default)."""
        if self.settings.secret_key:
            return self.settings.secret_key
        if self.settings.env == "production":
            raise ConfigError("MONOGRAM_SECRET_KEY must be set in production")
        path = self.home / ".secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()

    def close(self) -> None:
        for state in self._runtime.values():
            closing = getattr(state, "close", None)
            if callable(closing):
                closing()
        self._runtime.clear()
        self.store.dispose()


def open_workspace(settings: Settings | None = None, *, create: bool = True) -> Workspace:
    """Open (and on first use create) the workspace; migrations run automatically."""
    settings = settings or Settings()
    if settings.env == "production" and not settings.secret_key:
        raise ConfigError("MONOGRAM_SECRET_KEY must be set in production (it signs tracking links)")
    if create:
        write_project_files(settings.home, overwrite=False)
    config = load_project_config(settings.home / PROJECT_FILE)
    store = Store(
        settings.resolved_database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        statement_timeout_s=settings.statement_timeout_s,
        pool_size=settings.pool_size,
    )
    migrate(store)
    return Workspace(settings, config, store)


@dataclass(frozen=True)
class Shop:
    """What ``monogram init`` asks about the user's own shop."""

    name: str
    sender: str  # "Name <address>"
    website: str = ""
    description: str = ""
    tone: tuple[str, ...] = ()


def has_project(home: Path) -> bool:
    return (home / PROJECT_FILE).is_file()


def require_project(settings: Settings) -> None:
    """Refuse to work where there is no workspace, instead of quietly making an empty one."""
    if has_project(settings.home):
        return
    where = settings.home.resolve()
    hint = "MONOGRAM_HOME" if settings.home != Path(".monogram") else "the current folder"
    raise ConfigError(
        f"no Monogram workspace at {where} (from {hint}): create one with "
        f"`monogram init {settings.home}`, try the demo with `monogram demo`, or set "
        "MONOGRAM_HOME to an existing workspace"
    )


def write_shop_brand(target: Path, shop: Shop) -> Path:
    """A brand kit with the shop's own name, sender, voice and disclaimers; the demo's worked
    examples are left out (they describe another shop's catalogue)."""
    import yaml

    defaults = yaml.safe_load((DEFAULTS / "brand.yaml").read_text(encoding="utf-8"))
    kit = {
        "name": shop.name,
        "description": shop.description,
        "sender": shop.sender,
        "website": shop.website,
        "voice": ["Warm, plain and practical.", "Short sentences. Concrete facts, no hype."],
        "tone": list(shop.tone) or ["Encouraging, never pushy.", 'Speak to the customer as "you".'],
        "avoid_words": defaults["avoid_words"],
        "banned_claims": defaults["banned_claims"],
        "banned_patterns": defaults["banned_patterns"],
        "disclaimers": {
            "email": f"You are receiving this email because you subscribed to {shop.name} updates.",
            "ad": defaults["disclaimers"]["ad"],
        },
        "exemplars": {},
    }
    for key in (
        "jurisdiction",
        "jurisdictions",
        "reading_level",
        "emoji",
        "max_exclamations",
        "visual",
    ):
        if key in defaults:
            kit[key] = defaults[key]
    if "limits" in defaults:
        kit["limits"] = defaults["limits"]
    path = target / "brand.yaml"
    header = (
        f"# {shop.name}'s brand kit: the copy and rules a marketer edits. Placements refer to it\n"
        "# ({{ brand }} in their approved copy is this name).\n"
        "# exemplars: add approved copy per element (subject, preheader, opening, ...), each with\n"
        "# the data it was written for, as `monogram placements check` suggests; the model\n"
        "# follows them and the brand-voice check compares new copy with them.\n"
    )
    body = yaml.safe_dump(kit, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + body, encoding="utf-8")
    return path


def write_project_files(target: Path, *, overwrite: bool, shop: Shop | None = None) -> list[Path]:
    """Copy the editable project files (``monogram.yaml``, ``segments/``) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    if shop is not None and (overwrite or not (target / "brand.yaml").exists()):
        written.append(write_shop_brand(target, shop))
    for name in (PROJECT_FILE, "brand.yaml"):
        dest = target / name
        if dest in written:
            continue
        if overwrite or not dest.exists():
            dest.write_text((DEFAULTS / name).read_text(encoding="utf-8"), encoding="utf-8")
            written.append(dest)
    for folder in ("segments", "placements", "campaigns"):
        dest_dir = target / folder
        if overwrite or not dest_dir.exists():
            dest_dir.mkdir(exist_ok=True)
            for entry in (DEFAULTS / folder).iterdir():
                if entry.name.endswith(".yaml"):
                    dest = dest_dir / entry.name
                    with resources.as_file(entry) as src:
                        shutil.copyfile(src, dest)
                    written.append(dest)
    return written
