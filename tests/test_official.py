"""The official adapter equals the `linear-cae` package on the same weight files."""
from __future__ import annotations

from pathlib import Path

import linear_cae
import linear_cae.inference
import pytest
import torch
import yaml

from lincae import list_models, load_model
from lincae.models import official
from lincae.registry import weights_fingerprint

FRONTEND = {"hop_size": 64, "n_fft_factor": 4, "alpha_rescale": 0.65, "beta_rescale": 0.34, "sample_rate": 44100}
GENERATOR = {  # the official UNet, shrunk to ~50 k parameters
    "base_channels": 8, "layers_list": [1] * 5, "multipliers_list": [1] * 5, "attention_list": [0, 0, 0, 0, 1],
    "freq_downsample_list": [1, 0, 0, 0], "layers_list_encoder": [1] * 5, "attention_list_encoder": [0, 0, 0, 0, 1],
    "bottleneck_base_channels": 16, "num_bottleneck_layers": 1, "bottleneck_channels": 4, "hop": 64, "heads": 1,
    "cond_channels": 16, "data_channels": 2,
}
LENGTH = 5000


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local mirror in the Hub layout holding a tiny random `lin-cae`."""
    root = tmp_path_factory.mktemp("mirror")
    folder = root / official.hub_folder("lin-cae")
    folder.mkdir()
    torch.manual_seed(0)
    module = linear_cae.Autoencoder(FRONTEND, GENERATOR, {}, name="lin-cae")
    with torch.no_grad():  # many layers start at zero; make every path carry signal
        for p in module.parameters():
            p.add_(0.05 * torch.randn_like(p))
    torch.save(module.state_dict(), folder / official.FILE_NAMES.checkpoint)
    for name, kwargs in (("frontend", FRONTEND), ("generator", GENERATOR), ("diffusion", {"sigma_max": 80.0})):
        (folder / getattr(official.FILE_NAMES, name)).write_text(yaml.safe_dump(kwargs))
    return root


@pytest.fixture
def model(offline_hub: Path, mirror: Path, monkeypatch: pytest.MonkeyPatch) -> official.OfficialAutoencoder:
    monkeypatch.setenv("LINCAE_WEIGHTS_DIR", str(mirror))
    return load_model("lin-cae", device="cpu")


@pytest.fixture
def reference(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    """The package's own `from_pretrained`, reading the mirror instead of the Hub."""

    def from_mirror(repo_id: str, filename: str) -> str:
        assert repo_id == official.HUB_REPO
        return str(mirror / filename)

    monkeypatch.setattr(linear_cae.inference, "hf_hub_download", from_mirror)
    return linear_cae.Autoencoder.from_pretrained("lin-cae")


@pytest.fixture
def audio() -> torch.Tensor:
    return 0.1 * torch.randn(3, LENGTH, generator=torch.Generator().manual_seed(1))


def test_hub_layout_is_the_packages() -> None:
    assert official.HUB_REPO == linear_cae.inference.HF_REPO
    assert official.HASHES == linear_cae.inference.id_to_hash


def test_list_models_sees_the_mirror(offline_hub: Path, mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINCAE_WEIGHTS_DIR", str(mirror))
    infos = {i.name: i for i in list_models()}
    assert infos["lin-cae"].available and "LINCAE_WEIGHTS_DIR" in infos["lin-cae"].source
    assert not infos["lin-cae-2"].available
    assert infos["lin-cae-2"].reason == "weights not reachable offline (set LINCAE_WEIGHTS_DIR or connect to the Hub)"


def test_hub_cache_is_used_offline(offline_hub: Path, mirror: Path) -> None:
    snapshot = offline_hub / "models--BernardoTorres--linear_consistency_autoencoders" / "snapshots" / "abc"
    snapshot.parent.mkdir(parents=True)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc")
    (snapshot / official.hub_folder("lin-cae")).mkdir(parents=True)
    for f in official.FILE_NAMES:
        (snapshot / official.hub_folder("lin-cae") / f).write_bytes((mirror / official.hub_folder("lin-cae") / f).read_bytes())
    info = {i.name: i for i in list_models()}["lin-cae"]
    assert info.available and info.source == "Hugging Face cache"
    assert load_model("lin-cae", "cpu").weights_hash == weights_fingerprint(
        mirror / official.hub_folder("lin-cae") / official.FILE_NAMES.checkpoint
    )


def test_encode_equals_the_package(model, reference, audio) -> None:
    with torch.inference_mode():
        expected = reference.encode(audio)
    z = model.encode(audio)
    assert z.shape == (3, 4, reference.get_latent_size(LENGTH))
    assert torch.equal(z, expected)


@pytest.mark.parametrize("chunk", [None, 2048])
def test_seeded_decode_equals_the_package(model, reference, audio, chunk) -> None:
    model.max_chunk_size = reference.max_chunk_size = chunk
    x = audio[:1]
    with torch.inference_mode():
        z_ref = reference.encode(x)
        torch.manual_seed(7)
        expected = reference.decode(z_ref, full_length=LENGTH)
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


def test_weights_hash_names_the_weights(model, mirror, tmp_path) -> None:
    checkpoint = mirror / official.hub_folder("lin-cae") / official.FILE_NAMES.checkpoint
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
