"""The torch state a job runs under: its device and inference mode, set on the thread that runs it.

torch keeps the current CUDA device and the grad mode per thread, so they are set
where the job's steps execute (the GUI's compute thread, or the CLI's main
thread), for the whole time the job is driven. torch is imported only here, and
only for contributions that declare ``requires=("torch",)``.

On the CPU a job computes with ``PDEWB_TORCH_THREADS`` intra-op threads (default 1).
torch's default, one per core, collapses when the cores are shared: measured on
2 cores under load ~4, one FNO training step took 153 ms with 2 threads and 6 ms
with 1, and the spectral solvers were 6-40x slower. In a desktop application the
GUI thread and other processes always share the cores.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator

from ..core.device import select_device

THREADS_ENV = "PDEWB_TORCH_THREADS"


@contextlib.contextmanager
def torch_job_context(inference: bool = True, device: str | None = None) -> Iterator[object]:
    """Select the device (``device``, else CUDA, MPS, CPU) and, for inference, disable autograd.

    A compute thread dedicated to one device passes its name, so that a job on the
    ``cuda:1`` thread makes cuda:1 its current CUDA device.
    """
    import torch

    device = select_device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    with _cpu_threads(torch, device), torch.inference_mode() if inference else contextlib.nullcontext():
        yield device


@contextlib.contextmanager
def _cpu_threads(torch, device) -> Iterator[None]:
    """torch's intra-op thread count for a CPU job, restored afterwards."""
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(cpu_thread_count())
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def cpu_thread_count() -> int:
    """``PDEWB_TORCH_THREADS`` if set to a positive integer, else 1."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return 1
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {text!r}") from None
    if count < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {text!r}")
    return count


def job_context(
    requires: Iterable[str], inference: bool = True, device: str | None = None
) -> contextlib.AbstractContextManager:
    """:func:`torch_job_context` for a contribution that requires torch; else one that yields None.

    Training jobs pass ``inference=False``: they need autograd.
    """
    return torch_job_context(inference, device) if "torch" in requires else contextlib.nullcontext()
