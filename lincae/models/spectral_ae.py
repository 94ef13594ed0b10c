"""The embedded demo-scale autoencoder: a deterministic STFT-domain convolutional autoencoder.

Encoder: complex STFT (n_fft 1024, hop 256) → magnitude-compressed real/imag channels → 1-D convolutions over
frames → 16 latent channels per frame (256 samples → 16 values: 16× compression). Decoder: 1-D convolutions →
complex STFT in linear amplitude → inverse STFT. The decoder has no normalisation layer, so the scale of a latent
reaches the output (a model cannot be homogeneous if its decoder throws the scale away).
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class SpectralAEConfig:
    sample_rate: int = 44100
    n_fft: int = 1024
    hop: int = 256
    latent_channels: int = 16
    hidden: int = 256
    blocks: int = 3
    magnitude_power: float = 0.5  # encoder input only: |X|^p with the phase kept

    @property
    def compression(self) -> float:
        """Audio samples per latent value."""
        return self.hop / self.latent_channels


class ResBlock(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.SiLU(),
            nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.SiLU(),
            nn.Conv1d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def _trunk(config: SpectralAEConfig) -> list[nn.Module]:
    return [ResBlock(config.hidden, 3**i) for i in range(config.blocks)]


class SpectralAE(nn.Module):
    def __init__(self, config: SpectralAEConfig = SpectralAEConfig()) -> None:
        super().__init__()
        self.config = config
        bins2 = 2 * (config.n_fft // 2 + 1)
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
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stft(x, self.config.n_fft, self.config.hop, window=self.window, return_complex=True)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T] → [B, latent_channels, T // hop + 1]."""
        spec = self.stft(x)
        mag = spec.abs()
        scale = (mag + 1e-7) ** (self.config.magnitude_power - 1)  # compress magnitude, keep phase
        spec = spec * scale
        return self.encoder(torch.cat([spec.real, spec.imag], dim=1))

    def decode(self, z: torch.Tensor, length: int) -> torch.Tensor:
        """[B, latent_channels, L] → [B, length]."""
        out = self.decoder(z)
        re, im = out.chunk(2, dim=1)
        return torch.istft(torch.complex(re, im), self.config.n_fft, self.config.hop, window=self.window,
                           length=length)


class EmbeddedAutoencoder:
    """`Autoencoder` adapter around a trained `SpectralAE` checkpoint (deterministic: `seed` is ignored)."""

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
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return EmbeddedAutoencoder(Path(path).stem, model, digest, torch.device(device or "cpu"))


def read_info(path: Path) -> dict:
    """The training record stored with a checkpoint (data, steps, wall time, recipe)."""
    return torch.load(path, map_location="cpu", weights_only=True)["info"]
