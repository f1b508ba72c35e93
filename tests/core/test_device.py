"""Torch device selection: environment override, CUDA checks, and torch imported only on demand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbench.core import device as device_module
from workbench.core.device import DEVICE_ENV, describe_device, select_device, torch_available

torch = pytest.importorskip("torch")
needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_importing_device_module_does_not_import_torch():
    result = _run_python(
        "import sys, workbench.core.device as d\n"
        "assert 'torch' not in sys.modules, 'importing workbench.core.device imported torch'\n"
        "assert d.torch_available()\n"
        "assert 'torch' not in sys.modules, 'torch_available() imported torch'\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_torch_available_here():
    assert torch_available() is True


@needs_no_cuda
def test_default_is_cpu_without_cuda(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        pytest.skip("an MPS device would be chosen before the CPU")
    chosen = select_device()
    assert isinstance(chosen, torch.device)
    assert chosen.type == "cpu"
    assert describe_device(chosen) == "cpu"


def test_environment_variable_is_respected(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert select_device() == torch.device("cpu")


def test_explicit_preference_beats_the_environment(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    assert select_device("cpu") == torch.device("cpu")


@needs_no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_asking_for_cuda_without_cuda_raises(monkeypatch, name):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    with pytest.raises(RuntimeError, match="CUDA is not available") as info:
        select_device(name)
    assert name in str(info.value)


@needs_no_cuda
def test_cuda_from_the_environment_without_cuda_raises(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        select_device()


def test_empty_environment_variable_falls_back_to_autodetection(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "")
    chosen = select_device()
    assert chosen.type in {"cpu", "cuda", "mps"}


def test_env_name_is_documented_constant():
    assert device_module.DEVICE_ENV == "PDEWB_DEVICE"
