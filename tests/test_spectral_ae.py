"""The embedded autoencoder's front end, shapes, compression, PCA start, checkpoint round trip and adapter."""
from __future__ import annotations

import pytest
import torch

from lincae.models.base import Autoencoder, weights_fingerprint
from lincae.models.spectral_ae import (SpectralAE, SpectralAEConfig, compress, expand, load_checkpoint, read_info,
                                       save_checkpoint)

SMALL = SpectralAEConfig(hidden=32, blocks=1)


def test_latent_shape_and_compression():
    model = SpectralAE(SMALL)
    x = torch.randn(2, 44100)
    z = model.encode(x)
    assert z.shape == (2, 64, -(-44100 // 256) + 1)  # ceil(T / hop) frames plus one edge frame
    assert model.config.compression == 4  # 256 samples per frame → 64 latent values (plus one edge frame)
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


def test_compression_is_the_papers_power_law_with_sign_kept_and_expand_inverts_it():
    c = torch.tensor([-8.0, -0.01, 0.0, 0.5, 3.0])
    y = compress(c, 0.34, 0.65)
    torch.testing.assert_close(y, torch.tensor([-0.34 * 8**0.65, -0.34 * 0.01**0.65, 0.0, 0.34 * 0.5**0.65,
                                                0.34 * 3**0.65]))
    torch.testing.assert_close(expand(y, 0.34, 0.65), c)


def test_front_end_and_back_end_invert_each_other():
    model = SpectralAE(SMALL)
    x = torch.randn(2, 5000) * 0.3
    torch.testing.assert_close(model.back_end(model.front_end(x), 5000), x, atol=1e-5, rtol=1e-4)


def _trained_looking(model: SpectralAE) -> SpectralAE:
    """Random non-zero weights everywhere, as after training (the branches' last layers start at zero)."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 0:
                p.normal_(0, 0.05)
    return model


def test_decoder_scales_as_its_front_end_says_and_decodes_silence_to_silence():
    """The decoder's network is scale-equivariant, so Dec(a·z) = a^(1/p)·Dec(z) whatever its weights: linearity
    in the audio has to be learnt through the exponent p (0.65 at the start)."""
    model = _trained_looking(SpectralAE(SMALL))
    z = model.encode(torch.randn(1, 8192) * 0.1)
    with torch.no_grad():
        half, full = model.decode(0.5 * z, 8192), model.decode(z, 8192)
        torch.testing.assert_close(half, 0.5 ** (1 / model.power.item()) * full, atol=1e-6, rtol=1e-4)
        model.compress_power.fill_(1.0)
        torch.testing.assert_close(model.decode(0.5 * z, 8192), 0.5 * model.decode(z, 8192), atol=1e-6, rtol=1e-4)
        assert model.decode(torch.zeros_like(z), 8192).abs().max() == 0
    assert SpectralAE(SMALL).power.item() == pytest.approx(0.65)


def test_pca_start_reconstructs_signals_in_the_span_of_its_components():
    """With as many latent channels as MDCT bins, the PCA-initialised linear paths are an orthogonal basis: the
    untrained model reconstructs anything; with fewer, it keeps what the fitted frames hold."""
    full = SpectralAE(SpectralAEConfig(hidden=32, blocks=1, latent_channels=256))
    x = torch.randn(1, 8192) * 0.2
    full.init_linear_from_pca(full.front_end(x)[0].T)
    with torch.no_grad():
        torch.testing.assert_close(full.decode(full.encode(x), 8192), x, atol=1e-4, rtol=1e-3)
    few = SpectralAE(SpectralAEConfig(hidden=32, blocks=1, latent_channels=8))
    t = torch.arange(8192) / 44100
    tone = (0.5 * torch.sin(2 * torch.pi * 440 * t))[None]
    few.init_linear_from_pca(few.front_end(tone)[0].T)
    with torch.no_grad():
        out = few.decode(few.encode(tone), 8192)
    assert (out - tone).norm() / tone.norm() < 1e-3
