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
        ('solver = "a"\noutput = "out"', "[output] must be a table"),
        ('solver = "a"\noutput = [1, 2]', "[output] must be a table"),
        ('solver = "a"\n[output]\ndirectory = 3', "[output] directory must be a non-empty string"),
        ('solver = "a"\n[output]\ndirectory = ""', "[output] directory must be a non-empty string"),
        ('solver = "a"\n[output]\ndirectroy = "out"', "[output] unknown key(s) directroy"),
        ('solver = "a"\nboundary = "hole"', "must be given as [[boundary]] tables"),
        ('solver = "a"\nboundary = {tag = "x", kind = "dirichlet"}', "must be given as [[boundary]] tables"),
        ('solver = "a"\n[[boundary]]\ntag = "x"\nkind = "dirichlet"\nvaleu = "1"', "unknown key(s) valeu"),
        ('solver = "a"\n[[boundary]]\ntag = "x"\nkind = 1', "kind must be a string"),
        ('solver = "a"\n[[boundary]]\ntag = true\nkind = "dirichlet"', "tag must be a name or a tag number"),
        ('solver = "a"\n[[boundary]]\ntag = "x"\nkind = "neumann"\nvalue = [1]', "value must be an expression"),
        ('solver = "a"\ntitle = [1]', "'title' must be a string"),
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


def test_numbers_are_accepted_as_boundary_tags_and_values(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('solver = "a"\n[[boundary]]\ntag = 3\nkind = "Neumann"\nvalue = 2.5\n')
    (condition,) = load_scenario(path).boundary
    assert (condition.tag, condition.kind, condition.value) == ("3", "neumann", "2.5")
