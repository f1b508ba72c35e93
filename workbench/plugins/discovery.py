"""Finding plugins without importing them: entry points, built-in or not, and where each came from.

Plugins are named by entry points in the group ``pde_workbench.plugins``, of the
environment's distributions and of the user plugin folder
(:func:`~.userconfig.plugin_folder`). :func:`discover` reads only metadata and
guarantees:

- **Built-ins first.** The built-in plugins come before every third-party one, so
  an id a third-party plugin also declares (``fem.heat``) stays the built-in's:
  the host keeps the first owner of an id. Within each group the order is the
  environment's, then the user folder's, each sorted by entry-point name.
- **Built-in means shipped.** A distribution counts as built-in only by its name
  *and* its place: one in the user folder calling itself ``pde-workbench-fem`` is
  third-party.
- **One unreadable distribution is one problem.** A distribution whose
  ``entry_points.txt`` cannot be parsed is reported in :attr:`Discovery.unreadable`
  instead of stopping every command.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .userconfig import plugin_folder

ENTRY_POINT_GROUP = "pde_workbench.plugins"
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


@dataclass
class Discovery:
    """The plugin entry points found, in loading order, and the distributions that could not be read."""

    entry_points: list[metadata.EntryPoint] = field(default_factory=list)
    #: distribution name (or folder) -> why its entry points could not be read
    unreadable: dict[str, str] = field(default_factory=dict)


def normalise_distribution(distribution: str) -> str:
    """A distribution's name as pip compares them (PEP 503: case, '_' and '.' do not matter)."""
    return distribution.lower().replace("_", "-").replace(".", "-")


def is_in_folder(dist: metadata.Distribution, folder: Path) -> bool:
    location = Path(str(dist.locate_file(""))).resolve()
    return location == folder.resolve()


def in_user_folder(dist: metadata.Distribution | None) -> bool:
    if dist is None:
        return False
    folder = plugin_folder()
    return folder.is_dir() and is_in_folder(dist, folder)


def is_builtin(dist: metadata.Distribution | None) -> bool:
    """Shipped with the workbench: a built-in distribution name, installed in the environment itself."""
    name = _name(dist) if dist is not None else ""
    return bool(name) and normalise_distribution(name) in BUILTIN_DISTRIBUTIONS and not in_user_folder(dist)


def discover(group: str = ENTRY_POINT_GROUP) -> Discovery:
    """The plugin entry points of the environment and the user folder, built-ins first; nothing is imported.

    The same entry point visible twice (a distribution on two ``sys.path`` entries)
    is listed once.
    """
    found = Discovery()
    try:
        environment = list(metadata.entry_points(group=group))  # the fast path: 2 ms for the whole environment
    except Exception:  # noqa: BLE001 - one distribution's metadata is malformed: find which, keep the others
        environment = _entry_points(_first_of_each_name(metadata.distributions()), group, found.unreadable)
    folder = plugin_folder()
    in_folder = []
    if folder.is_dir():
        in_folder = _entry_points(metadata.distributions(path=[str(folder)]), group, found.unreadable)
    seen = set()
    ordered = [*sorted(environment, key=lambda e: e.name), *sorted(in_folder, key=lambda e: e.name)]
    # sorted() is stable: the built-ins move to the front and keep their order, as do the others.
    for entry_point in sorted(ordered, key=lambda e: not is_builtin(e.dist)):
        if (entry_point.name, entry_point.value) not in seen:
            seen.add((entry_point.name, entry_point.value))
            found.entry_points.append(entry_point)
    return found


def discover_entry_points(group: str = ENTRY_POINT_GROUP) -> list[metadata.EntryPoint]:
    """The entry points of :func:`discover`, in loading order."""
    return discover(group).entry_points


def _first_of_each_name(distributions: Iterable[metadata.Distribution]) -> list[metadata.Distribution]:
    """The first distribution of each name on ``sys.path``: the one Python imports, as ``entry_points()`` does."""
    kept, names = [], set()
    for dist in distributions:
        name = normalise_distribution(_name(dist))
        if name not in names:
            names.add(name)
            kept.append(dist)
    return kept


def _entry_points(distributions: Iterable[metadata.Distribution], group: str,
                  unreadable: dict[str, str]) -> list[metadata.EntryPoint]:
    found = []
    for dist in distributions:
        try:
            found.extend(ep for ep in dist.entry_points if ep.group == group)
        except Exception as error:  # noqa: BLE001 - a malformed entry_points.txt is that distribution's problem
            where = Path(str(dist.locate_file("")))
            unreadable[_name(dist) or str(where)] = (
                f"its entry_points.txt cannot be read ({type(error).__name__}: {' '.join(str(error).split())}) "
                f"in {where}")
    return found


def _name(dist: metadata.Distribution) -> str:
    try:
        return dist.name or ""
    except Exception:  # noqa: BLE001 - METADATA missing or unreadable: a distribution without a name
        return ""


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
        return _direct_origin(direct)
    entry = sources.get(normalise_distribution(_name(dist)))
    recorded = entry.get("source") if isinstance(entry, dict) else None
    if isinstance(recorded, str) and recorded:
        return recorded
    location = Path(str(dist.locate_file("")))
    return f"site-packages: {location} (installed by {_installer(dist)})"


def _direct_origin(direct: Mapping) -> str:
    """The origin PEP 610's direct_url.json records; its fields are read as untrusted (any JSON at all)."""
    url = direct.get("url") if isinstance(direct.get("url"), str) else ""
    path = url.removeprefix("file://")
    dir_info, vcs_info = direct.get("dir_info"), direct.get("vcs_info")
    if isinstance(dir_info, dict) and dir_info.get("editable") is True:
        return f"editable: {path}"
    if isinstance(vcs_info, dict):
        vcs = vcs_info.get("vcs")
        return f"{vcs if isinstance(vcs, str) and vcs else 'vcs'}: {url}"
    if url.startswith("file://"):
        return f"{'wheel' if path.endswith('.whl') else 'directory'}: {path}"
    return f"url: {url}"


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
