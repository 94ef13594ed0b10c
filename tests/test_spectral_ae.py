"""The embedded autoencoder's shapes, compression, checkpoint round trip and adapter contract."""
from __future__ import annotations

import torch

from lincae.models.base import Autoencoder, weights_fingerprint
from lincae.models.spectral_ae import SpectralAE, SpectralAEConfig, load_checkpoint, read_info, save_checkpoint

SMALL = SpectralAEConfig(hidden=32, blocks=1)


def test_latent_shape_and_compression():
    model = SpectralAE(SMALL)
    x = torch.randn(2, 44100)
    z = model.encode(x)
    assert z.shape == (2, 16, -(-44100 // 256) + 1)  # ceil(T / hop) frames plus one edge frame
    assert model.config.compression == 16  # 256 samples per frame → 16 latent values (plus one edge frame)
    assert model.decode(z, 44100).shape == (2, 44100)


def test_decoder_keeps_latent_scale():
    """No normalisation at the decoder input: a scaled latent must not decode to the same audio."""
    model = SpectralAE(SMALL)
    z = model.encode(torch.randn(1, 8192))
    assert not torch.allclose(model.decode(z, 8192), model.decode(0.1 * z, 8192), atol=1e-4)


def test_checkpoint_round_trip_and_adapter(tmp_path):
    model = SpectralAE(SMALL)
    path = tmp_path / "tiny.pt"
    save_checkpoint(model, path, {"steps": 3})
    ae = load_checkpoint(path)
    assert isinstance(ae, Autoencoder)
    assert ae.name == "tiny" and ae.sample_rate == 44100 and ae.weights_hash == weights_fingerprint(path)
    assert read_info(path) == {"steps": 3}
    x = torch.randn(1, 10000)
    with torch.no_grad():
        expected = model.decode(model.encode(x), 10000)
    out = ae.decode(ae.encode(x), 10000, seed=5)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(ae.decode(ae.encode(x), 10000, seed=6), out)  # deterministic: the seed is unused
