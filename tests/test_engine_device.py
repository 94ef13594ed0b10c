import sys
import types

import torch

from lincae.engine import device


def test_cpu_policy_is_fp32_unless_bf16_is_asked_for():
    cpu = torch.device("cpu")
    assert device.Precision.for_device(cpu).autocast_dtype is None
    assert device.Precision.for_device(cpu).name == "fp32"
    bf16 = device.Precision.for_device(cpu, cpu_bf16=True)
    assert bf16.autocast_dtype == torch.bfloat16 and bf16.name == "bfloat16"
    lin = torch.nn.Linear(4, 4)
    with bf16.autocast():
        assert lin(torch.ones(1, 4)).dtype == torch.bfloat16
    with device.Precision.for_device(cpu).autocast():
        assert lin(torch.ones(1, 4)).dtype == torch.float32


def test_mps_uses_fp16():
    assert device.Precision.for_device(torch.device("mps")).autocast_dtype == torch.float16


def test_auto_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.auto_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert device.auto_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert device.auto_device().type == "cpu"


def test_gpu_task_wraps_with_spaces_only_on_zero_gpu_and_when_importable(monkeypatch):
    def f(x):
        return x + 1

    wrapped = []
    fake = types.SimpleNamespace(GPU=lambda fn: wrapped.append(fn) or (lambda *a: fn(*a) * 10))
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert device.gpu_task(f) is f and wrapped == []  # not ZeroGPU: `spaces` is not even imported
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(sys.modules, "spaces", None)  # import fails
    assert device.gpu_task(f) is f
    monkeypatch.setitem(sys.modules, "spaces", fake)
    g = device.gpu_task(f)
    assert wrapped == [f] and g(1) == 20

