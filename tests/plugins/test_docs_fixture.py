"""The plugin_host example of docs/plugins.md passes under pytest, with the documented solver."""

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "plugins.md"


def test_the_documented_fixture_example_passes(tmp_path):
    blocks = {b.splitlines()[0]: b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)}
    package = tmp_path / "src" / "my_solvers"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text(blocks["# my_solvers/plugin.py: imported at start-up, keep it light"])
    (package / "decay.py").write_text(blocks["# my_solvers/decay.py: imported only when the solver runs"])
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_my_solvers.py").write_text(blocks["# tests/test_my_solvers.py: the plugin_host fixture"])
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
                             "tests"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(tmp_path / "src")})
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-2000:]
