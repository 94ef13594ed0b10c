"""Where models run and at which precision.

Policy: CUDA > MPS > CPU. Encoders always run in fp32: their latents are what the linearity measurements
are made on. Decoders run under autocast on a GPU (bf16 where the card supports it, else fp16); on CPU they
run in fp32 unless bf16 is asked for, because bf16 changes the output (by how much: docs/BENCHMARKS.md).
On Hugging Face ZeroGPU the GPU exists only inside functions wrapped by `spaces.GPU`, which run in a worker
process that receives their arguments pickled; `gpu_task` applies that wrapper when the `spaces` package is
importable and is the identity elsewhere (see `lincae.engine.zerogpu` for the one call the engine makes).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)


def auto_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass(frozen=True)
class Precision:
    """The decoder's autocast dtype on a device, or None for plain fp32."""

    device: torch.device
    autocast_dtype: torch.dtype | None

    @classmethod
    def for_device(cls, device: torch.device, cpu_bf16: bool = False) -> "Precision":
        if device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        elif device.type == "mps":
            dtype = torch.float16
        else:
            dtype = torch.bfloat16 if cpu_bf16 else None
        return cls(device, dtype)

    @property
    def name(self) -> str:
        return "fp32" if self.autocast_dtype is None else str(self.autocast_dtype).removeprefix("torch.")

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)


def on_zero_gpu() -> bool:
    """Whether this process runs on Hugging Face ZeroGPU hardware (the variable its Spaces set)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in {"1", "t", "true"}


def gpu_task(fn: F, duration: float | Callable[..., float] | None = None) -> F:
    """`fn` wrapped by `spaces.GPU` (Hugging Face ZeroGPU: a GPU for each call, at most `duration` seconds;
    a callable gets the call's arguments) on ZeroGPU hardware with `spaces` installed; `fn` itself elsewhere,
    where `spaces.GPU` would change nothing and importing it would only lengthen the app's start."""
    if not on_zero_gpu():
        return fn
    try:
        import spaces  # type: ignore[import-not-found]
    except ImportError:
        return fn
    return spaces.GPU(fn, duration=duration) if duration is not None else spaces.GPU(fn)
