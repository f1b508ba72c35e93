"""Installing and uninstalling plugins with pip, without Qt: shared by the CLI and the GUI.

Installing a package runs its code, so nothing here runs on its own: the CLI asks
for confirmation and the GUI shows the package and its source before either calls
:func:`run_pip` (or starts the same command line in a QProcess).

Guarantees, and how they are kept:

- **the host's own packages do not move**: pip gets a constraints file pinning the
  installed versions of :data:`HOST_DISTRIBUTIONS`, so a plugin that needs another
  numpy (or torch, vtk, PySide6, pde-workbench) fails to resolve instead;
- **a failed install leaves the environment as it was**: pip resolves every
  requirement before it installs anything, so a resolution failure changes
  nothing; for failures after that (a build error of the second of two packages)
  :func:`finish_install` compares a snapshot of the distributions taken before and
  after, uninstalls what was added and names any version pip changed.

pip runs as ``PYTHON -m pip`` in a separate process, where PYTHON is the host's
interpreter (or another one, for tests). A frozen build has no pip:
:func:`pip_problem` says so and how to use the user plugin folder instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import PluginError
from .host import BUILTIN_DISTRIBUTIONS, ENTRY_POINT_GROUP, normalise_distribution
from .userconfig import plugin_folder

#: Distributions a plugin may not upgrade or downgrade (pinned to the installed versions).
HOST_DISTRIBUTIONS = (
    "pde-workbench", "numpy", "torch", "vtk", "PySide6", "PySide6-Essentials", "PySide6-Addons", "shiboken6",
)
PIP_DEFAULT_INDEX = "https://pypi.org/simple"
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?\s*([<>=!~].*)?$")

# Runs in the target interpreter: its distributions, their versions and plugin entry points.
_SNAPSHOT_CODE = f"""
import json, importlib.metadata as m
out = {{}}
for d in m.distributions():
    name = d.metadata["Name"]
    if name:
        plugins = sorted(e.name for e in d.entry_points if e.group == {ENTRY_POINT_GROUP!r})
        out.setdefault(name, {{"version": d.version, "plugins": plugins}})
print(json.dumps(out))
"""


def pip_problem(python: str | None = None) -> str | None:
    """Why pip cannot be used to install plugins here, or None when it can."""
    python = python or sys.executable
    folder = plugin_folder()
    hint = (
        f"install plugins into the user plugin folder instead: "
        f"'python3.{sys.version_info.minor} -m pip install --target {folder} --no-deps PACKAGE'"
    )
    if getattr(sys, "frozen", False) and python == sys.executable:
        return f"this is a frozen build of PDE Workbench without pip; {hint}"
    if python == sys.executable:
        return None if importlib.util.find_spec("pip") is not None else f"pip is not installed for {python}; {hint}"
    probe = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"pip is not available for {python}; {hint}"


def host_constraints() -> list[str]:
    """``name==version`` of each host distribution installed in this process's environment."""
    from importlib import metadata

    pins = []
    for name in HOST_DISTRIBUTIONS:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue  # not installed (PySide6 without the GUI extra): nothing to protect
    return pins


def write_constraints(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Written by PDE Workbench: the host's own packages stay as they are.\n"
                    + "\n".join(host_constraints()) + "\n")
    return path


@dataclass(frozen=True)
class PackageSource:
    """Where pip will take the package from, and where that is, for the user to read before installing."""

    kind: str  # "package index", "wheel file" or "directory"
    requirement: str  # the argument given to pip
    package: str  # the distribution name, as far as it is known before installing
    location: str  # the index URL(s), the wheel's path or the folder

    def describe(self) -> str:
        return f"{self.package} from {self.kind} {self.location}"

    def record(self) -> str:
        """The origin kept in plugins.json for index installs (pip records wheels and folders itself)."""
        return f"index: {self.location}"


def resolve_source(
    target: str, *, index_url: str | None = None, find_links: Sequence[str] = (), no_index: bool = False
) -> PackageSource:
    """Interpret NAME, WHEEL or DIR; a clear PluginError for anything else."""
    path = Path(target).expanduser()
    if target.endswith(".whl") or path.is_dir() or os.sep in target:
        if not path.exists():
            raise PluginError(f"no such wheel or folder: {target}")
        path = path.resolve()
        if path.is_file():
            if path.suffix != ".whl":
                raise PluginError(f"{target} is not a wheel (.whl) file")
            return PackageSource("wheel file", str(path), path.name.split("-")[0].replace("_", "-"), str(path))
        return PackageSource("directory", str(path), _project_name(path), str(path))
    if not _REQUIREMENT.match(target.strip()):
        raise PluginError(f"'{target}' is neither a package name, a wheel file nor a folder")
    return PackageSource("package index", target.strip(), re.split(r"[\[<>=!~ ]", target.strip())[0],
                         _index_description(index_url, find_links, no_index))


def _project_name(folder: Path) -> str:
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        if (folder / "setup.py").is_file():
            return folder.name
        raise PluginError(f"{folder} is not a Python project (no pyproject.toml or setup.py)")
    try:
        return tomllib.loads(pyproject.read_text())["project"]["name"]
    except (tomllib.TOMLDecodeError, KeyError) as error:
        raise PluginError(f"{pyproject} has no readable [project] name ({error})") from None


def _index_description(index_url: str | None, find_links: Sequence[str], no_index: bool) -> str:
    links = [str(Path(link).resolve()) if Path(link).exists() else link for link in find_links]
    if no_index:
        return "local folder(s) " + ", ".join(links) if links else "nowhere (--no-index without --find-links)"
    index = index_url or os.environ.get("PIP_INDEX_URL") or f"{PIP_DEFAULT_INDEX} (pip's default unless pip.conf names another)"
    return index + "".join(f" and {link}" for link in links)


@dataclass(frozen=True)
class PipCommand:
    """A pip command line and the environment it changes."""

    argv: list[str]
    python: str
    source: PackageSource | None = None

    def __str__(self) -> str:
        return " ".join(self.argv)


def install_command(
    source: PackageSource,
    constraints: Path,
    *,
    python: str | None = None,
    index_url: str | None = None,
    find_links: Sequence[str] = (),
    no_index: bool = False,
) -> PipCommand:
    python = python or sys.executable
    argv = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
            "--constraint", str(write_constraints(constraints))]
    if index_url:
        argv += ["--index-url", index_url]
    for link in find_links:
        argv += ["--find-links", link]
    if no_index:
        argv.append("--no-index")
    return PipCommand([*argv, source.requirement], python, source)


def uninstall_command(distribution: str, *, python: str | None = None) -> PipCommand:
    """``pip uninstall -y`` for a third-party plugin distribution; built-ins and host packages are refused."""
    check_removable(distribution)
    python = python or sys.executable
    return PipCommand([python, "-m", "pip", "uninstall", "--disable-pip-version-check", "-y", distribution], python)


def check_removable(distribution: str) -> None:
    name = normalise_distribution(distribution)
    if name in BUILTIN_DISTRIBUTIONS:
        raise PluginError(f"'{distribution}' is a built-in plugin: disable it instead ('pdewb plugins disable')")
    if name in {normalise_distribution(d) for d in HOST_DISTRIBUTIONS}:
        raise PluginError(f"'{distribution}' is part of PDE Workbench itself, not a plugin")


def pip_environment() -> dict[str, str]:
    """pip's environment: unbuffered (so output streams) and never prompting."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def run_pip(command: PipCommand, on_line: Callable[[str], None] = lambda line: None) -> tuple[int, str]:
    """Run pip, streaming each output line to ``on_line``; returns (exit status, the whole output)."""
    lines = []
    with subprocess.Popen(command.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=pip_environment(), bufsize=1) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            on_line(line.rstrip("\n"))
    return process.returncode, "".join(lines)


Snapshot = dict[str, dict]


def snapshot(python: str | None = None) -> Snapshot:
    """Every distribution visible to ``python``: name -> {"version", "plugins"}."""
    result = subprocess.run([python or sys.executable, "-c", _SNAPSHOT_CODE], capture_output=True, text=True)
    if result.returncode != 0:
        raise PluginError(f"cannot list the packages of {python}: {result.stderr.strip().splitlines()[-1:]}")
    return {normalise_distribution(name): info for name, info in json.loads(result.stdout).items()}


@dataclass
class InstallOutcome:
    """What an install did: success, the plugins it brought, and one line saying why it failed."""

    ok: bool
    message: str
    plugins: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def pip_failure_reason(output: str) -> str:
    """pip's ERROR lines (with the line after a resolution error), joined into one line."""
    lines = [line.strip() for line in output.splitlines()]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
    conflict = [line for line in lines if line.startswith("The conflict is caused by")]
    index = lines.index(conflict[0]) if conflict else -1
    details = [line for line in lines[index + 1:index + 4] if line] if conflict else []
    text = " ".join(errors + details) or (lines[-1] if lines else "pip failed without output")
    return " ".join(text.split())


def finish_install(
    source: PackageSource, returncode: int, output: str, before: Snapshot, python: str | None = None,
    rollback: Callable[[PipCommand], tuple[int, str]] = run_pip,
) -> InstallOutcome:
    """Check the environment after pip ran; undo additions of a failed install; say what happened."""
    after = snapshot(python)
    added = sorted(set(after) - set(before))
    changed = sorted(f"{n} {before[n]['version']} -> {after[n]['version']}"
                     for n in set(before) & set(after) if before[n]["version"] != after[n]["version"])
    if returncode != 0:
        return _failed(source, output, before, added, changed, python, rollback)
    touched = set(added) | {line.split()[0] for line in changed}
    name = normalise_distribution(source.package)
    if not touched and name in after:
        touched = {name}  # pip found it already installed at that version
    plugins = sorted(p for n in touched for p in after[n]["plugins"])
    if not plugins:
        message = (f"installed {source.package}, but it declares no '{ENTRY_POINT_GROUP}' entry point: "
                   f"it is not a PDE Workbench plugin")
        return InstallOutcome(True, message, [], added, changed)
    versions = ", ".join(f"{n} {after[n]['version']}" for n in sorted(touched) if after[n]["plugins"])
    return InstallOutcome(True, f"installed {versions} (plugin {', '.join(plugins)})", plugins, added, changed)


def _failed(source, output, before, added, changed, python, rollback) -> InstallOutcome:
    reason = pip_failure_reason(output)
    for name in added:  # pip got past resolution and failed later: take back what it added
        rollback(PipCommand([python or sys.executable, "-m", "pip", "uninstall", "-y", name], python or sys.executable))
    leftover = sorted(set(snapshot(python)) - set(before)) if added else []
    if leftover or changed:
        note = f"; could not undo: added {', '.join(leftover) or 'nothing'}, changed {', '.join(changed) or 'nothing'}"
    else:
        note = "; the environment is unchanged"
    return InstallOutcome(False, f"installing {source.package} failed: {reason}{note}", [], leftover, changed)


def remove_from_plugin_folder(dist, folder: Path) -> list[Path]:
    """Delete the files a distribution in the user plugin folder lists in its RECORD (only inside the folder)."""
    folder = folder.resolve()
    files = [Path(str(dist.locate_file(f))).resolve() for f in dist.files or []]
    inside = [f for f in files if folder in f.parents]
    if not inside:
        raise PluginError(f"{dist.metadata['Name']} has no file list (RECORD): remove it from {folder} by hand")
    for path in inside:
        path.unlink(missing_ok=True)
    for directory in sorted({p.parent for p in inside}, key=lambda p: len(p.parts), reverse=True):
        _remove_if_only_bytecode(directory, folder)
    return inside


def _remove_if_only_bytecode(directory: Path, folder: Path) -> None:
    """Remove a package folder left with nothing but __pycache__ (written on import, not in RECORD)."""
    import shutil

    if directory == folder or not directory.is_dir():
        return
    left = list(directory.iterdir())
    if all(p.name == "__pycache__" for p in left):
        shutil.rmtree(directory)
