"""What every autoencoder in lincae looks like to the rest of the library."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch

from lincae import hub


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
    """A weight file's identity: the sha256 of its content (16 hex digits), the name the Hub gives an LFS file.
    In a Hugging Face cache the file is a link to a blob named by that hash, which is read instead of the file."""
    return hub.file_identity(Path(path))
