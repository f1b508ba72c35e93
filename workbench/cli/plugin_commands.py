"""``pdewb plugins ...``: list, install, uninstall, enable, disable and scaffold plugins.

Installing runs the package's code (its build and its import), so ``install`` shows
the package and where it comes from and asks before running pip; ``--yes`` is the
explicit consent for scripts. pip runs in a separate process with the host's own
packages pinned (:mod:`workbench.plugins.installer`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from ..core.errors import PluginError
from ..plugins import installer
from ..plugins.discovery import ENTRY_POINT_GROUP, discover_entry_points, is_in_folder, normalise_distribution
from ..plugins.host import PluginRecord, load_plugins
from ..plugins.userconfig import PluginConfig, plugin_folder
from . import arguments
from .report import print_json, print_table, print_text

EXIT_OK = 0


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, parser_class: type) -> None:
    """The ``plugins`` command and its sub-commands."""
    plugins = sub.add_parser("plugins", parents=[common], help="list, install, enable or create plugins")
    plugins_sub = plugins.add_subparsers(dest="plugins_command", required=True, parser_class=parser_class)

    listing = plugins_sub.add_parser("list", parents=[common], help="plugins, their origin, status and errors")
    listing.set_defaults(handler=list_plugins)

    install = plugins_sub.add_parser("install", parents=[common], help="install a plugin with pip (runs its code)")
    install.add_argument("target", metavar="NAME|WHEEL|DIR", help="package name, wheel file or project folder")
    install.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    install.add_argument("--index-url", metavar="URL", help="package index to use instead of pip's")
    install.add_argument("--find-links", action="append", default=[], metavar="DIR|URL",
                         help="also look for packages here (repeatable)")
    install.add_argument("--no-index", action="store_true", help="use only --find-links, no package index")
    install.set_defaults(handler=install_plugin)

    uninstall = plugins_sub.add_parser("uninstall", parents=[common], help="remove a third-party plugin")
    uninstall.add_argument("name", help="plugin or distribution name")
    uninstall.set_defaults(handler=uninstall_plugin)

    for verb, handler in (("enable", enable_plugin), ("disable", disable_plugin)):
        toggle = plugins_sub.add_parser(verb, parents=[common], help=f"{verb} a plugin from the next start on")
        toggle.add_argument("name", help="plugin name (first column of 'pdewb plugins list')")
        toggle.set_defaults(handler=handler)

    new = plugins_sub.add_parser("new", parents=[common], help="create a plugin package to start from")
    new.add_argument("name", help="distribution name, e.g. my-solvers")
    new.add_argument("--kind", required=True, choices=("solver", "surrogate", "mover", "integrator"))
    new.add_argument("--dir", default=".", metavar="PARENT", type=arguments.path,
                     help="folder to create it in (default: here)")
    new.set_defaults(handler=new_plugin)


def list_plugins(args: argparse.Namespace) -> int:
    host = load_plugins()
    if args.json:
        print_json({"plugins": [r.describe() for r in host.records],
                    "contributions": [c.describe() for r in host.records for c in r.contributions],
                    "plugin_folder": str(plugin_folder())})
        return EXIT_OK
    rows = [(r.name, r.distribution or "-", r.version or "-", r.status, _detail(r), r.origin) for r in host.records]
    print_table(["plugin", "distribution", "version", "status", "contributions / reason", "origin"], rows)
    return EXIT_OK


def _detail(record: PluginRecord) -> str:
    """Its contributions, or why it did not load; then what else the user should know (it is slow)."""
    main = ", ".join(c.id for c in record.contributions) or record.error or "-"
    return "; ".join([main, *record.notes])


def install_plugin(args: argparse.Namespace) -> int:
    problem = installer.pip_problem()
    if problem:
        raise PluginError(problem)
    source = installer.resolve_source(args.target, index_url=args.index_url, find_links=args.find_links,
                                      no_index=args.no_index)
    with tempfile.TemporaryDirectory(prefix="pdewb-install-") as scratch:
        command = installer.install_command(source, Path(scratch) / "constraints.txt", index_url=args.index_url,
                                            find_links=args.find_links, no_index=args.no_index)
        _confirm_install(source, command, args.yes)
        before = installer.snapshot()
        echo = (lambda line: None) if args.json else (lambda line: print(f"  {line}", file=sys.stderr))
        returncode, output = installer.run_pip(command, echo)
        outcome = installer.finish_install(source, returncode, output, before)
    if not outcome.ok:
        raise PluginError(outcome.message)
    if source.kind == "package index":
        _remember_source(source)
    statuses = _statuses_after_install(outcome.plugins)
    if args.json:
        print_json({**outcome.__dict__, "command": str(command), "statuses": statuses})
        return EXIT_OK
    print_text(outcome.message)
    for name, (status, reason) in statuses.items():
        print_text(f"  {name}: {status}{f' ({reason})' if reason else ''}")
    if outcome.plugins:
        print_text("Restart the workbench to use it; new pdewb commands load it already.")
    return EXIT_OK


def _confirm_install(source: installer.PackageSource, command: installer.PipCommand, assume_yes: bool) -> None:
    print(f"Installing {source.describe()}.\nThis runs code from the package with your permissions.\n"
          f"pip: {command}", file=sys.stderr)
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise PluginError("not installing without confirmation: run it in a terminal, or pass --yes")
    answer = input(f"Install {source.package}? [y/N] ").strip().lower()
    if answer not in {"y", "yes"}:
        raise PluginError("installation cancelled; nothing was changed")


def _remember_source(source: installer.PackageSource) -> None:
    config = PluginConfig.load()
    config.installed[normalise_distribution(source.package)] = {"source": source.record()}
    config.save()


def _statuses_after_install(plugins: list[str]) -> dict[str, tuple[str, str | None]]:
    """Load the new plugins in a fresh process (this one may have stale imports): loaded, incompatible, failed."""
    if not plugins:
        return {}
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", "plugins", "list", "--json"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        return {name: ("unknown", "listing plugins failed: " + result.stderr.strip()) for name in plugins}
    records = {r["name"]: r for r in json.loads(result.stdout)["plugins"]}
    return {name: (records[name]["status"], records[name]["reason"]) if name in records else ("not found", None)
            for name in plugins}


def uninstall_plugin(args: argparse.Namespace) -> int:
    dist = _distribution_of(args.name)
    name, version = dist.metadata["Name"], dist.version  # read now: removing the files empties them
    installer.check_removable(name)
    folder = plugin_folder()
    if folder.is_dir() and is_in_folder(dist, folder):
        removed = installer.remove_from_plugin_folder(dist, folder)
        message = f"removed {name} {version} from the user plugin folder ({len(removed)} files)"
    else:
        problem = installer.pip_problem()
        if problem:
            raise PluginError(problem)
        returncode, output = installer.run_pip(installer.uninstall_command(name))
        if returncode != 0:
            raise PluginError(f"uninstalling {name} failed: {installer.pip_failure_reason(output)}")
        message = f"uninstalled {name} {version}"
    config = PluginConfig.load()
    if config.installed.pop(normalise_distribution(name), None) is not None:
        config.save()
    if args.json:
        print_json({"uninstalled": name, "version": version, "message": message})
    else:
        print_text(message)
    return EXIT_OK


def _distribution_of(name: str) -> metadata.Distribution:
    """The installed plugin distribution named ``name`` (or providing the plugin ``name``)."""
    for entry_point in discover_entry_points():
        dist = entry_point.dist
        distribution = (dist.metadata["Name"] or "") if dist is not None else ""
        if distribution and name in {entry_point.name, distribution, normalise_distribution(distribution)}:
            return dist
    installed = {normalise_distribution(d.metadata["Name"] or "") for d in metadata.distributions()}
    if normalise_distribution(name) in installed:
        raise PluginError(f"'{name}' is installed but is not a PDE Workbench plugin "
                          f"(no '{ENTRY_POINT_GROUP}' entry point)")
    raise PluginError(f"no installed plugin '{name}' (see 'pdewb plugins list')")


def enable_plugin(args: argparse.Namespace) -> int:
    return _set_enabled(args, enabled=True)


def disable_plugin(args: argparse.Namespace) -> int:
    return _set_enabled(args, enabled=False)


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    known = sorted({entry_point.name for entry_point in discover_entry_points()})
    config = PluginConfig.load()
    if args.name not in known and args.name not in config.disabled:
        raise PluginError(f"no plugin '{args.name}' (installed: {', '.join(known) or 'none'})")
    (config.disabled.discard if enabled else config.disabled.add)(args.name)
    config.save()
    verb = "enabled" if enabled else "disabled"
    if args.json:
        print_json({"plugin": args.name, "enabled": enabled, "config": str(config.path)})
    else:
        print_text(f"{verb} {args.name}; this takes effect the next time the workbench or pdewb starts")
    return EXIT_OK


def new_plugin(args: argparse.Namespace) -> int:
    from ..plugins.scaffold import create_plugin

    created = create_plugin(args.name, args.kind, Path(args.dir))
    if args.json:
        print_json({"path": str(created.root), "files": [str(p) for p in created.files],
                    "distribution": created.names.distribution, "contribution": created.names.contribution_id})
        return EXIT_OK
    print_text(f"created {created.root} ({args.kind} '{created.names.contribution_id}'):")
    for path in created.files:
        print_text(f"  {path.relative_to(created.root)}")
    print_text(f"Try it: pip install -e {created.root} && pytest {created.root / 'tests'}")
    return EXIT_OK
