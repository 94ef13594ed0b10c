import threading
import time

import numpy as np
import pytest

from engine_fakes import IdentityAE, NaNAE, NoisyAE
from lincae.data.track import Track
from lincae.engine import MODEL_ROWS, SIGNALS, Engine
from lincae.rows import ROWS, STEMS
from lincae.settings import Settings

SR = 44100


def make_track(seconds: float = 0.25, sr: int = SR, seed: int = 0) -> Track:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    freqs = {"vocals": 440.0, "drums": 97.0, "bass": 55.0, "other": 660.0}
    stems = {
        s: (0.2 * np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
        for s, f in freqs.items()
    }
    return Track(id=f"t{seed}", title="test", stems=stems, sample_rate=sr)


def make_engine(tmp_path, *models, **kw) -> Engine:
    by_name = {m.name: m for m in models}
    return Engine(device="cpu", cache_dir=tmp_path / "cache", loader=lambda name, device: by_name[name], **kw)


def test_table_has_every_model_row_and_is_exact_for_a_linear_model(tmp_path):
    track = make_track()
    table = make_engine(tmp_path, IdentityAE()).track_table(track, "identity")
    assert tuple(table) == MODEL_ROWS == tuple(r.id for r in ROWS if not r.reference)
    v = track.stems["vocals"]
    np.testing.assert_allclose(table["ae_mix"], track.mix, atol=1e-6)
    np.testing.assert_allclose(table["additivity"], track.mix, atol=1e-6)
    np.testing.assert_allclose(table["ae_vocals"], v, atol=1e-6)
    np.testing.assert_allclose(table["sep_vocals"], v, atol=1e-6)
    for a in (0.1, 0.5, 2.0):
        np.testing.assert_allclose(table[f"scale_{str(a).replace('.', '_')}"], a * v, atol=1e-6)
    assert all(x.dtype == np.float32 and x.shape == (track.num_samples,) for x in table.values())
    assert table.nonfinite == ()


def test_six_encodes_in_one_call_and_seven_decodes_in_one_call(tmp_path):
    model = IdentityAE()
    make_engine(tmp_path, model).track_table(make_track(), "identity")
    assert model.encode_batches == [len(SIGNALS)] == [6]
    assert model.decode_batches == [len(MODEL_ROWS)] == [7]


def test_a_warm_up_runs_the_model_once_each_way_and_caches_nothing(tmp_path):
    model = IdentityAE()
    engine = make_engine(tmp_path, model)
    engine.warm_up("identity")
    assert model.encode_batches == [1] and model.decode_batches == [1]
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    engine.track_table(make_track(), "identity")  # and the model is the one the engine then computes with
    assert model.encode_batches == [1, 6]


def test_batches_split_when_a_pass_would_hold_too_much_audio(tmp_path):
    model = NoisyAE()
    track = make_track(seconds=0.5)
    split = make_engine(tmp_path / "a", model, max_batch_seconds=1.0).track_table(track, "identity", seed=3)
    assert model.encode_batches == [2, 2, 2] and model.decode_batches == [2, 2, 2, 1]
    whole = make_engine(tmp_path / "b", NoisyAE(), max_batch_seconds=None).track_table(track, "identity", seed=3)
    for r in MODEL_ROWS:
        np.testing.assert_array_equal(split[r], whole[r])


def test_cpu_passes_stay_small_for_long_audio_and_gpu_passes_do_not(tmp_path):
    model = IdentityAE()
    track = make_track(seconds=5.0)
    make_engine(tmp_path, model).track_table(track, "identity")
    assert model.encode_batches == [2, 2, 2] and model.decode_batches == [1] * 7
    gpu = Engine(device="cuda", cache_dir=tmp_path / "gpu", loader=lambda name, device: model)
    assert gpu.batch_seconds["decode"] >= 35 and gpu.batch_seconds["encode"] >= 30  # 7 and 6 items of 5 s


def test_all_rows_share_one_seed_and_seeds_matter(tmp_path):
    track = make_track()
    engine = make_engine(tmp_path, NoisyAE())
    t0, t0_again, t1 = (engine.track_table(track, "identity", seed=s) for s in (0, 0, 1))
    noise = t0["ae_mix"] - track.mix
    np.testing.assert_allclose(t0["ae_vocals"] - track.stems["vocals"], noise, atol=1e-5)
    assert np.std(noise) > 0.05
    np.testing.assert_array_equal(t0["ae_mix"], t0_again["ae_mix"])
    assert not np.allclose(t0["ae_mix"], t1["ae_mix"])


def test_batched_row_equals_the_same_combination_decoded_alone(tmp_path):
    track = make_track()
    engine = make_engine(tmp_path, NoisyAE())
    alone = engine.decode_combination(track, "identity", {"mix": 1.0, "accomp": -1.0}, seed=7)  # before the table:
    table = engine.track_table(track, "identity", seed=7)  # a combination the cached table has comes from it
    np.testing.assert_allclose(alone, table["sep_vocals"], atol=1e-6)


def test_a_combination_that_is_a_table_row_comes_from_the_cached_table(tmp_path):
    track = make_track()
    model = NoisyAE(bias=0.05)  # Enc(silence) ≠ 0: origin correction changes a latent
    engine = make_engine(tmp_path, model)
    table = engine.track_table(track, "identity", seed=7)
    decodes = len(model.decode_batches)
    every_stem = engine.decode_combination(track, "identity", {s: 1.0 for s in STEMS}, seed=7)
    half_vocals = engine.decode_combination(track, "identity", {"vocals": 0.5, "drums": 0.0}, seed=7,
                                            origin_correction=True)  # origin correction adds 0.5·Enc(silence)
    assert len(model.decode_batches) == decodes + 1
    np.testing.assert_array_equal(every_stem, table["additivity"])
    assert not np.array_equal(half_vocals, table["scale_0_5"])
    engine.decode_combination(track, "identity", {"vocals": 0.5}, seed=8)  # another seed: another decode
    assert len(model.decode_batches) == decodes + 2


def test_cached_table_is_served_without_running_the_model(tmp_path):
    track = make_track()
    model = IdentityAE()
    engine = make_engine(tmp_path, model)
    first = engine.track_table(track, "identity", seed=0)
    second = engine.track_table(track, "identity", seed=0)
    assert len(model.encode_batches) == 1 and len(model.decode_batches) == 1
    for r in MODEL_ROWS:
        np.testing.assert_array_equal(first[r], second[r])
    with pytest.raises(ValueError):
        second["ae_mix"][0] = 1.0  # cached arrays are read-only


def test_disk_cache_survives_a_restart(tmp_path):
    track = make_track()
    first = make_engine(tmp_path, IdentityAE()).track_table(track, "identity", seed=5)
    fresh_model = IdentityAE()
    restarted = make_engine(tmp_path, fresh_model)
    second = restarted.track_table(track, "identity", seed=5)
    assert fresh_model.encode_batches == [] and fresh_model.decode_batches == []
    np.testing.assert_array_equal(first["sep_vocals"], second["sep_vocals"])


def test_cache_key_follows_weights_audio_and_seed(tmp_path):
    track = make_track()
    model = IdentityAE()
    engine = make_engine(tmp_path, model)
    engine.track_table(track, "identity", seed=0)
    engine.track_table(make_track(seed=1), "identity", seed=0)  # other audio
    engine.track_table(track, "identity", seed=1)  # other seed: decode only
    model.weights_hash = "identity-w2"
    engine.track_table(track, "identity", seed=0)  # other weights
    assert len(model.encode_batches) == 3 and len(model.decode_batches) == 4


def test_latents_are_reused_by_combinations(tmp_path):
    track = make_track()
    model = IdentityAE()
    engine = make_engine(tmp_path, model)
    z = engine.latents(track, "identity")
    assert set(z) == set(SIGNALS) and z["mix"].shape[0] == 1  # one chunk
    y = engine.decode_combination(track, "identity", {"drums": 1.0, "bass": 0.5, "other": 0.0}, seed=0)
    np.testing.assert_allclose(y, track.stems["drums"] + 0.5 * track.stems["bass"], atol=1e-6)
    assert model.encode_batches == [6] and model.decode_batches == [1]
    with pytest.raises(KeyError):
        engine.decode_combination(track, "identity", {"piano": 1.0})


def test_origin_correction_removes_the_encoder_offset(tmp_path):
    track = make_track()
    engine = make_engine(tmp_path, IdentityAE(bias=0.3))
    v = track.stems["vocals"]
    plain = engine.decode_combination(track, "identity", {"mix": 1.0, "accomp": -1.0})
    corrected = engine.decode_combination(track, "identity", {"mix": 1.0, "accomp": -1.0}, origin_correction=True)
    np.testing.assert_allclose(plain, v - 0.3, atol=1e-5)  # Σ coefficients = 0: the offset cancels out
    np.testing.assert_allclose(corrected, v, atol=1e-5)
    np.testing.assert_allclose(engine.silence_latent(track, "identity"), 0.3)


def test_other_sample_rates_are_resampled_both_ways(tmp_path):
    track = make_track(seconds=0.5)
    model = IdentityAE(name="sr16k", sample_rate=16000)
    table = make_engine(tmp_path, model).track_table(track, "sr16k")
    assert table["ae_vocals"].shape == (track.num_samples,)
    mid = slice(2000, -2000)  # 440 Hz survives a 16 kHz round trip; the white noise above 8 kHz does not
    clean = (0.2 * np.sin(2 * np.pi * 440.0 * np.arange(track.num_samples) / SR))[mid]
    assert np.max(np.abs(table["ae_vocals"][mid] - clean)) < 0.03


def test_long_audio_is_chunked_and_overlap_added(tmp_path):
    track = make_track(seconds=0.3)  # 13230 samples, model limit 4000 → 5 chunks
    model = IdentityAE(max_chunk_size=4000)
    engine = make_engine(tmp_path, model)
    table = engine.track_table(track, "identity")
    assert engine.latents(track, "identity")["mix"].shape[0] == 5
    assert model.encode_batches == [30] and model.decode_batches == [35]
    np.testing.assert_allclose(table["ae_mix"], track.mix, atol=1e-6)


def test_engine_chunk_limit_applies_to_models_without_one(tmp_path):
    track = make_track(seconds=0.3)
    engine = make_engine(tmp_path, NoisyAE(), max_chunk_seconds=0.1)
    assert engine.latents(track, "identity")["vocals"].shape[0] == 4


def test_nonfinite_outputs_become_zeros_and_are_flagged(tmp_path):
    track = make_track()
    loud = Track(id="loud", title="", stems={s: 4 * x for s, x in track.stems.items()})
    table = make_engine(tmp_path, NaNAE()).track_table(loud, "identity")
    assert "ae_mix" in table.nonfinite and "scale_0_1" not in table.nonfinite
    assert np.all(table["ae_mix"] == 0)
    assert np.all(np.isfinite(table["scale_2_0"]))


def test_outputs_are_not_clipped(tmp_path):
    table = make_engine(tmp_path, IdentityAE()).track_table(make_track(), "identity")
    peak_in = np.max(np.abs(make_track().stems["vocals"]))
    assert np.max(np.abs(table["scale_2_0"])) == pytest.approx(2 * peak_in, rel=1e-5)


def test_concurrent_requests_compute_once(tmp_path):
    class SlowAE(IdentityAE):
        def decode(self, z, length, seed=None):
            time.sleep(0.05)
            return super().decode(z, length, seed)

    model = SlowAE()
    loads = []
    engine = Engine(device="cpu", cache_dir=tmp_path, loader=lambda n, d: loads.append(n) or model)
    track = make_track()
    results, errors = [], []

    def worker():
        try:
            results.append(engine.track_table(track, "identity", seed=0))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 6
    assert loads == ["identity"]
    assert model.encode_batches == [6] and model.decode_batches == [7]


def test_model_batch_limit_is_lifted_so_one_engine_batch_is_one_pass(tmp_path):
    model = IdentityAE()
    model.max_batch_size = 1
    engine = make_engine(tmp_path, model)
    engine.model("identity")
    assert model.max_batch_size >= len(MODEL_ROWS)


def test_progress_is_reported(tmp_path):
    calls = []
    make_engine(tmp_path, IdentityAE()).track_table(
        make_track(), "identity", progress=lambda f, desc="": calls.append((f, desc))
    )
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0


def test_long_tables_report_each_pass(tmp_path):
    calls = []
    make_engine(tmp_path, IdentityAE()).track_table(
        make_track(seconds=5.0), "identity", progress=lambda f, desc="": calls.append((f, desc))
    )
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions)
    descs = [d for _, d in calls]
    assert [d for d in descs if "encoded" in d] == [f"identity: encoded {k}/6" for k in (2, 4, 6)]
    assert [d for d in descs if "decoded" in d] == [f"identity: decoded {k}/7" for k in range(1, 8)]


def test_stems_order_is_the_track_order():
    assert SIGNALS == ("mix", *STEMS, "accomp")


def test_audio_shorter_than_the_model_minimum_is_padded_and_trimmed_back(tmp_path):
    class NeedsLength(IdentityAE):
        min_length = 4096

        def encode(self, x):
            assert x.shape[-1] >= self.min_length
            return super().encode(x)

    track = make_track(seconds=0.05)  # 2205 samples
    table = make_engine(tmp_path, NeedsLength()).track_table(track, "identity")
    assert table["ae_mix"].shape == (2205,)
    np.testing.assert_allclose(table["ae_mix"], track.mix, atol=1e-6)


def test_out_of_memory_halves_the_batch(tmp_path):
    attempts = []

    class SmallMemory(IdentityAE):
        def decode(self, z, length, seed=None):
            attempts.append(z.shape[0])
            if z.shape[0] > 2:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return super().decode(z, length, seed)

    table = make_engine(tmp_path, SmallMemory()).track_table(make_track(), "identity")
    assert attempts == [7, 4, 2, 2, 2, 1]  # 7 fails, 4 fails, then passes of 2
    np.testing.assert_allclose(table["ae_mix"], make_track().mix, atol=1e-6)


def test_errors_other_than_memory_propagate(tmp_path):
    class Broken(IdentityAE):
        def decode(self, z, length, seed=None):
            raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        make_engine(tmp_path, Broken()).track_table(make_track(), "identity")


def test_settings_choose_the_decoder_mode_and_the_cache(tmp_path):
    plain = Engine.from_settings(Settings(cache_dir=tmp_path, device="cpu"))
    assert (plain.precision.name, plain.compile, plain.cache_dir) == ("fp32", False, tmp_path)
    assert plain.describe() == "CPU, encoders in fp32, decoders in fp32"
    chosen = Engine.from_settings(Settings(cache_dir=tmp_path, device="cpu", cpu_bf16=True, compile=True))
    assert (chosen.precision.name, chosen.compile) == ("bfloat16", True)
    assert chosen.describe() == "CPU, encoders in fp32, decoders in bfloat16, decoders compiled"


def test_without_a_cache_folder_results_stay_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = Engine(device="cpu", loader=lambda name, device: IdentityAE())
    engine.track_table(make_track(), "identity")
    assert engine.cache_dir is None and engine.cache.disk is None and len(engine.cache.memory) == 2
    assert list(tmp_path.iterdir()) == []


def test_models_that_can_speed_up_their_decoder_are_asked_to_once(tmp_path):
    calls = []

    class FastAE(IdentityAE):
        def speed_up_decoder(self, compile: bool = False) -> None:
            calls.append(compile)

    engine = make_engine(tmp_path, FastAE(name="fast"), compile=True)
    engine.track_table(make_track(), "fast")
    engine.track_table(make_track(seed=1), "fast")
    assert calls == [True]
