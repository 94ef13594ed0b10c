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
