"""Small fake autoencoders with known behaviour, for the engine's tests."""
from __future__ import annotations

import torch

HOP = 4


def _frames(x: torch.Tensor) -> torch.Tensor:
    """[B, T] → [B, HOP, ceil(T / HOP)]: an invertible linear map."""
    pad = (-x.shape[-1]) % HOP
    x = torch.nn.functional.pad(x, (0, pad))
    return x.reshape(x.shape[0], -1, HOP).transpose(1, 2)


def _unframes(z: torch.Tensor, length: int) -> torch.Tensor:
    return z.transpose(1, 2).reshape(z.shape[0], -1)[:, :length]


class IdentityAE:
    """Exactly linear: Dec(Enc(x)) = x. Counts its calls and the batch sizes it saw."""

    deterministic = True

    def __init__(self, name: str = "identity", sample_rate: int = 44100, bias: float = 0.0,
                 max_chunk_size: int | None = None) -> None:
        self.name = name
        self.sample_rate = sample_rate
        self.weights_hash = f"{name}-w1"
        self.bias = bias  # Enc(silence) = bias: an encoder whose origin is not zero
        if max_chunk_size is not None:
            self.max_chunk_size = max_chunk_size
        self.encode_batches: list[int] = []
        self.decode_batches: list[int] = []

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        self.encode_batches.append(x.shape[0])
        return _frames(x) + self.bias

    def decode(self, z: torch.Tensor, length: int, seed: int | None = None) -> torch.Tensor:
        self.decode_batches.append(z.shape[0])
        return _unframes(z - self.bias, length)


class NoisyAE(IdentityAE):
    """Stochastic decoder: adds noise drawn from `seed`, the same for every item of a batch."""

    deterministic = False

    def decode(self, z: torch.Tensor, length: int, seed: int | None = None) -> torch.Tensor:
        clean = super().decode(z, length, seed)
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        noise = torch.randn((1, length), generator=g)
        return clean + 0.1 * noise


class NaNAE(IdentityAE):
    """Decodes anything louder than 1.5 (peak) to NaN."""

    def decode(self, z: torch.Tensor, length: int, seed: int | None = None) -> torch.Tensor:
        y = super().decode(z, length, seed)
        loud = y.abs().amax(dim=-1, keepdim=True) > 1.5
        return torch.where(loud, torch.full_like(y, float("nan")), y)
