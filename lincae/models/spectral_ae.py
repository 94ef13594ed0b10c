"""The embedded demo-scale autoencoder: a deterministic MDCT-domain convolutional autoencoder.

Encoder: MDCT (sine window, hop 256: critically sampled, 256 real coefficients per frame) → magnitude-compressed
coefficients → 1-D convolutions over frames → 16 latent channels per frame (256 samples → 16 values: 16×
compression). Decoder: 1-D convolutions → 256 MDCT coefficients in linear amplitude → inverse MDCT. Any set of
coefficients is a valid signal (time-domain aliasing cancels), so the decoder never fights phase consistency
between overlapping frames. Residual blocks are pre-norm (per-frame layer norm on the branch, scale kept on the
skip path), a standard design that is not linear by construction: linearity has to be learnt.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from lincae.models.base import weights_fingerprint


@dataclass(frozen=True)
class SpectralAEConfig:
    sample_rate: int = 44100
    hop: int = 256
    latent_channels: int = 16
    hidden: int = 256
    blocks: int = 3
    magnitude_power: float = 0.5  # encoder input only: sign(c)·|c|^p
    output_scale: float = 4.0  # MDCT coefficients of music reach ~10: let the last layer work near unit scale

    @property
    def compression(self) -> float:
        """Audio samples per latent value."""
        return self.hop / self.latent_channels


class ChannelNorm(nn.Module):
    """Layer norm over channels at each frame: local in time, so a chunk decodes as it would in context."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class ResBlock(nn.Module):
    """Pre-norm residual block, as in most modern audio autoencoders: the skip path carries the scale, the branch
    sees normalised features (which makes the block non-linear in scale unless training teaches otherwise)."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            ChannelNorm(channels),
            nn.SiLU(),
            nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.SiLU(),
            nn.Conv1d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def _trunk(config: SpectralAEConfig) -> list[nn.Module]:
    return [ResBlock(config.hidden, 3**i) for i in range(config.blocks)]


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
        bins2 = config.hop
        self.encoder = nn.Sequential(
            nn.Conv1d(bins2, config.hidden, 1),
            *_trunk(config),
            nn.SiLU(),
            nn.Conv1d(config.hidden, config.latent_channels, 3, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.Conv1d(config.latent_channels, config.hidden, 3, padding=1),
            *_trunk(config),
            nn.SiLU(),
            nn.Conv1d(config.hidden, bins2, 1),
        )
        self.register_buffer("basis", mdct_basis(config.hop), persistent=False)

    def mdct(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T] → [B, hop, ceil(T / hop) + 1]: every sample lies in two frames, as aliasing cancellation needs."""
        hop = self.config.hop
        padded = nn.functional.pad(x[:, None], (hop, hop + (-x.shape[-1]) % hop))
        return nn.functional.conv1d(padded, self.basis, stride=hop)

    def imdct(self, coeffs: torch.Tensor, length: int) -> torch.Tensor:
        hop = self.config.hop
        return nn.functional.conv_transpose1d(coeffs, self.basis, stride=hop)[:, 0, hop: hop + length]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T] → [B, latent_channels, ceil(T / hop) + 1]."""
        c = self.mdct(x)
        return self.encoder(c.sign() * c.abs().clamp_min(1e-8) ** self.config.magnitude_power)

    def decode(self, z: torch.Tensor, length: int) -> torch.Tensor:
        """[B, latent_channels, L] → [B, length]."""
        return self.imdct(self.decoder(z) * self.config.output_scale, length)


class EmbeddedAutoencoder:
    """`Autoencoder` adapter around a trained `SpectralAE` checkpoint (deterministic: `seed` is ignored)."""

    deterministic = True

    def __init__(self, name: str, model: SpectralAE, weights_hash: str, device: torch.device) -> None:
        self.name = name
        self.model = model.to(device).eval()
        self.sample_rate = model.config.sample_rate
        self.weights_hash = weights_hash
        self.device = device

    @torch.inference_mode()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode(x.to(self.device, torch.float32))

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, length: int, seed: int | None = None) -> torch.Tensor:
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
