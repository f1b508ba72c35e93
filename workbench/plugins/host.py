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

Before registering, the host compares the hook API version the plugin module
declares (``PDEWB_HOOK_API = 1``; a module without it is taken to be written for
version 1) with :data:`COMPATIBLE_HOOK_APIS`; a mismatch records the plugin as
*incompatible* and registers nothing.

Plugin code runs isolated (:mod:`.isolation`): its prints go to stderr, an
exception or ``sys.exit()`` anywhere in it fails that plugin only, and a plugin
slower to load than :func:`~.isolation.slow_load_seconds` is named on stderr while
it loads and in its record afterwards.

Contribution ids are unique: the first plugin to declare an id owns it, and a
later plugin declaring the same id is refused as a whole (listed as failed, with
the owner's name). Discovery puts the built-in plugins first
(:mod:`.discovery`), so a third-party plugin can never replace ``fem.heat``.

Besides the environment's entry points, the user plugin folder
(:func:`~.userconfig.plugin_folder`) is scanned: it is a folder as written by
``pip install --target``, whose ``*.dist-info`` entry points are read and which is
appended to ``sys.path`` (last, so the host's own packages always win). Plugins
the user disabled (``plugins.json``, :mod:`.userconfig`) are listed, not imported.

Environment: ``PDEWB_SAFE_MODE=1`` loads only the built-in plugins;
``PDEWB_TRACE_HOOKS=1`` logs every plugin load and hook call to stderr;
``PDEWB_SLOW_PLUGIN_SECONDS`` sets the slow-load threshold (2 s).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Literal, TypeVar

import pluggy

from ..core.errors import PLUGIN_FAILURES, PluginError, describe_failure
from . import hookspecs
from .contributions import FAMILIES, Contribution, IntegratorContribution, SolverContribution
from .discovery import (
    BUILTIN_DISTRIBUTIONS,
    ENTRY_POINT_GROUP,
    discover,
    discover_entry_points,
    in_user_folder,
    is_builtin,
    is_in_folder,
    normalise_distribution,
    origin_of,
)
from .isolation import plugin_code, slow_load_seconds
from .userconfig import PluginConfig, plugin_folder

__all__ = [
    "BUILTIN_DISTRIBUTIONS", "COMPATIBLE_HOOK_APIS", "ENTRY_POINT_GROUP", "PluginHost", "PluginRecord",
    "discover_entry_points", "is_in_folder", "load_plugins", "normalise_distribution",
]

SAFE_MODE_ENV = "PDEWB_SAFE_MODE"
TRACE_ENV = "PDEWB_TRACE_HOOKS"
#: Hook API versions this host can load; a plugin declares its own as ``PDEWB_HOOK_API``.
COMPATIBLE_HOOK_APIS = frozenset({hookspecs.HOOK_API_VERSION})
API_ATTRIBUTE = "PDEWB_HOOK_API"

log = logging.getLogger("workbench.plugins")
C = TypeVar("C", bound=Contribution)
PluginStatus = Literal["loaded", "failed", "skipped", "incompatible"]


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
    #: Where the plugin came from: "built-in", "index: URL", "wheel: PATH", "user folder: PATH", ...
    origin: str = "registered in code"
    api_version: int | None = None
    #: Seconds its import and hooks took (None: not loaded from an entry point).
    load_seconds: float | None = None
    #: What the user should know about a plugin that did load (it is slow, ...).
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict:
        return {
            "id": self.name,
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "origin": self.origin,
            "api_version": self.api_version,
            "status": self.status,
            "reason": self.error,
            "error": self.error,
            "load_seconds": None if self.load_seconds is None else round(self.load_seconds, 3),
            "notes": list(self.notes),
            "contributions": [c.id for c in self.contributions],
        }


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def declared_api(plugin: object) -> tuple[int | None, str | None]:
    """The hook API version a plugin module declares, and why it cannot load (None if it can)."""
    declared = getattr(plugin, API_ATTRIBUTE, hookspecs.HOOK_API_VERSION)
    if not isinstance(declared, int) or isinstance(declared, bool):
        return None, f"{API_ATTRIBUTE} = {declared!r} is not an integer hook API version"
    if declared in COMPATIBLE_HOOK_APIS:
        return declared, None
    supported = ", ".join(str(v) for v in sorted(COMPATIBLE_HOOK_APIS))
    newer = "a newer" if declared > max(COMPATIBLE_HOOK_APIS) else "an older"
    return declared, (
        f"written for hook API {declared}; this PDE Workbench supports {supported} "
        f"(the plugin needs {newer} PDE Workbench)"
    )


class PluginHost:
    """Loads plugins and answers "which solvers (surrogates, ...) are there?"."""

    def __init__(
        self,
        *,
        safe_mode: bool | None = None,
        trace: bool | None = None,
        disabled: Iterable[str] = (),
        sources: Mapping[str, dict] | None = None,
        slow_seconds: float | None = None,
    ) -> None:
        self.safe_mode = _flag(SAFE_MODE_ENV) if safe_mode is None else safe_mode
        self.trace = _flag(TRACE_ENV) if trace is None else trace
        self.disabled = set(disabled)
        #: Install sources recorded by ``pdewb plugins install`` (distribution -> {"source": ...}).
        self.sources = dict(sources or {})
        #: Loading a plugin for longer than this is reported (:mod:`.isolation`).
        self.slow_seconds = slow_load_seconds() if slow_seconds is None else slow_seconds
        self.records: list[PluginRecord] = []
        self._manager = pluggy.PluginManager(hookspecs.PROJECT)
        self._manager.add_hookspecs(hookspecs)
        self._by_id: dict[str, Contribution] = {}
        self._owner: dict[str, PluginRecord] = {}  # contribution id -> the plugin that declared it first
        if self.trace and not log.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("[pdewb plugins] %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.DEBUG)

    # -- loading --------------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> PluginHost:
        """Discover and load every plugin installed in the entry-point group or the user folder, built-ins first."""
        found = discover(group)
        for entry_point in found.entry_points:
            self._load_entry_point(entry_point)
        for distribution, reason in found.unreadable.items():
            self._fail(PluginRecord(name=distribution, distribution=distribution, origin="unreadable metadata"),
                       reason)
        return self

    def _load_entry_point(self, entry_point: metadata.EntryPoint) -> None:
        dist = entry_point.dist
        distribution = dist.name if dist is not None else None
        record = PluginRecord(name=entry_point.name, distribution=distribution,
                              version=dist.version if dist is not None else None, builtin=is_builtin(dist))
        record.origin = origin_of(dist, record.builtin, self.sources)
        if self.safe_mode and not record.builtin:
            self._skip(record, "safe mode: third-party plugins are not loaded")
            return
        if record.name in self.disabled:
            self._skip(record, "disabled by the user")
            return
        if entry_point.pattern.match(entry_point.value) is None:
            self._fail(record, f"its entry point '{entry_point.name} = {entry_point.value}' names no module")
            return
        _make_importable(dist)
        with plugin_code(record.name, self.slow_seconds) as watch:
            try:
                module = entry_point.load()
            except PLUGIN_FAILURES as error:  # a broken plugin, even one calling sys.exit(), must not stop the others
                self._fail(record, f"import failed: {describe_failure(error)}")
            else:
                self.register(module, record)
        record.load_seconds = watch.seconds
        log.debug("loaded %s (%s) in %.1f ms", record.name, entry_point.value, 1e3 * watch.seconds)
        if watch.seconds > self.slow_seconds:
            self._report_slow(record, watch.seconds)

    def _report_slow(self, record: PluginRecord, seconds: float) -> None:
        note = f"slow to load: {seconds:.1f} s, which every command waits for"
        record.notes.append(note)
        log.warning("pdewb: plugin '%s' took %.1f s to load; every command waits for it "
                    "('pdewb plugins disable %s' skips it)", record.name, seconds, record.name)

    def register(self, plugin: ModuleType | object, record: PluginRecord | str) -> PluginRecord:
        """Register a plugin object (a module of hookimpls) and collect its contributions.

        Tests and embedding applications may call this directly with a module. Whatever
        the plugin's code does (raise, ``sys.exit()``, print) ends as this record's status.
        """
        if isinstance(record, str):
            record = PluginRecord(name=record)
        with plugin_code(record.name):
            try:
                problem = self._register(plugin, record)
            except PLUGIN_FAILURES as error:
                if self._manager.get_plugin(record.name) is plugin:  # never another plugin of that name
                    self._manager.unregister(plugin)
                problem = describe_failure(error)
        if problem is not None:
            self._fail(record, problem)
        elif record.status == "incompatible":
            log.info("plugin %s is incompatible: %s", record.name, record.error)
            self.records.append(record)
        return record

    def _register(self, plugin: object, record: PluginRecord) -> str | None:
        """Register and index one plugin; returns why it cannot load, or None (the record is then complete)."""
        record.api_version, incompatible = declared_api(plugin)
        if incompatible:
            record.status, record.error = "incompatible", incompatible
            return None
        taken = next((r for r in self.records if r.name == record.name and r.status == "loaded"), None)
        if taken is not None:
            return f"another plugin is already registered as '{record.name}'{_whose(taken)}"
        try:
            self._manager.register(plugin, name=record.name)
        except pluggy.PluginValidationError as error:
            return f"invalid hook implementation: {error}"
        except ValueError as error:
            return str(error)
        unknown = [caller.name for caller in self._manager.get_hookcallers(plugin) or [] if not caller.has_spec()]
        if unknown:
            self._unregister(record.name)
            return f"unknown hook(s) {', '.join(sorted(unknown))} (see docs/plugins.md for the hook names)"
        try:
            contributions = self._collect(record.name)
        except PluginError as error:
            self._unregister(record.name)
            return str(error)
        conflict = self._conflict(contributions)
        if conflict is not None:
            self._unregister(record.name)
            return conflict
        for contribution in contributions:
            self._by_id[contribution.id] = contribution
            self._owner[contribution.id] = record
        record.contributions = contributions
        self.records.append(record)
        return None

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
                    result = [] if result is None else list(result)
                except PLUGIN_FAILURES as error:
                    raise PluginError(f"hook {hook_name} raised {describe_failure(error)}") from error
                wrong = [type(item).__name__ for item in result if not isinstance(item, family)]
                if wrong:
                    raise PluginError(f"hook {hook_name} returned {', '.join(wrong)} instead of {family.__name__}")
                log.debug(
                    "%s.%s -> %d contribution(s) in %.2f ms",
                    plugin_name, hook_name, len(result), 1e3 * (time.perf_counter() - started),
                )
                collected.extend(result)
        return collected

    def _conflict(self, contributions: list[Contribution]) -> str | None:
        """Why these contributions cannot join the host: an id declared twice, or one another plugin owns."""
        seen: set[str] = set()
        for contribution in contributions:
            if not isinstance(contribution.id, str) or not contribution.id:
                return f"a contribution has no usable id ({contribution.id!r})"
            if contribution.id in seen:
                return f"duplicate contribution id '{contribution.id}': the plugin declares it twice"
            owner = self._owner.get(contribution.id)
            if owner is not None:
                return (f"duplicate contribution id '{contribution.id}': already provided by plugin "
                        f"'{owner.name}'{_whose(owner)}; the first plugin keeps it and built-in plugins come first")
            seen.add(contribution.id)
        return None

    def _unregister(self, name: str) -> None:
        plugin = self._manager.get_plugin(name)
        if plugin is not None:
            self._manager.unregister(plugin)

    def _fail(self, record: PluginRecord, message: str) -> None:
        record.status, record.error = "failed", " ".join(message.split())
        record.contributions = []
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

    def runnables(self) -> list[SolverContribution | IntegratorContribution]:
        """What a run can be started with: reference solvers, then INSR integrators (the same job protocol)."""
        return self.contributions(SolverContribution) + self.contributions(IntegratorContribution)

    def runnable(self, contribution_id: str) -> SolverContribution | IntegratorContribution:
        """The solver or integrator ``contribution_id`` (an unknown id is reported as a missing solver)."""
        found = self._by_id.get(contribution_id)
        return found if isinstance(found, IntegratorContribution) else self.solver(contribution_id)


def _whose(record: PluginRecord) -> str:
    """' (built-in)' or ' (distribution NAME)': enough for the user to tell two plugins apart."""
    if record.builtin:
        return " (built-in)"
    return f" (distribution {record.distribution})" if record.distribution else ""


def _make_importable(dist: metadata.Distribution | None) -> None:
    """Append the user plugin folder to sys.path before importing a plugin that lives there."""
    if in_user_folder(dist) and str(plugin_folder()) not in sys.path:
        sys.path.append(str(plugin_folder()))


def load_plugins(**options: Any) -> PluginHost:
    """A host with every installed plugin loaded (honouring the environment flags).

    Plugins the user disabled in ``plugins.json`` are skipped unless ``disabled`` is given.
    """
    config = PluginConfig.load()
    options.setdefault("disabled", config.disabled)
    options.setdefault("sources", config.installed)
    return PluginHost(**options).load_entry_points()
