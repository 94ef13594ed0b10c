"""Long audio through a model with a length limit: overlapping chunks, linear crossfade.

A signal of `length` samples becomes `n` chunks of `chunk` samples, `step = chunk − overlap` apart (the last
one zero-padded). Every chunk is encoded and decoded as one batch item; `overlap_add` crossfades the decoded
chunks linearly across each overlap (fades sum to one) and trims to `length`. Latent operations act on each
chunk's latent alike, so they commute with the chunking.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ChunkPlan:
    length: int
    chunk: int
    step: int
    n: int

    @property
    def overlap(self) -> int:
        return self.chunk - self.step

    @property
    def padded_length(self) -> int:
        return self.step * (self.n - 1) + self.chunk


def plan_chunks(length: int, max_chunk: int | None, overlap: float = 0.25) -> ChunkPlan:
    """One chunk of the whole signal when it fits in `max_chunk` (or there is no limit)."""
    if length <= 0:
        raise ValueError("cannot chunk an empty signal")
    if max_chunk is None or length <= max_chunk:
        return ChunkPlan(length, length, length, 1)
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    step = max_chunk - int(max_chunk * overlap)
    n = 1 + -(-(length - max_chunk) // step)
    return ChunkPlan(length, max_chunk, step, n)


def split(x: np.ndarray, plan: ChunkPlan) -> np.ndarray:
    """`[..., length]` → `[..., n, chunk]` (copies)."""
    padded = np.zeros(x.shape[:-1] + (plan.padded_length,), dtype=x.dtype)
    padded[..., : min(x.shape[-1], plan.padded_length)] = x[..., : plan.padded_length]
    starts = np.arange(plan.n) * plan.step
    return np.stack([padded[..., s : s + plan.chunk] for s in starts], axis=-2)


def overlap_add(chunks: np.ndarray, plan: ChunkPlan) -> np.ndarray:
    """`[..., n, chunk]` → `[..., length]`, linear crossfade over each overlap."""
    if chunks.shape[-2:] != (plan.n, plan.chunk):
        raise ValueError(f"expected [..., {plan.n}, {plan.chunk}] chunks, got {chunks.shape}")
    if plan.n == 1:
        return chunks[..., 0, : plan.length]
    out = np.zeros(chunks.shape[:-2] + (plan.padded_length,), dtype=np.float32)
    # torch's linspace rounds differently from numpy's: with it, fades match the official package's bit for bit
    fade_in = torch.linspace(0.0, 1.0, plan.overlap).numpy()
    for k in range(plan.n):
        c = chunks[..., k, :].astype(np.float32, copy=True)
        if plan.overlap:
            if k > 0:
                c[..., : plan.overlap] *= fade_in
            if k < plan.n - 1:
                c[..., -plan.overlap :] *= 1.0 - fade_in
        out[..., k * plan.step : k * plan.step + plan.chunk] += c
    return out[..., : plan.length]
