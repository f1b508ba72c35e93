"""Training tests call the plugin directly, outside the workbench's torch job context: give
them the same CPU thread policy (workbench.compute.torch_context.cpu_threads)."""

import pytest

from workbench.compute.torch_context import cpu_threads


@pytest.fixture(autouse=True)
def _job_thread_count():
    with cpu_threads():
        yield
