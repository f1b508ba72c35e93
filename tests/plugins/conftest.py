"""Fixtures of the plugin tests: temporary Python environments and hand-made wheels for the install tests (offline, a few seconds).

A test environment is ``python -m venv --without-pip`` plus a .pth file that adds the
host's site-packages with ``site.addsitedir`` (so its .pth files, the editable
installs of the workbench and the built-in plugins, work too). pip, numpy and the
workbench come from the host; what pip installs lands in the new environment's own
site-packages, first on its path, and the host environment is never written to.
"""

from __future__ import annotations


import base64
import hashlib
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest


def make_environment(root: Path) -> Path:
    """A fresh environment that sees the host's packages; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    host_site = sysconfig.get_paths()["purelib"]
    (site / "_pdewb_host.pth").write_text(f"import site; site.addsitedir({host_site!r})\n")
    return python


def make_wheel(folder: Path, name: str, version: str = "0.1.0", *, requires: tuple[str, ...] = (),
               modules: dict[str, str] | None = None, entry_points: dict[str, str] | None = None) -> Path:
    """A pure-Python wheel written directly (no build backend): METADATA, modules, entry points, RECORD."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    info = f"{stem}-{version}.dist-info"
    files = {f"{module}.py": source for module, source in (modules or {}).items()}
    files[f"{info}/METADATA"] = "\n".join(
        ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    ) + "\n"
    files[f"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: pdewb-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if entry_points:
        files[f"{info}/entry_points.txt"] = "[pde_workbench.plugins]\n" + "".join(
            f"{ep} = {target}\n" for ep, target in entry_points.items())
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def _digest(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


def build_wheels(projects: list[Path], out: Path) -> list[Path]:
    """Build real wheels with the host's pip and setuptools, offline (copies, so the sources stay clean)."""
    import shutil

    copies = []
    for project in projects:
        copy = out.parent / f"src-{project.name}"
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        copies.append(copy)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "-q", "-w", str(out), *map(str, copies)], check=True)
    return sorted(out.glob("*.whl"))



@pytest.fixture(autouse=True)
def _own_plugin_settings(tmp_path_factory, monkeypatch):
    """Every test gets its own plugins.json and user plugin folder, never the user's."""
    root = tmp_path_factory.mktemp("pdewb-user")
    monkeypatch.setenv("PDEWB_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("PDEWB_PLUGIN_DIR", str(root / "plugin-folder"))
    return root


@pytest.fixture
def environment(tmp_path):
    """The python of a fresh environment that sees the host's packages (see make_environment)."""
    return make_environment(tmp_path / "venv")


@pytest.fixture
def wheels():
    """The wheel helpers: ``wheels.make(folder, name, ...)`` and ``wheels.build(projects, out)``."""
    return type("Wheels", (), {"make": staticmethod(make_wheel), "build": staticmethod(build_wheels)})
