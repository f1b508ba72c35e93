"""One condition per boundary: a second one on the same boundary would silently be ignored."""

import pytest

from workbench.core.errors import ParamError
from workbench.core.meshgen import rectangle_mesh
from workbench.core.problem import BoundaryCondition, Problem


@pytest.fixture(scope="module")
def square():
    return rectangle_mesh(2)  # sides tagged left = 1, right = 2, bottom = 3, top = 4


@pytest.mark.parametrize(("first", "second", "shown"), [
    ("left=dirichlet:1", "left=neumann:2", "on 'left' (dirichlet:1 and neumann:2)"),
    ("left=dirichlet:1", "left=dirichlet:1", "on 'left' (dirichlet:1 and dirichlet:1)"),
    ("left=dirichlet:0", "1=neumann:2", "on 'left' and '1' (dirichlet:0 and neumann:2)"),
    ("3=dirichlet:0", "bottom=dirichlet:5", "on '3' and 'bottom' (dirichlet:0 and dirichlet:5)"),
    ("boundary=dirichlet:0", "boundary=neumann:1", "on 'boundary' (dirichlet:0 and neumann:1)"),
])
def test_two_conditions_on_one_boundary_are_refused(square, first, second, shown):
    conditions = [BoundaryCondition.parse(first), BoundaryCondition("top", "neumann"), BoundaryCondition.parse(second)]
    with pytest.raises(ParamError) as info:
        Problem(square, "poisson", {}, conditions)
    assert str(info.value) == f"two boundary conditions {shown}: give each boundary one condition"


def test_distinct_boundaries_and_the_catch_all_may_be_combined(square):
    conditions = [BoundaryCondition.parse(text) for text in
                  ("left=dirichlet:1", "2=dirichlet:0", "bottom=neumann:1", "boundary=neumann:0")]
    assert len(Problem(square, "poisson", {}, conditions).boundary_conditions) == 4
