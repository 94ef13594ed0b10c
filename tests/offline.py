"""A fresh machine for the tests: no network, nothing in the Hugging Face cache, no token, no local weights."""
from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import constants


def go_offline(mp: pytest.MonkeyPatch, tmp: Path) -> Path:
    """Make `mp` take this machine offline with an empty Hugging Face cache under `tmp`; returns that cache."""
    cache = tmp / "hf-cache"
    cache.mkdir(parents=True, exist_ok=True)
    mp.setattr(constants, "HF_HUB_CACHE", str(cache))
    mp.setattr(constants, "HF_TOKEN_PATH", str(tmp / "no-token"))
    mp.setenv("HF_HUB_OFFLINE", "1")
    for name in ("HF_TOKEN", "LINCAE_WEIGHTS_DIR", "LINCAE_SAO_VAE_DIR"):
        mp.delenv(name, raising=False)
    return cache
