"""What every autoencoder in lincae looks like to the rest of the library."""
from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Autoencoder(Protocol):
    """Mono audio in, latent out, and back.

    `encode` takes float32 mono audio `[B, T]` at `sample_rate` and returns a latent tensor whose first
    dimension is the batch. Latents of the same model and length can be added, subtracted and scaled.
    `decode` returns `[B, length]`; stochastic decoders draw their noise from `seed` so that two decodes
    with the same seed differ only by their latents. `deterministic`: whether `decode` ignores the seed.
    """

    name: str
    sample_rate: int
    weights_hash: str
    deterministic: bool

    def encode(self, x: torch.Tensor) -> torch.Tensor: ...

    def decode(self, z: torch.Tensor, length: int, seed: int | None = None) -> torch.Tensor: ...


@dataclass(frozen=True)
class ModelInfo:
    """One row of the registry: what a model is and whether it can run here."""

    name: str
    display_name: str
    family: str
    source: str
    sample_rate: int
    embedded: bool
    linear: bool
    available: bool
    reason: str = ""
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def weights_fingerprint(path: Path) -> str:
    """A short hash of a weight file: its size, first and last MiB. Cheap, and stable across copies."""
    mib = 1 << 20
    h = hashlib.sha256()
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        h.update(str(size).encode())
        h.update(f.read(mib))
        f.seek(max(size - mib, 0))
        h.update(f.read(mib))
    return h.hexdigest()[:12]
