import numpy as np

from engine_fakes import IdentityAE
from lincae.__main__ import main
from lincae.data.library import TrackInfo
from lincae.data.track import Track
from lincae.engine import MODEL_ROWS, Engine
from lincae.models.base import ModelInfo


def info(name: str, available: bool = True) -> ModelInfo:
    return ModelInfo(name=name, display_name=name, family="fake", source="test", sample_rate=44100,
                     embedded=True, linear=True, available=available, reason="" if available else "no weights")


def track(track_id: str) -> Track:
    rng = np.random.default_rng(int(track_id[1:]))
    return Track(id=track_id, title=track_id,
                 stems={s: 0.1 * rng.standard_normal(4410).astype(np.float32) for s in ("vocals", "drums", "bass", "other")})


def test_precompute_warms_every_track_for_every_available_model(tmp_path, monkeypatch, capsys):
    models = {"a": IdentityAE("a"), "b": IdentityAE("b")}
    monkeypatch.setattr("lincae.registry.list_models", lambda probe=False, settings=None: [info("a"), info("b"), info("c", False)])
    monkeypatch.setattr("lincae.registry.load_model", lambda name, device=None, settings=None, progress=None: models[name])
    monkeypatch.setattr("lincae.data.library.list_tracks", lambda: [TrackInfo("t1", "", "", ""), TrackInfo("t2", "", "", "")])
    monkeypatch.setattr("lincae.data.library.load_track", track)

    assert main(["precompute", "--cache-dir", str(tmp_path), "--device", "cpu"]) == 0
    assert all(len(m.decode_batches) == 2 for m in models.values())  # one table per track

    # a fresh engine on the same cache serves all four tables without running a model
    fresh = {"a": IdentityAE("a"), "b": IdentityAE("b")}
    engine = Engine(device="cpu", cache_dir=tmp_path, loader=lambda name, device: fresh[name])
    for name in fresh:
        for tid in ("t1", "t2"):
            table = engine.track_table(track(tid), name, seed=0)
            assert tuple(table) == MODEL_ROWS
    assert all(m.encode_batches == [] and m.decode_batches == [] for m in fresh.values())


def test_precompute_rejects_an_unknown_model(monkeypatch):
    monkeypatch.setattr("lincae.registry.list_models", lambda probe=False, settings=None: [info("a")])
    assert main(["precompute", "--models", "nope"]) == 2


def test_precompute_flags_reach_the_engine(tmp_path, monkeypatch):
    compiled = []

    class FastAE(IdentityAE):
        def speed_up_decoder(self, compile: bool = False) -> None:
            compiled.append(compile)

    monkeypatch.setattr("lincae.registry.list_models", lambda probe=False, settings=None: [info("a")])
    monkeypatch.setattr("lincae.registry.load_model", lambda name, device=None, settings=None, progress=None: FastAE("a"))
    monkeypatch.setattr("lincae.data.library.list_tracks", lambda: [TrackInfo("t1", "", "", "")])
    monkeypatch.setattr("lincae.data.library.load_track", track)
    assert main(["precompute", "--cache-dir", str(tmp_path), "--device", "cpu", "--cpu-bf16", "--compile"]) == 0
    assert compiled == [True]

    # the bf16 table is what an app started with --cpu-bf16 finds; an fp32 engine does not
    for bf16, cached in ((True, True), (False, False)):
        fresh = IdentityAE("a")
        Engine(device="cpu", cache_dir=tmp_path, cpu_bf16=bf16, loader=lambda n, d: fresh).track_table(track("t1"), "a")
        assert (fresh.decode_batches == []) == cached
