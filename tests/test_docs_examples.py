"""The code in docs/plugins.md runs as written: the example plugin, its solver and its test."""

import re
import sys
from pathlib import Path

DOC = Path(__file__).parents[1] / "docs" / "plugins.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_minimal_solver_example_installs_runs_and_its_test_passes(tmp_path, monkeypatch):
    blocks = {block.splitlines()[0]: block for block in python_blocks()}
    package = tmp_path / "my_solvers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(blocks["# my_solvers/plugin.py: imported at start-up, keep it light"])
    (package / "decay.py").write_text(blocks["# my_solvers/decay.py: imported only when the solver runs"])
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        namespace: dict = {}
        test_code = next(b for b in python_blocks() if "def test_decay_runs" in b)
        exec(compile(test_code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
        namespace["test_decay_runs"]()
    finally:
        for name in ("my_solvers", "my_solvers.plugin", "my_solvers.decay"):
            sys.modules.pop(name, None)


def test_every_hook_in_the_reference_exists():
    from workbench.plugins import hookspecs

    documented = set(re.findall(r"`(pdewb_\w+)\(\)`", DOC.read_text()))
    specified = {name for name in dir(hookspecs) if name.startswith("pdewb_")}
    assert documented == specified
