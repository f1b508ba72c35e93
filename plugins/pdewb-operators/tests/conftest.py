"""Training tests call the plugin directly, outside the workbench's torch job context: give
them the same CPU thread policy (workbench.compute.torch_context: one intra-op thread), which
keeps small models fast when the cores are shared."""

import pytest
import torch

from workbench.compute.torch_context import cpu_thread_count


@pytest.fixture(autouse=True)
def _job_thread_count():
    previous = torch.get_num_threads()
    torch.set_num_threads(cpu_thread_count())
    yield
    torch.set_num_threads(previous)
