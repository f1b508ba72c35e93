"""The torch state a job runs under: its device and inference mode, set on the thread that runs it.

torch keeps the current CUDA device and the grad mode per thread, so they are set
where the job's steps execute (the GUI's compute thread, or the CLI's main
thread), for the whole time the job is driven. torch is imported only here, and
only for contributions that declare ``requires=("torch",)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from ..core.device import select_device


@contextlib.contextmanager
def torch_job_context(inference: bool = True) -> Iterator[object]:
    """Select the device (CUDA, MPS, else CPU) and, for inference, disable autograd."""
    import torch

    device = select_device()
    if device.type == "cuda":
        torch.cuda.set_device(device)
    with torch.inference_mode() if inference else contextlib.nullcontext():
        yield device


def job_context(requires: Iterable[str], inference: bool = True) -> contextlib.AbstractContextManager:
    """:func:`torch_job_context` for a contribution that requires torch; else one that yields None.

    Training jobs pass ``inference=False``: they need autograd.
    """
    return torch_job_context(inference) if "torch" in requires else contextlib.nullcontext()
