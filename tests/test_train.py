"""The training recipe: latent replacement and gains for the linear model, mixit-style mixtures for the baseline."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lincae.models.spectral_ae import SpectralAE, SpectralAEConfig
from lincae.train.data import Batch, sample_batch
from lincae.train.losses import reconstruction_loss
from lincae.train.recipe import NONE, SUBTRACT, SUM, Plan, Recipe, draw_plan, prepare


class Identity(torch.nn.Module):
    """Encoder = identity, so the latents a recipe builds can be read directly."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, None, :] * 1.0


def _batch() -> Batch:
    x = np.array([[0.1, 0.2], [0.3, -0.1], [0.2, 0.2]], np.float32)
    comp = np.array([[0.05, 0.0], [0.1, 0.1], [0.0, -0.2]], np.float32)
    return Batch(x, comp)


def test_linear_recipe_replaces_latents_by_the_same_combination():
    plan = Plan(partner=np.array([SUM, 0, NONE]), weight=np.array([1.0, 0.7, 1.0]), gain=np.full(3, np.nan))
    z, target = prepare(Identity(), _batch(), Recipe(linear=True), plan)
    b = _batch()
    expected = np.stack([b.x[0] + b.complement[0], 0.7 * b.x[1] + 0.3 * b.x[0], b.x[2]])
    np.testing.assert_allclose(target.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(z[:, 0].numpy(), expected, rtol=1e-6)


def test_subtraction_decodes_the_song_mix_minus_the_rest_to_the_clip():
    class Square(Identity):
        def encode(self, x):
            return x[:, None, :] ** 2

    plan = Plan(partner=np.array([SUBTRACT, NONE, NONE]), weight=np.ones(3), gain=np.full(3, np.nan))
    z, target = prepare(Square(), _batch(), Recipe(linear=True), plan)
    b = _batch()
    np.testing.assert_allclose(target[0].numpy(), b.x[0], rtol=1e-6)
    expected_latent = (b.x[0] + b.complement[0]) ** 2 - b.complement[0] ** 2
    np.testing.assert_allclose(z[0, 0].numpy(), expected_latent, rtol=1e-5)


def test_gains_scale_latent_and_target_together_capped_at_full_scale():
    plan = Plan(partner=np.full(3, NONE), weight=np.ones(3), gain=np.array([0.0, 2.0, 100.0]))
    z, target = prepare(Identity(), _batch(), Recipe(linear=True), plan)
    b = _batch()
    np.testing.assert_allclose(target[0].numpy(), 0.0)
    np.testing.assert_allclose(target[1].numpy(), 2.0 * b.x[1], rtol=1e-6)
    assert target[2].abs().max().item() == pytest.approx(1.0)  # 100× would clip: capped at peak 1
    np.testing.assert_allclose(z[:, 0].numpy(), target.numpy(), rtol=1e-6)


def test_baseline_encodes_the_mixture_itself_and_never_scales():
    class Square(Identity):
        def encode(self, x):
            return x[:, None, :] ** 2  # nonlinear: a replaced latent would differ from Enc(mixture)

    plan = Plan(partner=np.array([SUM, 0, SUBTRACT]), weight=np.array([1.0, 0.7, 1.0]), gain=np.full(3, 2.0))
    z, target = prepare(Square(), _batch(), Recipe(linear=False), plan)
    np.testing.assert_allclose(z[:, 0].numpy(), target.numpy() ** 2, rtol=1e-6)
    b = _batch()
    np.testing.assert_allclose(target[2].numpy(), b.x[2])


def test_gain_annealing_holds_then_shrinks_to_one_at_explicit_steps():
    recipe = Recipe(linear=True, anneal_steps=(200, 900))
    assert recipe.gain_bounds(100) == (0.0, 3.0)
    lo, hi = recipe.gain_bounds(550)
    assert 0.0 < lo < 1.0 < hi < 3.0
    assert recipe.gain_bounds(950) == pytest.approx((1.0, 1.0))
    assert Recipe(linear=True).gain_bounds(950) == (0.0, 3.0)


def test_gain_schedule_does_not_depend_on_the_run_length():
    """A run resumed with a larger step budget draws the same gains at the same step."""
    recipe = Recipe(linear=True, anneal_steps=(2, 6))
    short = draw_plan(64, recipe, 4, np.random.default_rng(7))
    extended = draw_plan(64, recipe, 4, np.random.default_rng(7))
    np.testing.assert_array_equal(short.gain, extended.gain)
    import lincae.train.__main__ as train
    args = train.parse_args(["--name", "x", "--linear", "--anneal-steps", "2", "6", "--steps", "10"])
    assert train._recipe(args) == train._recipe(train.parse_args(
        ["--name", "x", "--linear", "--anneal-steps", "2", "6", "--steps", "99"]))


def test_plan_draws_match_the_recipe_probabilities():
    plan = draw_plan(4000, Recipe(linear=True), 0, np.random.default_rng(0))
    assert abs(np.mean(plan.partner != NONE) - 0.5) < 0.03
    assert abs(np.mean(plan.partner == SUBTRACT) - 0.5 * 0.6 * 0.5) < 0.03
    assert abs(np.mean(~np.isnan(plan.gain)) - 0.8) < 0.03
    assert np.all(plan.weight[plan.partner >= 0] >= 0.5)
    gains = plan.gain[~np.isnan(plan.gain)]
    assert np.all((gains == 0) | (gains >= 0.05)) and gains.max() <= 3.0


def test_batches_are_stem_subsets_whose_complement_completes_the_mix():
    rng = np.random.default_rng(1)
    pool = rng.standard_normal((3, 4, 5000)).astype(np.float32)
    batch = sample_batch(pool, 8, 1000, np.random.default_rng(2))
    again = sample_batch(pool, 8, 1000, np.random.default_rng(2))
    np.testing.assert_array_equal(batch.x, again.x)
    full_mixes = pool.sum(axis=1)
    for x, comp in zip(batch.x, batch.complement):
        total = x + comp
        # locate the window by its first sample, then compare the whole window
        song, start = np.argwhere(np.isclose(full_mixes[:, :4000], total[0], atol=1e-6))[0]
        np.testing.assert_allclose(total, full_mixes[song, start:start + 1000], atol=1e-5)
        assert np.abs(x).max() > 0


def test_loss_is_zero_for_a_perfect_reconstruction_and_finite_for_silence():
    target = torch.randn(2, 8192) * 0.1
    assert reconstruction_loss(target, target).item() == pytest.approx(0.0, abs=1e-6)
    silent = torch.zeros(2, 8192)
    assert math.isfinite(reconstruction_loss(target, silent).item())


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = SpectralAE(SpectralAEConfig(hidden=32, blocks=1))
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    x = torch.randn(2, 4096) * 0.1
    losses = []
    for _ in range(15):
        loss = reconstruction_loss(model.decode(model.encode(x), 4096), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_recordings_and_levels_enter_the_batch_with_their_complement():
    pool = np.zeros((1, 4, 5000), np.float32)
    recordings = [np.full(300, 0.5, np.float32), np.full(8000, 0.25, np.float32)]
    batch = sample_batch(pool, 16, 1000, np.random.default_rng(3), recordings, 1.0, (-20.0, -20.0))
    for x, comp in zip(batch.x, batch.complement):
        levels = {round(float(v), 4) for v in np.concatenate([x, comp]) if v}
        assert levels <= {0.05, 0.025}  # 0.5 and 0.25 at −20 dB
        assert np.count_nonzero(x) in (300, 1000) and np.count_nonzero(comp) in (300, 1000)


def test_reserved_recordings_are_left_out(tmp_path):
    import soundfile as sf
    from lincae.train.data import RESERVED_RECORDINGS, recording_pool
    for name in ("kept", RESERVED_RECORDINGS[0]):
        sf.write(tmp_path / f"{name}.flac", np.full(100, 0.1, np.float32), 44100)
    assert len(recording_pool(tmp_path)) == 1
    assert recording_pool(tmp_path / "absent") == []


def test_log_mel_term_counts_quiet_treble_that_energy_terms_ignore():
    t = torch.arange(8192) / 44100
    target = torch.sin(2 * torch.pi * 200 * t)[None] + 1e-3 * torch.sin(2 * torch.pi * 9000 * t)[None]
    no_treble = torch.sin(2 * torch.pi * 200 * t)[None]
    energy_only = reconstruction_loss(no_treble, target)
    assert energy_only < 0.01
    assert reconstruction_loss(no_treble, target, mel_weight=1.0) > 3 * energy_only


def test_band_term_counts_a_quiet_band_as_a_whole_band():
    from lincae.train.losses import BAND_FFT, _band_matrix, band_convergence
    t = torch.arange(22050) / 44100
    bass, treble = torch.sin(2 * torch.pi * 200 * t)[None], 1e-2 * torch.sin(2 * torch.pi * 6000 * t)[None]
    target = bass + treble
    assert band_convergence(target, target).item() == pytest.approx(0.0, abs=1e-5)
    # losing a partial 40 dB down costs most of its band's share of the mean (energy terms: 1 % of the error)
    assert band_convergence(bass, target).item() * len(_band_matrix(BAND_FFT, 44100)) > 0.5
    assert reconstruction_loss(bass, target, band_weight=1.0) > 2 * reconstruction_loss(bass, target)
    assert math.isfinite(band_convergence(target, torch.zeros_like(target)).item())


def test_training_runs_resumes_continues_from_a_shipped_checkpoint_and_refuses_another_recipe(tmp_path, monkeypatch):
    import lincae.train.__main__ as train
    from lincae.models.spectral_ae import read_info

    pool = np.random.default_rng(0).standard_normal((2, 4, 44100)).astype(np.float32) * 0.1
    monkeypatch.setattr(train, "song_pool", lambda *a, **k: pool)
    common = ["--batch", "2", "--clip-seconds", "0.2", "--runs", str(tmp_path), "--save-every", "1",
              "--recording-share", "0", "--anneal-steps", "1", "4"]
    shipped = tmp_path / "shipped.pt"
    train.main(["--name", "a", "--linear", "--steps", "2", "--export", str(shipped), *common])
    assert read_info(shipped)["steps"] == 2
    train.main(["--name", "a", "--linear", "--steps", "3", *common])  # resumes from runs/a/state.pt
    assert torch.load(tmp_path / "a" / "state.pt", weights_only=False)["step"] == 3
    tuned = tmp_path / "tuned.pt"
    train.main(["--name", "b", "--linear", "--steps", "3", "--init-from", str(shipped), "--exponent-lr-scale", "0",
                "--band-weight", "1", "--export", str(tuned), *common])
    assert torch.load(tmp_path / "b" / "state.pt", weights_only=False)["step"] == 3
    first, second = read_info(shipped), read_info(tuned)
    assert second["power"] == first["power"]  # a fixed exponent does not move
    assert second["earlier_stages"] == [{"steps": 2, "wall_seconds": first["wall_seconds"], "mel_weight": 0.5,
                                         "band_weight": 0.0, "exponent_lr_scale": 20.0, "power": first["power"]}]
    with pytest.raises(SystemExit, match="recipe"):
        train.main(["--name", "a", "--steps", "4", *common])  # the baseline recipe cannot continue a linear run
