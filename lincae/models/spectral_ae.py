"""The embedded demo-scale autoencoder: a deterministic MDCT-domain convolutional autoencoder.

Front end (the same for every model of this kind): MDCT (sine window, hop 256: critically sampled, 256 real
coefficients per frame), then the magnitude compression of the paper's models, 0.34·|c|^p with the sign kept; the
decoder's output is expanded by the exact inverse before the inverse MDCT. The exponent p starts at the paper's
0.65 and is trained with the rest. The compression makes the quiet treble count in every layer and in the loss; it
also makes the model non-linear in the audio (a latent scaled by a decodes to a^(1/p) times the audio): a model
trained to be linear has to learn that away, by its exponent or by its layers.

Encoder and decoder are each a linear map per frame (initialised from a PCA of compressed frames) plus a
convolutional residual branch (last layer initialised at zero), so training starts from the best linear code of
compressed frames at the latent rate and learns what it cannot do. The decoder's branch is scale-equivariant (no
normalisation, no biases, ReLU): silence decodes to silence, never to a steady pattern.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from lincae.models.base import weights_fingerprint


@dataclass(frozen=True)
class SpectralAEConfig:
    sample_rate: int = 44100
    hop: int = 256
    latent_channels: int = 64
    hidden: int = 128
    blocks: int = 2
    compress_gain: float = 0.34  # front end: compress_gain · |c|^power, sign kept
    compress_power: float = 0.65  # initial value of the trained exponent

    @property
    def compression(self) -> float:
        """Audio samples per latent value."""
        return self.hop / self.latent_channels


def compress(c: torch.Tensor, gain: float, power: float | torch.Tensor) -> torch.Tensor:
    """gain·sign(c)·|c|^power (the paper's magnitude compression, for real MDCT coefficients)."""
    return gain * c.sign() * c.abs().clamp_min(1e-12) ** power


def expand(y: torch.Tensor, gain: float, power: float | torch.Tensor) -> torch.Tensor:
    """The inverse of `compress`."""
    return y.sign() * (y.abs().clamp_min(1e-12) / gain) ** (1.0 / power)  # clamped: finite gradient in power at 0


class ChannelNorm(nn.Module):
    """Layer norm over channels at each frame: local in time, so a chunk decodes as it would in context."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ResBlock(nn.Module):
    """Residual block. Pre-norm (the encoder's, as in most modern audio autoencoders): the skip path carries the
    scale, the branch sees normalised features. Scale-equivariant (the decoder's): no normalisation, no biases,
    ReLU, so that the block maps a·h to a·block(h) for a > 0 and zero to zero; a decoder built from such blocks
    decodes silence to silence and scales as its front end's exponent says."""

    def __init__(self, channels: int, dilation: int, equivariant: bool) -> None:
        super().__init__()
        act = nn.ReLU if equivariant else nn.SiLU
        self.net = nn.Sequential(
            *([] if equivariant else [ChannelNorm(channels)]),
            act(),
            nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation, bias=not equivariant),
            act(),
            nn.Conv1d(channels, channels, 3, padding=1, bias=not equivariant),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class LinearPlusBranch(nn.Module):
    """Per-frame linear map plus a convolutional residual branch whose output layer starts at zero."""

    def __init__(self, inputs: int, outputs: int, config: SpectralAEConfig, equivariant: bool) -> None:
        super().__init__()
        self.linear = nn.Conv1d(inputs, outputs, 1, bias=False)
        out = nn.Conv1d(config.hidden, outputs, 3, padding=1, bias=not equivariant)
        nn.init.zeros_(out.weight)
        self.branch = nn.Sequential(
            nn.Conv1d(inputs, config.hidden, 3, padding=1, bias=not equivariant),
            *[ResBlock(config.hidden, 3**i, equivariant) for i in range(config.blocks)],
            nn.ReLU() if equivariant else nn.SiLU(),
            out,
        )
        if out.bias is not None:
            nn.init.zeros_(out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + self.branch(x)


def mdct_basis(hop: int) -> torch.Tensor:
    """Orthonormal sine-windowed MDCT kernels [hop, 1, 2·hop] (Princen–Bradley: perfect reconstruction)."""
    n = torch.arange(2 * hop, dtype=torch.float64)
    k = torch.arange(hop, dtype=torch.float64)[:, None]
    window = torch.sin(torch.pi * (n + 0.5) / (2 * hop))
    basis = window * torch.cos(torch.pi / hop * (n + 0.5 + hop / 2) * (k + 0.5)) * (2 / hop) ** 0.5
    return basis[:, None, :].float()


class SpectralAE(nn.Module):
    def __init__(self, config: SpectralAEConfig = SpectralAEConfig()) -> None:
        super().__init__()
        self.config = config
        self.encoder = LinearPlusBranch(config.hop, config.latent_channels, config, equivariant=False)
        self.decoder = LinearPlusBranch(config.latent_channels, config.hop, config, equivariant=True)
        self.compress_power = nn.Parameter(torch.tensor(config.compress_power))
        self.register_buffer("basis", mdct_basis(config.hop), persistent=False)

    @property
    def power(self) -> torch.Tensor:
        """The front end's exponent, kept in [0.2, 1]: 1 is no compression, below 0.2 the expansion overflows."""
        return self.compress_power.clamp(0.2, 1.0)

    def mdct(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T] → [B, hop, ceil(T / hop) + 1]: every sample lies in two frames, as aliasing cancellation needs."""
        hop = self.config.hop
        padded = nn.functional.pad(x[:, None], (hop, hop + (-x.shape[-1]) % hop))
        return nn.functional.conv1d(padded, self.basis, stride=hop)

    def imdct(self, coeffs: torch.Tensor, length: int) -> torch.Tensor:
        hop = self.config.hop
        return nn.functional.conv_transpose1d(coeffs, self.basis, stride=hop)[:, 0, hop: hop + length]

    def front_end(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T] audio → [B, hop, frames] compressed MDCT coefficients."""
        return compress(self.mdct(x), self.config.compress_gain, self.power)

    def back_end(self, y: torch.Tensor, length: int) -> torch.Tensor:
        """The inverse of `front_end`."""
        return self.imdct(expand(y, self.config.compress_gain, self.power), length)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T] → [B, latent_channels, ceil(T / hop) + 1]."""
        return self.encoder(self.front_end(x))

    def decode(self, z: torch.Tensor, length: int) -> torch.Tensor:
        """[B, latent_channels, L] → [B, length]."""
        return self.back_end(self.decoder(z), length)

    @torch.no_grad()
    def init_linear_from_pca(self, frames: torch.Tensor) -> None:
        """Set the linear paths to the projection onto the top principal directions (uncentred: no bias, so
        silence encodes to zero) of compressed frames `frames` [N, hop]."""
        second_moment = frames.double().T @ frames.double() / len(frames)
        _, vectors = torch.linalg.eigh(second_moment)  # ascending eigenvalues
        top = vectors[:, -self.config.latent_channels:].flip(1).float()  # [hop, latent]
        self.encoder.linear.weight.copy_(top.T[:, :, None])
        self.decoder.linear.weight.copy_(top[:, :, None])


ADAPTER_THREADS = 1  # what the adapter's encode and decode run on (docs/BENCHMARKS.md)


@contextmanager
def adapter_threads() -> Iterator[None]:
    """Torch's operations on `ADAPTER_THREADS` threads while inside (the count before is restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(ADAPTER_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class EmbeddedAutoencoder:
    """`Autoencoder` adapter around a trained `SpectralAE` checkpoint (deterministic: `seed` is ignored).

    It runs on one thread: its convolutions are small, so splitting them over cores gains little, and on cores
    that other work keeps busy (the server, a browser, another table) waiting for each other costs several times
    the computation itself (docs/BENCHMARKS.md)."""

    deterministic = True

    def __init__(self, name: str, model: SpectralAE, weights_hash: str, device: torch.device) -> None:
        self.name = name
        self.model = model.to(device).eval()
        self.sample_rate = model.config.sample_rate
        self.weights_hash = weights_hash
        self.device = device

    @torch.inference_mode()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        with adapter_threads():
            return self.model.encode(x.to(self.device, torch.float32))

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, length: int, seed: int | None = None) -> torch.Tensor:
        with adapter_threads():
            return self.model.decode(z.to(self.device, torch.float32), length)


def save_checkpoint(model: SpectralAE, path: Path, info: dict) -> None:
    """The shipped format: config, float32 weights and a free-form training record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().float().clone() for k, v in model.state_dict().items()}
    torch.save({"config": asdict(model.config), "state_dict": state, "info": info}, path)


def load_checkpoint(path: Path, device: torch.device | str | None = None) -> EmbeddedAutoencoder:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = SpectralAE(SpectralAEConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    return EmbeddedAutoencoder(Path(path).stem, model, weights_fingerprint(Path(path)), torch.device(device or "cpu"))


def read_info(path: Path) -> dict:
    """The training record stored with a checkpoint (data, steps, wall time, recipe)."""
    return torch.load(path, map_location="cpu", weights_only=True)["info"]
