"""What the field selector offers: scalars by name, vectors as magnitude and components."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.field import Field

COMPONENTS = "xyz"


def field_choices(fields: Mapping[str, Field]) -> list[str]:
    """``u`` for a scalar; ``|v|``, ``v.x``, ``v.y`` (, ``v.z``) for a vector field ``v``."""
    choices = []
    for name, field in fields.items():
        if field.n_components == 1:
            choices.append(name)
        else:
            choices.append(f"|{name}|")
            choices.extend(f"{name}.{_component(i)}" for i in range(field.n_components))
    return choices


def chosen_values(fields: Mapping[str, Field], choice: str) -> tuple[np.ndarray, str] | None:
    """The values and location a selector entry stands for, or None if the frame lacks it."""
    if choice in fields:
        return fields[choice].values, fields[choice].location
    if choice.startswith("|") and choice.endswith("|") and choice[1:-1] in fields:
        field = fields[choice[1:-1]]
        return np.linalg.norm(field.values, axis=-1), field.location
    name, _, component = choice.rpartition(".")
    if name in fields and component:
        index = _index(component)
        field = fields[name]
        if index is not None and index < field.n_components:
            return field.values[:, index], field.location
    return None


def _component(index: int) -> str:
    return COMPONENTS[index] if index < len(COMPONENTS) else str(index)


def _index(component: str) -> int | None:
    if component in COMPONENTS:
        return COMPONENTS.index(component)
    return int(component) if component.isdigit() else None
