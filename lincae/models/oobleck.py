"""The Stable Audio Open 1.0 VAE through diffusers' `AutoencoderOobleck`.

It is a stereo model; lincae is mono: the input is duplicated to every channel and the output is the mean
of the channels. Encoding takes the posterior mean, so encode and decode are deterministic.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

HUB_REPO = "stabilityai/stable-audio-open-1.0"
SUBFOLDER = "vae"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "diffusion_pytorch_model.safetensors"


def build_module(folder: Path) -> torch.nn.Module:
    """The VAE from a diffusers-format folder (`config.json` + weights), on CPU, in eval mode."""
    from diffusers import AutoencoderOobleck

    return AutoencoderOobleck.from_pretrained(folder).eval()


class OobleckAutoencoder:
    """An `Autoencoder` around a diffusers `AutoencoderOobleck`."""

    deterministic = True  # the latent is the posterior mean; the decoder draws no noise

    def __init__(self, module: torch.nn.Module, weights_hash: str, name: str = "stable-audio-vae") -> None:
        self.module = module
        self.name = name
        self.sample_rate: int = module.config.sampling_rate
        self.weights_hash = weights_hash
        # Samples per latent frame; inputs are padded to a multiple so that decode covers them.
        self.hop_length: int = math.prod(module.config.downsampling_ratios)

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def to(self, device: torch.device | str) -> OobleckAutoencoder:
        self.module.to(device)
        return self

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2:
            raise ValueError(f"expected mono audio [B, T], got shape {tuple(x.shape)}")
        x = F.pad(x.to(self.device, torch.float32), (0, -x.shape[-1] % self.hop_length))
        channels = x[:, None].expand(-1, self.module.config.audio_channels, -1)
        with torch.inference_mode():
            return self.module.encode(channels).latent_dist.mean

    def decode(self, z: torch.Tensor, length: int, seed: int | None = None) -> torch.Tensor:
        """Deterministic: `seed` is accepted for the protocol and not used."""
        with torch.inference_mode():
            return self.module.decode(z.to(self.device, torch.float32)).sample.mean(dim=1)[:, :length]
