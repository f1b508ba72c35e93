"""Open a mesh by path or sample name, through plugin readers first, then meshio."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import PLUGIN_FAILURES, MeshError, PluginError, describe_failure
from ..core.mesh import Mesh, load_mesh
from ..plugins.contributions import MeshFormatContribution, SampleDataContribution
from ..plugins.host import PluginHost

SAMPLE_PREFIX = "sample:"


def resolve_mesh_path(reference: str | Path, host: PluginHost | None = None, base: Path | None = None) -> Path:
    """A file path for ``reference``: ``sample:ID`` names a sample-data contribution,
    anything else is a path (relative ones are taken from ``base``)."""
    text = str(reference)
    if text.startswith(SAMPLE_PREFIX):
        if host is None:
            raise MeshError(f"'{text}' names a sample, but no plugins are loaded")
        sample = host.get(text[len(SAMPLE_PREFIX):], SampleDataContribution)
        return Path(sample.load()())
    path = Path(text).expanduser()
    return path if path.is_absolute() or base is None else base / path


def open_mesh(reference: str | Path, host: PluginHost | None = None, base: Path | None = None) -> Mesh:
    """Read a mesh with the plugin reader registered for its extension, else with meshio."""
    path = resolve_mesh_path(reference, host, base)
    reader = _plugin_reader_for(path, host)
    if reader is None:
        return load_mesh(path)
    if not path.is_file():
        raise MeshError(f"{path}: no such file")
    try:
        mesh = reader.load()(path)
    except MeshError:
        raise
    except PluginError as error:
        raise MeshError(f"{path.name}: reader '{reader.id}' is unavailable: {error}") from None
    except PLUGIN_FAILURES as error:  # a plugin reader's failure is a user-facing error
        raise MeshError(f"{path.name}: reader '{reader.id}' failed: {describe_failure(error)}") from None
    if not isinstance(mesh, Mesh):
        raise MeshError(f"{path.name}: reader '{reader.id}' returned {type(mesh).__name__}, not a Mesh")
    return mesh


def _plugin_reader_for(path: Path, host: PluginHost | None) -> MeshFormatContribution | None:
    if host is None:
        return None
    name = path.name.lower()
    for contribution in host.contributions(MeshFormatContribution):
        if any(name.endswith(ext.lower()) for ext in contribution.extensions):
            return contribution
    return None
