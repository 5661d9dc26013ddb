"""Registries for the extension points, filled from Python entry points.

Each extension point has a registry, kept by the stage that owns the protocol: built-in
implementations are named by ``module:attribute`` (imported only when chosen), and any installed
package adds its own under the entry-point group:

* ``monogram.models`` (``content.llm.MODELS``): language-model backends;
* ``monogram.channels`` (``delivery.channels.CHANNELS``): delivery channels, by URL scheme;
* ``monogram.checks`` (``quality.gate.PLUGIN_CHECKS``): extra quality checks;
* ``monogram.policies`` (``learning.policy.POLICIES``): learning backends;
* ``monogram.executors`` (``campaigns.executors.EXECUTORS``): campaign executors;
* ``monogram.images`` (``content.images.IMAGE_BACKENDS``): where creatives get their pictures.
 A package declares, in its ``pyproject.toml``::

    [project.entry-points."monogram.channels"]
    sms = "my_package.sms:SMSChannel"

and ``sms`` is then chosen by name like a built-in. What the name resolves to is a factory (a
class or a function); each registry's caller says what arguments it gets.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from monogram.core.errors import ConfigError


class Registry:
    """Named factories for one extension point."""

    def __init__(self, group: str, kind: str, builtins: dict[str, str]) -> None:
        self.group = group
        self.kind = kind  # how errors name it: "model backend", "channel", ...
        self._builtins = dict(builtins)
        self._added: dict[str, Callable[..., Any]] = {}

    def names(self) -> list[str]:
        found = {ep.name for ep in entry_points(group=self.group)}
        return sorted({*self._builtins, *self._added, *found})

    def register(self, name: str, factory: Callable[..., Any]) -> None:
        """Add (or replace) ``name`` in this process: for tests and embedding applications."""
        self._added[name] = factory

    def unregister(self, name: str) -> None:
        self._added.pop(name, None)

    def get(self, name: str) -> Callable[..., Any]:
        """The factory registered as ``name``; an unknown name is a ConfigError that lists the
        registered ones."""
        if name in self._added:
            return self._added[name]
        if name in self._builtins:
            return _load(self._builtins[name], self.kind, name)
        for ep in entry_points(group=self.group, name=name):
            try:
                loaded: Callable[..., Any] = ep.load()
            except Exception as exc:  # a broken plug-in names itself
                raise ConfigError(
                    f"{self.kind} {name!r} (entry point {ep.value} in {self.group}) does not "
                    f"load: {type(exc).__name__}: {exc}"
                ) from exc
            return loaded
        raise ConfigError(f"unknown {self.kind} {name!r}; registered: {', '.join(self.names())}")


def _load(target: str, kind: str, name: str) -> Callable[..., Any]:
    module, _, attribute = target.partition(":")
    try:
        found: Callable[..., Any] = getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        raise ConfigError(f"{kind} {name!r} needs a package that is not installed: {exc}") from exc
    return found
