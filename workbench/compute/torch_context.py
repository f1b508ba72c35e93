"""The torch state a job runs under: its device and inference mode, set on the thread that runs it.

torch keeps the current CUDA device and the grad mode per thread, so they are set
where the job's steps execute (the GUI's compute thread, or the CLI's main
thread), for the whole time the job is driven. torch is imported only here, and
only for contributions that declare ``requires=("torch",)``.

On the CPU a job computes with ``PDEWB_TORCH_THREADS`` intra-op threads (default 1).
torch's default, one per core, wins when the cores are idle and loses as soon as
they are shared, which on a desktop they always are (the GUI thread, other jobs,
other programs). benchmarks/bench_torch_threads.py, 2 cores, one FNO Adam step:
idle, 2 threads take 0.65x the time of 1; with 2 spinning processes 1.04-1.37x;
with 4, 2.85-2.95x. Set PDEWB_TORCH_THREADS=2 on a machine of one's own.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator

from ..core.device import select_device
from ..core.errors import ParamError

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
    threads = cpu_threads() if device.type == "cpu" else contextlib.nullcontext()
    with threads, torch.inference_mode() if inference else contextlib.nullcontext():
        yield device


_threads_lock = threading.Lock()
_threads_depth, _threads_saved = 0, 1


@contextlib.contextmanager
def cpu_threads(count: int | None = None) -> Iterator[None]:
    """Run with ``count`` (default :func:`cpu_thread_count`) torch intra-op threads, then restore.

    The setting is process-wide, so it is held only while a job or solve runs; nested or
    concurrent holders share it (the first sets it, the last restores it).
    """
    import torch

    global _threads_depth, _threads_saved
    with _threads_lock:
        if _threads_depth == 0:
            _threads_saved = torch.get_num_threads()
            torch.set_num_threads(cpu_thread_count() if count is None else count)
        _threads_depth += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_depth -= 1
            if _threads_depth == 0:
                torch.set_num_threads(_threads_saved)


def cpu_thread_count() -> int:
    """``PDEWB_TORCH_THREADS`` if set, else 1: a whole number from 1 to the machine's CPU count.

    Anything else is a one-line ParamError naming the variable. More threads than
    CPUs never helps (see the module docstring), and an absurd count is worse than
    slow: ``PDEWB_TORCH_THREADS=100000`` made torch's thread pool crash the
    process (a segmentation fault, which no ``except`` can catch).
    """
    text = os.environ.get(THREADS_ENV, "").strip()
    if not text:
        return 1
    cpus = os.cpu_count() or 1
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= cpus:
        raise ParamError(f"{THREADS_ENV} must be a whole number from 1 to {cpus} (the CPUs of this machine), "
                         f"got {text!r}")
    return count


def job_context(
    requires: Iterable[str], inference: bool = True, device: str | None = None
) -> contextlib.AbstractContextManager:
    """:func:`torch_job_context` for a contribution that requires torch; else one that yields None.

    Training jobs pass ``inference=False``: they need autograd.
    """
    return torch_job_context(inference, device) if "torch" in requires else contextlib.nullcontext()
