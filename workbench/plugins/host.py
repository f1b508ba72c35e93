"""The plugin host: discovers plugins, isolates the broken ones, serves contributions.

Plugins are modules named by entry points in the group ``pde_workbench.plugins``;
the built-in plugins under ``plugins/`` are installed and found exactly the same
way. Loading one plugin goes through three gates, and failing any of them records
the plugin as *failed* (with its error) while the others carry on:

1. import the module named by the entry point;
2. register it with pluggy, which checks each hookimpl's signature, and reject
   hookimpls whose name matches no hook (usually a typo);
3. call each of its hooks, on its own, and check that the results are
   contributions of the right family.

Environment: ``PDEWB_SAFE_MODE=1`` loads only the built-in plugins;
``PDEWB_TRACE_HOOKS=1`` logs every plugin load and hook call to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Literal, TypeVar

import pluggy

from ..core.errors import PluginError
from . import hookspecs
from .contributions import FAMILIES, Contribution, SolverContribution

ENTRY_POINT_GROUP = "pde_workbench.plugins"
SAFE_MODE_ENV = "PDEWB_SAFE_MODE"
TRACE_ENV = "PDEWB_TRACE_HOOKS"
#: Distributions shipped with the workbench (the packages under plugins/).
BUILTIN_DISTRIBUTIONS = frozenset(
    {
        "pde-workbench-fem",
        "pde-workbench-samples",
        "pde-workbench-spectral",
        "pde-workbench-darcy",
        "pde-workbench-operators",
        "pde-workbench-movers",
    }
)

log = logging.getLogger("workbench.plugins")
C = TypeVar("C", bound=Contribution)
PluginStatus = Literal["loaded", "failed", "skipped"]


@dataclass
class PluginRecord:
    """What the host knows about one plugin, loaded or not."""

    name: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False
    status: PluginStatus = "loaded"
    error: str | None = None
    contributions: list[Contribution] = field(default_factory=list)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "status": self.status,
            "error": self.error,
            "contributions": [c.id for c in self.contributions],
        }


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _normalise(distribution: str) -> str:
    return distribution.lower().replace("_", "-").replace(".", "-")


class PluginHost:
    """Loads plugins and answers "which solvers (surrogates, ...) are there?"."""

    def __init__(
        self,
        *,
        safe_mode: bool | None = None,
        trace: bool | None = None,
        disabled: Iterable[str] = (),
    ) -> None:
        self.safe_mode = _flag(SAFE_MODE_ENV) if safe_mode is None else safe_mode
        self.trace = _flag(TRACE_ENV) if trace is None else trace
        self.disabled = set(disabled)
        self.records: list[PluginRecord] = []
        self._manager = pluggy.PluginManager(hookspecs.PROJECT)
        self._manager.add_hookspecs(hookspecs)
        self._by_id: dict[str, Contribution] = {}
        if self.trace and not log.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("[pdewb plugins] %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.DEBUG)

    # -- loading --------------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> PluginHost:
        """Discover and load every plugin installed in the entry-point group."""
        seen = set()
        for entry_point in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
            if (entry_point.name, entry_point.value) in seen:
                continue  # the same distribution visible twice on sys.path
            seen.add((entry_point.name, entry_point.value))
            self._load_entry_point(entry_point)
        return self

    def _load_entry_point(self, entry_point: metadata.EntryPoint) -> None:
        dist = entry_point.dist
        distribution = dist.name if dist is not None else None
        record = PluginRecord(
            name=entry_point.name,
            distribution=distribution,
            version=dist.version if dist is not None else None,
            builtin=distribution is not None and _normalise(distribution) in BUILTIN_DISTRIBUTIONS,
        )
        if self.safe_mode and not record.builtin:
            self._skip(record, "safe mode: third-party plugins are not loaded")
            return
        if record.name in self.disabled:
            self._skip(record, "disabled by the user")
            return
        started = time.perf_counter()
        try:
            module = entry_point.load()
        except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the others
            self._fail(record, f"import failed: {type(error).__name__}: {error}")
            return
        log.debug("imported %s (%s) in %.1f ms", record.name, entry_point.value, 1e3 * (time.perf_counter() - started))
        self.register(module, record)

    def register(self, plugin: ModuleType | object, record: PluginRecord | str) -> PluginRecord:
        """Register a plugin object (a module of hookimpls) and collect its contributions.

        Tests and embedding applications may call this directly with a module.
        """
        if isinstance(record, str):
            record = PluginRecord(name=record)
        if any(r.name == record.name and r.status == "loaded" for r in self.records):
            self._fail(record, f"another plugin is already registered as '{record.name}'")
            return record
        try:
            self._manager.register(plugin, name=record.name)
        except pluggy.PluginValidationError as error:
            self._fail(record, f"invalid hook implementation: {error}")
            return record
        except ValueError as error:
            self._fail(record, str(error))
            return record
        unknown = [caller.name for caller in self._manager.get_hookcallers(plugin) or [] if not caller.has_spec()]
        if unknown:
            self._unregister(record.name)
            self._fail(record, f"unknown hook(s) {', '.join(sorted(unknown))} (see docs/plugins.md for the hook names)")
            return record
        try:
            contributions = self._collect(record.name)
        except PluginError as error:
            self._unregister(record.name)
            self._fail(record, str(error))
            return record
        record.contributions = self._index(record, contributions)
        self.records.append(record)
        return record

    def _collect(self, plugin_name: str) -> list[Contribution]:
        """Call each hook of one plugin on its own, so one failure stays with its plugin."""
        collected: list[Contribution] = []
        for hook_name, family in FAMILIES.items():
            caller = getattr(self._manager.hook, hook_name)
            for impl in caller.get_hookimpls():
                if impl.plugin_name != plugin_name:
                    continue
                started = time.perf_counter()
                try:
                    result = impl.function()
                except Exception as error:  # noqa: BLE001
                    raise PluginError(f"hook {hook_name} raised {type(error).__name__}: {error}") from error
                result = list(result or [])
                wrong = [type(item).__name__ for item in result if not isinstance(item, family)]
                if wrong:
                    raise PluginError(f"hook {hook_name} returned {', '.join(wrong)} instead of {family.__name__}")
                log.debug(
                    "%s.%s -> %d contribution(s) in %.2f ms",
                    plugin_name, hook_name, len(result), 1e3 * (time.perf_counter() - started),
                )
                collected.extend(result)
        return collected

    def _index(self, record: PluginRecord, contributions: list[Contribution]) -> list[Contribution]:
        kept = []
        for contribution in contributions:
            owner = self._by_id.get(contribution.id)
            if owner is not None:
                log.info("%s: contribution id '%s' is already taken; ignored", record.name, contribution.id)
                record.error = f"duplicate contribution id '{contribution.id}' ignored"
                continue
            self._by_id[contribution.id] = contribution
            kept.append(contribution)
        return kept

    def _unregister(self, name: str) -> None:
        plugin = self._manager.get_plugin(name)
        if plugin is not None:
            self._manager.unregister(plugin)

    def _fail(self, record: PluginRecord, message: str) -> None:
        record.status, record.error = "failed", " ".join(message.split())
        log.info("plugin %s failed: %s", record.name, record.error)
        self.records.append(record)

    def _skip(self, record: PluginRecord, reason: str) -> None:
        record.status, record.error = "skipped", reason
        log.debug("plugin %s skipped: %s", record.name, reason)
        self.records.append(record)

    # -- queries --------------------------------------------------------------------

    @property
    def failed(self) -> list[PluginRecord]:
        return [r for r in self.records if r.status == "failed"]

    def contributions(self, family: type[C]) -> list[C]:
        """Every loaded contribution of one family, in plugin order."""
        return [c for r in self.records if r.status == "loaded" for c in r.contributions if isinstance(c, family)]

    def get(self, contribution_id: str, family: type[C] = Contribution) -> C:  # type: ignore[assignment]
        found = self._by_id.get(contribution_id)
        if isinstance(found, family):
            return found
        known = ", ".join(sorted(c.id for c in self.contributions(family))) or "none installed"
        raise PluginError(f"no {family.family.replace('_', ' ')} '{contribution_id}' (available: {known})")

    def solver(self, solver_id: str) -> SolverContribution:
        return self.get(solver_id, SolverContribution)


def load_plugins(**options: Any) -> PluginHost:
    """A host with every installed plugin loaded (honouring the environment flags)."""
    return PluginHost(**options).load_entry_points()
