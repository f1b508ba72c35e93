"""Scenario files: parsing, relative paths and clear errors."""

import pytest

from workbench.core.errors import ScenarioError
from workbench.io.scenario import load_scenario

VALID = """
solver = "fem.heat"
mesh = "meshes/plate.msh"
[parameters]
dt = 0.01
[[boundary]]
tag = "hole"
kind = "Dirichlet"
value = "sin(pi*t)"
[output]
directory = "out"
"""


def test_valid_scenario_resolves_paths_relative_to_the_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(VALID)
    scenario = load_scenario(path)
    assert scenario.solver == "fem.heat" and scenario.parameters == {"dt": 0.01}
    assert scenario.base == tmp_path.resolve()
    assert scenario.output_directory == tmp_path.resolve() / "out"
    (condition,) = scenario.boundary
    assert (condition.tag, condition.kind, condition.value) == ("hole", "dirichlet", "sin(pi*t)")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("solver = ", "not valid TOML"),
        ('mesh = "m.msh"', "'solver' must be given as a string"),
        ('solver = "a"\nmesh = "m"\nsolvr = "typo"', "unknown key(s) solvr"),
        ('solver = "a"\nmesh = "m"\nparameters = 3', "[parameters] must be a table"),
        ('solver = "a"\nmesh = "m"\n[[boundary]]\ntag = "x"', "needs 'tag' and 'kind'"),
        ('solver = "a"\nmesh = "m"\n[[boundary]]\ntag = "x"\nkind = "dirichlet"\nvalue = "open(1)"',
         "only math functions"),
    ],
)
def test_invalid_scenarios_raise_one_line_errors(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("bad.toml")


def test_the_shipped_example_scenario_parses():
    from pathlib import Path

    example = Path(__file__).parents[2] / "resources" / "scenarios" / "heat_plate.toml"
    scenario = load_scenario(example)
    assert scenario.solver == "fem.heat" and scenario.mesh == "sample:plate-with-hole"
