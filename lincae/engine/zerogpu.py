"""The engine's model work as one picklable call per request: the shape Hugging Face ZeroGPU needs.

On ZeroGPU a function wrapped by `spaces.GPU` runs in a worker process that gets a GPU for at most the
duration it asked for, and receives its arguments pickled. So the engine sends only names, numbers and numpy
arrays (never a model: the worker finds the engine, and the model it already loaded, through this module's
registry of live engines, which the worker inherits), asks for a duration computed from the audio the call
will process, and makes one such call per track table (encode what is not cached, then decode every row).
Elsewhere the wrapper is the identity and the call runs in the caller's thread.
"""
from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Callable

from lincae.engine.device import gpu_task

GPU_SETUP_S = 20.0
"""Seconds a call may spend before its first pass (moving inputs, allocating)."""
GPU_S_PER_AUDIO_S = 0.05
"""Seconds of GPU time per second of audio encoded or decoded: a bound 5× above the goal of 100× real time
per item on one modern GPU (not measured yet: docs/BENCHMARKS.md)."""
GPU_MAX_S = 120.0
"""ZeroGPU lowers a call's queue priority the longer it asks for; no table needs more than this."""

_engines: weakref.WeakValueDictionary[str, object] = weakref.WeakValueDictionary()
_progress: dict[str, Callable[..., object]] = {}
_ids = itertools.count()
_lock = threading.Lock()


def register(engine: object) -> str:
    """A name under which worker-side code finds `engine` (kept only as long as the engine lives)."""
    token = f"engine-{next(_ids)}"
    _engines[token] = engine
    return token


def duration(engine: str, method: str, model: str, audio_seconds: float, progress: str | None,
             kwargs: dict) -> float:
    """The seconds of GPU a call asks for: set-up plus a bound per second of audio processed."""
    return min(GPU_MAX_S, GPU_SETUP_S + GPU_S_PER_AUDIO_S * audio_seconds)


def _run(engine: str, method: str, model: str, audio_seconds: float, progress: str | None, kwargs: dict):
    """Worker side: `engine._gpu_<method>(model, report, **kwargs)` on the live engine named `engine`."""
    live = _engines[engine]
    report = _progress.get(progress) if progress is not None else None
    return getattr(live, f"_gpu_{method}")(model, report, **kwargs)


_run_on_gpu = gpu_task(_run, duration=duration)


def call(engine: str, method: str, model: str, audio_seconds: float,
         progress: Callable[..., object] | None = None, **kwargs):
    """One GPU call of `engine._gpu_<method>`; `audio_seconds` is how much audio it encodes and decodes in all
    (its duration follows from it). `progress` is heard only where the call runs in this process."""
    token = None
    if progress is not None:
        with _lock:
            token = f"progress-{next(_ids)}"
            _progress[token] = progress
    try:
        return _run_on_gpu(engine, method, model, audio_seconds, token, kwargs)
    finally:
        if token is not None:
            _progress.pop(token, None)
