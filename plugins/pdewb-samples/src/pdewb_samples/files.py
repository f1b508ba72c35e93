"""Paths of the sample files inside this package."""

from importlib import resources
from pathlib import Path


def _data(name: str) -> Path:
    return Path(str(resources.files(__package__) / "data" / name))


def plate_with_hole() -> Path:
    return _data("plate_with_hole.msh")


def l_shape() -> Path:
    return _data("l_shape.msh")
