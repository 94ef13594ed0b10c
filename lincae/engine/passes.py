"""Forward passes: a model over a batch of items, passes that shrink on out-of-memory, NaN/inf cleared."""
from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch

from lincae.engine.device import Precision
from lincae.models.base import Autoencoder

log = logging.getLogger(__name__)
Progress = Callable[..., object]  # called as progress(fraction, desc=...), like gr.Progress or tqdm wrappers
AUTO = "auto"
BATCH_SECONDS: dict[str, dict[str, float]] = {
    "cpu": {"encode": 12.0, "decode": 6.0},
    "gpu": {"encode": 60.0, "decode": 60.0},
}
"""Most audio per forward pass when the engine decides (`max_batch_seconds="auto"`). On a CPU, batching long
items barely pays, so passes stay small there (measurements: docs/BENCHMARKS.md, "the CPU batch policy")."""


def items_per_pass(seconds: float | None, sample_rate: int, chunk: int, n_items: int) -> int:
    """How many items of `chunk` samples fit in `seconds` of audio (all of them when `seconds` is None)."""
    if seconds is None:
        return n_items
    return max(1, min(n_items, int(seconds * sample_rate // chunk)))


def sanitize(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Zeros in place of NaN/inf; the flag says whether any were found. Nothing is clipped."""
    bad = ~np.isfinite(x)
    if bad.any():
        return np.where(bad, 0.0, x).astype(np.float32), True
    return x, False


def encode_pass(model: Autoencoder, x: np.ndarray, device: torch.device) -> np.ndarray:
    """Always fp32 (see `lincae.engine.device`)."""
    with torch.inference_mode():
        z = model.encode(torch.from_numpy(x).to(device))
    return z.float().cpu().numpy()


def decode_pass(model: Autoencoder, z: np.ndarray, length: int, seed: int, precision: Precision) -> np.ndarray:
    with torch.inference_mode(), precision.autocast():
        y = model.decode(torch.from_numpy(z).to(precision.device), length, seed=seed)
    return y.float().cpu().numpy()


def is_oom(err: BaseException) -> bool:
    message = str(err).lower()
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in message or "can't allocate" in message


def batched(
    fn: Callable[[np.ndarray], np.ndarray],
    items: np.ndarray,
    per_pass: int,
    device: torch.device,
    report: Callable[[int, int], object] | None = None,
) -> np.ndarray:
    """Run `fn` over `items` in passes of at most `per_pass` items, halving the passes on out-of-memory
    (finished passes are kept); `report(items done, items)` after each pass."""
    out: list[np.ndarray] = []
    done = 0
    while done < len(items):
        batch = items[done : done + per_pass]
        try:
            out.append(fn(batch))
        except (RuntimeError, torch.OutOfMemoryError) as err:
            if per_pass == 1 or not is_oom(err):
                raise
            per_pass = (per_pass + 1) // 2
            log.warning("out of memory: retrying with %d items per pass", per_pass)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            continue
        done += len(batch)
        if report is not None:
            report(done, len(items))
    return np.concatenate(out)


def stage(
    progress: Progress | None, start: float, end: float, desc: str, done_desc: str
) -> Callable[[int, int], object] | None:
    """Report `desc` at `start`; return the pass-by-pass reporter up to `end` ("<done_desc> 3/7"), or None
    when nobody listens."""
    if progress is None:
        return None
    progress(start, desc=desc)
    return lambda done, total: progress(start + (end - start) * done / total, desc=f"{done_desc} {done}/{total}")
