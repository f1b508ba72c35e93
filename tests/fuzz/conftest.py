"""Fixtures of the fuzz suite; the sandbox itself is in fuzz_sandbox.py (imported by the tests)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fuzz_sandbox import Sandbox, artifact_files  # noqa: E402


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    return artifact_files(tmp_path_factory.mktemp("fuzz-artifacts"))


@pytest.fixture(scope="session")
def sandboxes(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-sandboxes")


@pytest.fixture
def make_sandbox(sandboxes, artifacts):
    """A factory of fresh sandboxes (one per hypothesis example), removed after the test."""
    made = []

    def make() -> Sandbox:
        sandbox = Sandbox.create(sandboxes, artifacts)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.remove()
