"""The official adapter equals the `linear-cae` package on the same weight files."""
from __future__ import annotations

from pathlib import Path

import linear_cae
import linear_cae.inference
import pytest
import torch

from lincae.registry import list_models, load_model
from lincae.models import official
from lincae.registry import weights_fingerprint

LENGTH = 5000


@pytest.fixture
def model(offline_hub: Path, official_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> official.OfficialAutoencoder:
    monkeypatch.setenv("LINCAE_WEIGHTS_DIR", str(official_mirror))
    return load_model("lin-cae", device="cpu")


@pytest.fixture
def audio() -> torch.Tensor:
    return 0.1 * torch.randn(3, LENGTH, generator=torch.Generator().manual_seed(1))


def test_hub_layout_is_the_packages() -> None:
    assert official.HUB_REPO == linear_cae.inference.HF_REPO
    assert official.HASHES == linear_cae.inference.id_to_hash


def test_list_models_sees_the_mirror(offline_hub: Path, official_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINCAE_WEIGHTS_DIR", str(official_mirror))
    infos = {i.name: i for i in list_models()}
    assert infos["lin-cae"].available and "LINCAE_WEIGHTS_DIR" in infos["lin-cae"].source
    assert not infos["lin-cae-2"].available
    assert infos["lin-cae-2"].reason == "weights not reachable offline (set LINCAE_WEIGHTS_DIR or connect to the Hub)"


def test_hub_cache_is_used_offline(offline_hub: Path, official_mirror: Path) -> None:
    snapshot = offline_hub / "models--BernardoTorres--linear_consistency_autoencoders" / "snapshots" / "abc"
    snapshot.parent.mkdir(parents=True)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc")
    (snapshot / official.hub_folder("lin-cae")).mkdir(parents=True)
    for f in official.FILE_NAMES:
        (snapshot / official.hub_folder("lin-cae") / f).write_bytes((official_mirror / official.hub_folder("lin-cae") / f).read_bytes())
    info = {i.name: i for i in list_models()}["lin-cae"]
    assert info.available and info.source == "Hugging Face cache"
    assert load_model("lin-cae", "cpu").weights_hash == weights_fingerprint(
        official_mirror / official.hub_folder("lin-cae") / official.FILE_NAMES.checkpoint
    )


def test_encode_equals_the_package(model, official_reference, audio) -> None:
    with torch.inference_mode():
        expected = official_reference.encode(audio)
    z = model.encode(audio)
    assert z.shape == (3, 4, official_reference.get_latent_size(LENGTH))
    assert torch.equal(z, expected)


@pytest.mark.parametrize("chunk", [None, 2048])
def test_seeded_decode_equals_the_package(model, official_reference, audio, chunk) -> None:
    model.max_chunk_size = official_reference.max_chunk_size = chunk
    x = audio[:1]
    with torch.inference_mode():
        z_ref = official_reference.encode(x)
        torch.manual_seed(7)
        expected = official_reference.decode(z_ref, full_length=LENGTH)
    z = model.encode(x)
    assert z.ndim == (3 if chunk is None else 4)
    assert torch.equal(model.decode(z, LENGTH, seed=7), expected)


def test_batched_decode_shares_the_noise(model, audio) -> None:
    z = model.encode(audio)
    rng = torch.get_rng_state()
    batch = model.decode(z, LENGTH, seed=3)
    assert torch.equal(torch.get_rng_state(), rng)  # a seeded decode leaves the global generator alone
    assert batch.shape == (3, LENGTH)
    for i in range(3):
        torch.testing.assert_close(batch[i : i + 1], model.decode(z[i : i + 1], LENGTH, seed=3))
    assert not torch.allclose(model.decode(z[:1], LENGTH, seed=4), batch[:1])


def test_max_batch_size_does_not_change_results(model, audio) -> None:
    z = model.encode(audio)
    whole = model.decode(z, LENGTH, seed=5)
    model.max_batch_size = 2
    torch.testing.assert_close(model.decode(z, LENGTH, seed=5), whole, rtol=0, atol=1e-6)


def test_weights_hash_names_the_weights(model, official_mirror, tmp_path) -> None:
    checkpoint = official_mirror / official.hub_folder("lin-cae") / official.FILE_NAMES.checkpoint
    copy = tmp_path / "copy.pth"
    copy.write_bytes(checkpoint.read_bytes())
    assert model.weights_hash == weights_fingerprint(checkpoint) == weights_fingerprint(copy)
    data = checkpoint.read_bytes()
    copy.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert weights_fingerprint(copy) != model.weights_hash


def test_rejects_what_the_package_cannot_encode(model) -> None:
    with pytest.raises(ValueError, match="shorter"):
        model.encode(torch.zeros(1, model.min_length - 1))
    with pytest.raises(ValueError, match="mono"):
        model.encode(torch.zeros(1, 2, LENGTH))
