"""Where the user's plugin state lives: the enable/disable list and the user plugin folder.

Both sit in per-user folders chosen by platformdirs (``~/.config/pde-workbench`` and
``~/.local/share/pde-workbench/plugins`` on Linux). Tests and portable setups move
them with ``PDEWB_CONFIG_DIR`` and ``PDEWB_PLUGIN_DIR``.

``plugins.json`` holds ``{"disabled": [plugin names], "installed": {distribution:
{"source": ...}}}``; ``installed`` remembers where ``pdewb plugins install`` took
each distribution from, which pip itself does not record for index installs. The
file is rewritten atomically; a file that cannot be parsed is kept aside as
``plugins.json.unreadable`` rather than overwritten, and the host starts as if it
were empty.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..io.atomic import atomic_write_text

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
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("the top level is not an object")
            return cls(set(data.get("disabled", [])), dict(data.get("installed", {})), path)
        except FileNotFoundError:
            return cls(path=path)
        except (OSError, ValueError, TypeError) as error:
            aside = path.with_name(path.name + ".unreadable")
            log.warning("%s is unreadable (%s); kept as %s, starting with no plugin settings", path, error, aside)
            try:
                os.replace(path, aside)
            except OSError:
                pass
            return cls(path=path)

    def save(self) -> None:
        assert self.path is not None
        data = {"disabled": sorted(self.disabled), "installed": self.installed}
        atomic_write_text(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
