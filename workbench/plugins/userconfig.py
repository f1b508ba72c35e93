"""Where the user's plugin state lives: the enable/disable list and the user plugin folder.

Both sit in per-user folders chosen by platformdirs (``~/.config/pde-workbench`` and
``~/.local/share/pde-workbench/plugins`` on Linux). Tests and portable setups move
them with ``PDEWB_CONFIG_DIR`` and ``PDEWB_PLUGIN_DIR``.

``plugins.json`` holds ``{"disabled": [plugin names], "installed": {distribution:
{"source": ...}}}``; ``installed`` remembers where ``pdewb plugins install`` took
each distribution from, which pip itself does not record for index installs. The
file is rewritten atomically. The host always starts:

- a file whose content cannot be parsed is kept aside as ``plugins.json.unreadable``
  (never overwritten unseen), and the host starts as if it were empty;
- a ``plugins.json`` that cannot be read at all (the config folder is a file, the
  name is a folder, no permission) is left exactly as it is, and said so;
- entries of the wrong type (a disabled name that is not a string, ...) are dropped.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import PluginError
from ..io.atomic import atomic_write_text, describe_os_error

CONFIG_DIR_ENV = "PDEWB_CONFIG_DIR"
PLUGIN_DIR_ENV = "PDEWB_PLUGIN_DIR"
APP_NAME = "pde-workbench"

log = logging.getLogger("workbench.plugins")


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def plugin_folder() -> Path:
    """The user plugin folder: a ``pip install --target`` folder scanned at start-up."""
    override = os.environ.get(PLUGIN_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "plugins"


@dataclass
class PluginConfig:
    """The user's choices about plugins, as stored in ``plugins.json``."""

    disabled: set[str] = field(default_factory=set)
    installed: dict[str, dict] = field(default_factory=dict)
    path: Path | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> PluginConfig:
        path = path or config_dir() / "plugins.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path=path)
        except (OSError, UnicodeDecodeError) as error:
            reason = describe_os_error(error) if isinstance(error, OSError) else "it is not UTF-8 text"
            log.warning("pdewb: cannot read %s (%s); starting with no plugin settings", path, _where(path, reason))
            return cls(path=path)
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("the top level is not an object")
        except ValueError as error:
            aside = path.with_name(path.name + ".unreadable")
            log.warning("pdewb: %s is unreadable (%s); kept as %s, starting with no plugin settings",
                        path, error, aside)
            try:
                os.replace(path, aside)
            except OSError:
                pass
            return cls(path=path)
        return cls(_names(data.get("disabled")), _sources(data.get("installed")), path)

    def save(self) -> None:
        assert self.path is not None
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            raise PluginError(f"cannot save plugin settings: the config folder {folder} is a file, not a folder "
                              f"(move it, or point {CONFIG_DIR_ENV} elsewhere)")
        data = {"disabled": sorted(self.disabled), "installed": self.installed}
        atomic_write_text(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _where(path: Path, reason: str) -> str:
    """The reason, naming the real culprit when it is the folder, not the file."""
    if path.parent.exists() and not path.parent.is_dir():
        return f"the config folder {path.parent} is a file, not a folder"
    if path.is_dir():
        return "it is a folder, not a file"
    return reason


def _names(value: object) -> set[str]:
    """The plugin names of a ``disabled`` entry: a list of strings; anything else holds none."""
    return {name for name in value if isinstance(name, str)} if isinstance(value, list) else set()


def _sources(value: object) -> dict[str, dict]:
    """The ``installed`` entry: distribution -> {"source": ...}; entries of another shape are dropped."""
    if not isinstance(value, dict):
        return {}
    return {name: entry for name, entry in value.items() if isinstance(name, str) and isinstance(entry, dict)}
