"""Shared fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from offline import go_offline

# Test tensors are small: one thread is faster, and far faster on a busy machine (no OpenMP spin-waits).
torch.set_num_threads(1)


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No network, an empty Hugging Face cache, no token, no local weight folders. Returns the cache dir."""
    return go_offline(monkeypatch, tmp_path)


@pytest.fixture
def tiny_embedded_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline_hub: Path) -> list:
    """The real registry with one real, tiny `demo-lincae` checkpoint (random weights) and nothing else runnable."""
    from lincae import registry
    from lincae.models.spectral_ae import SpectralAE, SpectralAEConfig, save_checkpoint

    torch.manual_seed(0)
    save_checkpoint(SpectralAE(SpectralAEConfig(hidden=32, blocks=1)), tmp_path / "models" / "demo-lincae.pt",
                    {"note": "test"})
    monkeypatch.setattr(registry, "EMBEDDED_DIR", tmp_path / "models")
    models = registry.list_models()
    assert [m.name for m in models if m.available] == ["demo-lincae"]
    return models


OFFICIAL_FRONTEND = {"hop_size": 64, "n_fft_factor": 4, "alpha_rescale": 0.65, "beta_rescale": 0.34,
                     "sample_rate": 44100}
OFFICIAL_GENERATOR = {  # the official UNet, shrunk to ~50 k parameters
    "base_channels": 8, "layers_list": [1] * 5, "multipliers_list": [1] * 5, "attention_list": [0, 0, 0, 0, 1],
    "freq_downsample_list": [1, 0, 0, 0], "layers_list_encoder": [1] * 5, "attention_list_encoder": [0, 0, 0, 0, 1],
    "bottleneck_base_channels": 16, "num_bottleneck_layers": 1, "bottleneck_channels": 4, "hop": 64, "heads": 1,
    "cond_channels": 16, "data_channels": 2,
}


def write_tiny_official(root: Path, name: str, seed: int = 0) -> None:
    """A tiny random official checkpoint (`name`'s four files) under `root`, in the Hub layout."""
    import linear_cae
    import yaml

    from lincae.models import official

    folder = root / official.hub_folder(name)
    folder.mkdir(parents=True)
    torch.manual_seed(seed)
    module = linear_cae.Autoencoder(OFFICIAL_FRONTEND, OFFICIAL_GENERATOR, {}, name=name)
    with torch.no_grad():  # many layers start at zero; make every path carry signal
        for p in module.parameters():
            p.add_(0.05 * torch.randn_like(p))
    torch.save(module.state_dict(), folder / official.FILE_NAMES.checkpoint)
    kwargs = {"frontend": OFFICIAL_FRONTEND, "generator": OFFICIAL_GENERATOR, "diffusion": {"sigma_max": 80.0}}
    for part, values in kwargs.items():
        (folder / getattr(official.FILE_NAMES, part)).write_text(yaml.safe_dump(values))


@pytest.fixture(scope="module")
def official_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local mirror in the Hub layout (as `LINCAE_WEIGHTS_DIR` expects) holding a tiny random `lin-cae`."""
    root = tmp_path_factory.mktemp("mirror")
    write_tiny_official(root, "lin-cae")
    return root


@pytest.fixture
def official_reference(official_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    """The package's own `Autoencoder.from_pretrained("lin-cae")`, reading the mirror instead of the Hub."""
    import linear_cae
    import linear_cae.inference

    from lincae.models import official

    def from_mirror(repo_id: str, filename: str) -> str:
        assert repo_id == official.HUB_REPO
        return str(official_mirror / filename)

    monkeypatch.setattr(linear_cae.inference, "hf_hub_download", from_mirror)
    return linear_cae.Autoencoder.from_pretrained("lin-cae")


@pytest.fixture(scope="module")
def browser():
    """One headless Debian Chromium per test module."""
    from browser import chromium

    with chromium() as b:
        yield b
