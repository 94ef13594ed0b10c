"""Shared fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from huggingface_hub import constants

# Test tensors are small: one thread is faster, and far faster on a busy machine (no OpenMP spin-waits).
torch.set_num_threads(1)


@pytest.fixture
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No network, an empty Hugging Face cache, no token, no local weight folders. Returns the cache dir."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("HF_TOKEN", "LINCAE_WEIGHTS_DIR", "LINCAE_SAO_VAE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return cache


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


@pytest.fixture(scope="module")
def browser():
    """One headless Debian Chromium per test module."""
    from browser import chromium

    with chromium() as b:
        yield b
