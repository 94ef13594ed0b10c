import numpy as np
import pytest
import torch

from lincae import ops


@pytest.fixture
def latents():
    rng = np.random.default_rng(0)
    return {k: rng.standard_normal((2, 3)).astype(np.float32) for k in ("mix", "vocals", "drums", "accomp")}


def test_combine_is_the_weighted_sum(latents):
    got = ops.combine({"mix": 1.0, "accomp": -1.0, "drums": 0.0}, latents)
    np.testing.assert_allclose(got, latents["mix"] - latents["accomp"], rtol=1e-6)
    got = ops.combine({"vocals": 2.0, "drums": 0.5}, latents)
    np.testing.assert_allclose(got, 2 * latents["vocals"] + 0.5 * latents["drums"], rtol=1e-6)


def test_origin_correction_adds_silence_times_one_minus_the_coefficient_sum(latents):
    silence = np.full((2, 3), 0.25, dtype=np.float32)
    got = ops.combine({"mix": 1.0, "accomp": -1.0}, latents, silence=silence)  # Σ = 0
    np.testing.assert_allclose(got, latents["mix"] - latents["accomp"] + silence, rtol=1e-6)
    got = ops.combine({"vocals": 0.5}, latents, silence=silence)  # Σ = 0.5
    np.testing.assert_allclose(got, 0.5 * latents["vocals"] + 0.5 * silence, rtol=1e-6)
    got = ops.combine({"vocals": 1.0}, latents, silence=silence)  # Σ = 1: no correction
    np.testing.assert_allclose(got, latents["vocals"], rtol=1e-6)


def test_all_zero_combination_is_zeros_or_the_origin(latents):
    np.testing.assert_array_equal(ops.combine({"mix": 0.0}, latents), np.zeros((2, 3)))
    silence = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(ops.combine({}, latents, silence=silence), silence)


def test_works_on_torch_tensors():
    z = {"a": torch.ones(2), "b": torch.full((2,), 3.0)}
    got = ops.combine({"a": 1.0, "b": -0.5}, z)
    assert isinstance(got, torch.Tensor)
    torch.testing.assert_close(got, torch.full((2,), -0.5))


def test_unknown_latent_raises(latents):
    with pytest.raises(KeyError):
        ops.combine({"piano": 1.0}, latents)
