"""The Stable Audio VAE adapter: mono through a stereo diffusers `AutoencoderOobleck`."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderOobleck

from lincae.registry import list_models, load_model
from lincae.models.oobleck import OobleckAutoencoder

LENGTH = 1001  # not a multiple of the hop (8): the adapter pads


@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random VAE in diffusers format (the real one has the same code, other sizes)."""
    folder = tmp_path_factory.mktemp("sao-vae")
    torch.manual_seed(0)
    AutoencoderOobleck(
        encoder_hidden_size=8, downsampling_ratios=[2, 4], channel_multiples=[1, 2], decoder_channels=4,
        decoder_input_channels=4, audio_channels=2,
    ).save_pretrained(folder)
    return folder


@pytest.fixture
def model(offline_hub: Path, vae_dir: Path, monkeypatch: pytest.MonkeyPatch) -> OobleckAutoencoder:
    monkeypatch.setenv("LINCAE_SAO_VAE_DIR", str(vae_dir))
    return load_model("stable-audio-vae", device="cpu")


@pytest.fixture
def audio() -> torch.Tensor:
    return 0.1 * torch.randn(2, LENGTH, generator=torch.Generator().manual_seed(1))


def test_registry_sees_the_local_folder(offline_hub: Path, vae_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = {i.name: i for i in list_models()}["stable-audio-vae"]
    assert not info.available
    assert info.reason == "weights not reachable offline (set LINCAE_SAO_VAE_DIR or connect to the Hub)"
    monkeypatch.setenv("LINCAE_SAO_VAE_DIR", str(vae_dir))
    info = {i.name: i for i in list_models()}["stable-audio-vae"]
    assert info.available and "LINCAE_SAO_VAE_DIR" in info.source
    assert (info.family, info.linear, info.sample_rate) == ("oobleck", False, 44100)


def test_shapes(model, audio) -> None:
    z = model.encode(audio)
    assert z.shape == (2, 4, -(-LENGTH // 8))
    assert model.decode(z, LENGTH).shape == (2, LENGTH)
    assert model.sample_rate == 44100 and model.name == "stable-audio-vae"


def test_deterministic(model, audio) -> None:
    z = model.encode(audio)
    assert torch.equal(model.encode(audio), z)
    assert torch.equal(model.decode(z, LENGTH, seed=1), model.decode(z, LENGTH, seed=2))


def test_matches_diffusers(model, vae_dir, audio) -> None:
    vae = AutoencoderOobleck.from_pretrained(vae_dir).eval()
    padded = torch.nn.functional.pad(audio, (0, 7))
    stereo = torch.stack([padded, padded], dim=1)
    with torch.no_grad():
        z = vae.encode(stereo).latent_dist.mean
        expected = vae.decode(z).sample.mean(dim=1)[:, :LENGTH]
    torch.testing.assert_close(model.encode(audio), z)
    torch.testing.assert_close(model.decode(z, LENGTH), expected)


def test_batch_items_are_independent(model, audio) -> None:
    z = model.encode(audio)
    torch.testing.assert_close(model.encode(audio[1:]), z[1:])
    torch.testing.assert_close(model.decode(z[1:], LENGTH), model.decode(z, LENGTH)[1:])


def test_weights_hash_is_the_weight_files(model, vae_dir) -> None:
    from lincae.registry import weights_fingerprint

    assert model.weights_hash == weights_fingerprint(vae_dir / "diffusion_pytorch_model.safetensors")
