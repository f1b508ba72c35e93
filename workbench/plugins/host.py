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

Besides the environment's entry points, the user plugin folder
(:func:`~.userconfig.plugin_folder`) is scanned: it is a folder as written by
``pip install --target``, whose ``*.dist-info`` entry points are read and which is
appended to ``sys.path`` (last, so the host's own packages always win). Plugins
the user disabled (``plugins.json``, :mod:`.userconfig`) are listed, not imported.

Environment: ``PDEWB_SAFE_MODE=1`` loads only the built-in plugins;
``PDEWB_TRACE_HOOKS=1`` logs every plugin load and hook call to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

import pluggy

from ..core.errors import PluginError
from . import hookspecs
from .contributions import FAMILIES, Contribution, IntegratorContribution, SolverContribution
from .userconfig import PluginConfig, plugin_folder

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
        "pde-workbench-insr",
    }
)
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
            "contributions": [c.id for c in self.contributions],
        }


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def normalise_distribution(distribution: str) -> str:
    """A distribution's name as pip compares them (PEP 503: case, '_' and '.' do not matter)."""
    return distribution.lower().replace("_", "-").replace(".", "-")


def discover_entry_points(group: str = ENTRY_POINT_GROUP) -> list[metadata.EntryPoint]:
    """The plugin entry points of this environment, then those of the user plugin folder.

    Nothing is imported. The same entry point visible twice (a distribution on two
    ``sys.path`` entries) is listed once.
    """
    found: list[metadata.EntryPoint] = []
    seen = set()
    environment = sorted(metadata.entry_points(group=group), key=lambda e: e.name)
    folder = plugin_folder()
    in_folder = []
    if folder.is_dir():
        for dist in metadata.distributions(path=[str(folder)]):
            in_folder.extend(ep for ep in dist.entry_points if ep.group == group)
    for entry_point in [*environment, *sorted(in_folder, key=lambda e: e.name)]:
        if (entry_point.name, entry_point.value) not in seen:
            seen.add((entry_point.name, entry_point.value))
            found.append(entry_point)
    return found


def is_in_folder(dist: metadata.Distribution, folder: Path) -> bool:
    location = Path(str(dist.locate_file(""))).resolve()
    return location == folder.resolve()


def origin_of(dist: metadata.Distribution | None, builtin: bool, sources: Mapping[str, dict] = {}) -> str:
    """Where an installed distribution came from, as far as its metadata and our install log tell."""
    if dist is None:
        return "registered in code"
    if builtin:
        return "built-in"
    folder = plugin_folder()
    if folder.is_dir() and is_in_folder(dist, folder):
        return f"user folder: {folder}"
    direct = _direct_url(dist)
    if direct is not None:
        url = direct.get("url", "")
        path = url.removeprefix("file://")
        if direct.get("dir_info", {}).get("editable"):
            return f"editable: {path}"
        if "vcs_info" in direct:
            return f"{direct['vcs_info'].get('vcs', 'vcs')}: {url}"
        if url.startswith("file://"):
            return f"{'wheel' if path.endswith('.whl') else 'directory'}: {path}"
        return f"url: {url}"
    recorded = sources.get(normalise_distribution(dist.name), {}).get("source")
    if recorded:
        return recorded
    location = Path(str(dist.locate_file("")))
    return f"site-packages: {location} (installed by {_installer(dist)})"


def _direct_url(dist: metadata.Distribution) -> dict | None:
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _installer(dist: metadata.Distribution) -> str:
    return (dist.read_text("INSTALLER") or "").strip() or "an unknown tool"


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
    ) -> None:
        self.safe_mode = _flag(SAFE_MODE_ENV) if safe_mode is None else safe_mode
        self.trace = _flag(TRACE_ENV) if trace is None else trace
        self.disabled = set(disabled)
        #: Install sources recorded by ``pdewb plugins install`` (distribution -> {"source": ...}).
        self.sources = dict(sources or {})
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
        """Discover and load every plugin installed in the entry-point group or the user folder."""
        for entry_point in discover_entry_points(group):
            self._load_entry_point(entry_point)
        return self

    def _load_entry_point(self, entry_point: metadata.EntryPoint) -> None:
        dist = entry_point.dist
        distribution = dist.name if dist is not None else None
        record = PluginRecord(
            name=entry_point.name,
            distribution=distribution,
            version=dist.version if dist is not None else None,
            builtin=distribution is not None and normalise_distribution(distribution) in BUILTIN_DISTRIBUTIONS,
        )
        record.origin = origin_of(dist, record.builtin, self.sources)
        if self.safe_mode and not record.builtin:
            self._skip(record, "safe mode: third-party plugins are not loaded")
            return
        if record.name in self.disabled:
            self._skip(record, "disabled by the user")
            return
        started = time.perf_counter()
        _make_importable(dist)
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
        record.api_version, incompatible = declared_api(plugin)
        if incompatible:
            record.status, record.error = "incompatible", incompatible
            log.info("plugin %s is incompatible: %s", record.name, incompatible)
            self.records.append(record)
            return record
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

    def runnables(self) -> list[SolverContribution | IntegratorContribution]:
        """What a run can be started with: reference solvers, then INSR integrators (the same job protocol)."""
        return self.contributions(SolverContribution) + self.contributions(IntegratorContribution)

    def runnable(self, contribution_id: str) -> SolverContribution | IntegratorContribution:
        """The solver or integrator ``contribution_id`` (an unknown id is reported as a missing solver)."""
        found = self._by_id.get(contribution_id)
        return found if isinstance(found, IntegratorContribution) else self.solver(contribution_id)


def _make_importable(dist: metadata.Distribution | None) -> None:
    """Append the user plugin folder to sys.path before importing a plugin that lives there."""
    if dist is None:
        return
    folder = plugin_folder()
    if folder.is_dir() and is_in_folder(dist, folder) and str(folder) not in sys.path:
        sys.path.append(str(folder))


def load_plugins(**options: Any) -> PluginHost:
    """A host with every installed plugin loaded (honouring the environment flags).

    Plugins the user disabled in ``plugins.json`` are skipped unless ``disabled`` is given.
    """
    config = PluginConfig.load()
    options.setdefault("disabled", config.disabled)
    options.setdefault("sources", config.installed)
    return PluginHost(**options).load_entry_points()
