"""Torch device selection, importing torch only when it is asked for.

Order: the ``PDEWB_DEVICE`` environment variable if set, then CUDA, then Apple's
MPS, then the CPU.
"""

from __future__ import annotations

import importlib.util
import os

DEVICE_ENV = "PDEWB_DEVICE"


def torch_available() -> bool:
    """True if torch can be imported (checked without importing it)."""
    return importlib.util.find_spec("torch") is not None


def select_device(preferred: str | None = None):
    """The torch.device to compute on."""
    import torch

    preferred = preferred or os.environ.get(DEVICE_ENV)
    if preferred:
        try:
            device = torch.device(preferred)
        except RuntimeError:
            raise RuntimeError(f"'{preferred}' is not a torch device name (try cpu, cuda, cuda:1, mps)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device '{preferred}' was requested but CUDA is not available")
        if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise RuntimeError(f"device '{preferred}' was requested but Apple's MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device) -> str:
    """One line naming the device, e.g. 'cuda:0 (NVIDIA H100)' or 'cpu'."""
    if device.type == "cuda":
        import torch

        index = device.index or 0
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)
