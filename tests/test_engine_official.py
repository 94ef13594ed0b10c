"""The engine over the official architecture (a tiny random `lin-cae`): its tables are the package's loop's."""
from __future__ import annotations

from pathlib import Path

import shutil
import sysconfig

import numpy as np
import pytest
import torch

from lincae import metrics
from lincae.data.track import Track
from lincae.engine import MODEL_ROWS, ROW_COEFFICIENTS, SIGNALS, Engine
from lincae.rows import STEMS

SEED = 3


@pytest.fixture
def track() -> Track:
    rng = np.random.default_rng(0)
    stems = {s: (0.1 * rng.standard_normal(11025)).astype(np.float32) for s in STEMS}
    return Track(id="noise", title="noise", stems=stems, sample_rate=44100)


@pytest.fixture
def engine_factory(offline_hub: Path, official_mirror: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("LINCAE_WEIGHTS_DIR", str(official_mirror))
    return lambda **kw: Engine(device="cpu", cache_dir=tmp_path / f"cache-{len(kw)}-{sorted(kw)}", **kw)


def package_loop(reference: torch.nn.Module, track: Track) -> dict[str, np.ndarray]:
    """The official demo's way: one encode per signal, one `torch.manual_seed`-ed decode per row (chunked by
    the package when the reference has a `max_chunk_size`)."""
    audio = {"mix": track.mix, **track.stems, "accomp": track.accomp}
    with torch.inference_mode():
        z = {s: reference.encode(torch.from_numpy(audio[s])[None]) for s in SIGNALS}
        rows = {}
        for row in MODEL_ROWS:
            torch.manual_seed(SEED)
            latent = sum(c * z[s] for s, c in ROW_COEFFICIENTS[row].items())
            rows[row] = reference.decode(latent, full_length=track.num_samples)[0].numpy()
    return rows


def test_table_is_the_package_loop(engine_factory, official_reference, track) -> None:
    expected = package_loop(official_reference, track)
    table = engine_factory().track_table(track, "lin-cae", seed=SEED)
    for row in MODEL_ROWS:
        assert metrics.snr(expected[row], table[row]) > 80, row  # channels-last decoder: rounding only


def test_long_inputs_are_chunked_as_the_package_chunks_them(engine_factory, official_reference, track) -> None:
    """Past the engine's chunk limit every chunk gets its own noise, as in the package's chunked decode."""
    chunk_seconds = 0.1  # 4410 samples: the 11025-sample track is 3 overlapping chunks
    official_reference.max_chunk_size = int(chunk_seconds * 44100)
    expected = package_loop(official_reference, track)
    engine = engine_factory(max_chunk_seconds=chunk_seconds)
    table = engine.track_table(track, "lin-cae", seed=SEED)
    assert engine.latents(track, "lin-cae")["mix"].shape[:2] == (1, 3)  # [engine items, the model's chunks]
    for row in MODEL_ROWS:
        assert table[row].shape == (track.num_samples,)
        assert metrics.snr(expected[row], table[row]) > 80, row


def test_decode_returns_the_length_asked_for(engine_factory) -> None:
    model = engine_factory().model("lin-cae")
    for length, chunk in [(5000, None), (5003, None), (9001, 4410), (4411, 4410)]:
        model.max_chunk_size = chunk
        z = model.encode(torch.zeros(1, length))
        assert model.decode(z, length, seed=0).shape == (1, length)
        assert model.decode(z, length + 700, seed=0).shape == (1, length + 700)


def test_bf16_decodes_from_fp32_latents(engine_factory, track) -> None:
    fp32, bf16 = engine_factory(), engine_factory(cpu_bf16=True)
    z32, z16 = fp32.latents(track, "lin-cae"), bf16.latents(track, "lin-cae")
    assert all(np.array_equal(z32[s], z16[s]) for s in SIGNALS)
    t32, t16 = fp32.track_table(track, "lin-cae", seed=SEED), bf16.track_table(track, "lin-cae", seed=SEED)
    snrs = [metrics.snr(t32[r], t16[r]) for r in MODEL_ROWS]
    assert 15 < min(snrs) and max(snrs) < 80  # close to fp32, and really computed in bf16


def _compiler_missing() -> str:
    """Why TorchInductor cannot build C++ here, or "" when it can (a C++ compiler and Python's headers)."""
    if not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        return "no C++ compiler (TorchInductor compiles the decoder to C++; apt install g++)"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        return "no Python headers (TorchInductor needs Python.h; apt install python3-dev)"
    return ""


@pytest.mark.skipif(bool(_compiler_missing()), reason=_compiler_missing() or "compiler present")
def test_compiled_decoder_computes_the_same_table(engine_factory, track) -> None:
    eager = engine_factory().track_table(track, "lin-cae", seed=SEED)
    compiled_engine = engine_factory(compile=True)
    compiled = compiled_engine.track_table(track, "lin-cae", seed=SEED)
    assert compiled_engine.model("lin-cae").decoder_compiled
    for row in MODEL_ROWS:
        assert metrics.snr(eager[row], compiled[row]) > 80, row


def test_the_page_table_gets_the_official_column(engine_factory, track, tmp_path) -> None:
    """With a local weight mirror the real registry lists `lin-cae` as playable and the page's table fills its
    column with the engine's audio."""
    import json
    from urllib.parse import unquote

    import soundfile as sf

    from lincae.registry import list_models
    from ui.tables import TableBuilder

    engine = engine_factory()
    models = list_models()
    assert {m.name: m.available for m in models}["lin-cae"]
    builder = TableBuilder(engine, models, {track.id: track}.__getitem__, cells_dir=tmp_path / "cells", seed=SEED)
    value = json.loads(list(builder.updates(track.id))[-1].value)
    expected = engine.track_table(track, "lin-cae", seed=SEED)
    for row in MODEL_ROWS:
        cell = value["cells"][row]["lin-cae"]
        audio, _ = sf.read(unquote(cell["url"].removeprefix("gradio_api/file=")), dtype="float32")
        assert metrics.snr(expected[row], audio * cell["gain"]) > 40, row  # 16-bit files


def test_a_decoder_that_cannot_be_compiled_decodes_without_it(engine_factory, track, monkeypatch) -> None:
    from torch._dynamo.exc import TorchDynamoException

    def no_compiler(fn, **kwargs):
        def fails(*args, **kw):
            raise TorchDynamoException("no C++ compiler")
        return fails

    eager = engine_factory().track_table(track, "lin-cae", seed=SEED)
    monkeypatch.setattr(torch, "compile", no_compiler)
    engine = engine_factory(compile=True)
    assert engine.model("lin-cae").decoder_compiled  # until a decode tries
    table = engine.track_table(track, "lin-cae", seed=SEED)
    assert not engine.model("lin-cae").decoder_compiled
    for row in MODEL_ROWS:
        np.testing.assert_array_equal(eager[row], table[row])


def test_a_cached_table_is_served_without_loading_the_model(engine_factory, track, monkeypatch, tmp_path) -> None:
    """The cache key names the weights by their file, so a table computed once is found by a fresh engine (a
    restart) even when the model cannot be loaded now."""
    from lincae.models import official

    computed = Engine(device="cpu", cache_dir=tmp_path / "shared").track_table(track, "lin-cae", seed=SEED)

    def cannot_load(*args, **kwargs):
        raise RuntimeError("the model was loaded")

    monkeypatch.setattr(official, "build_module", cannot_load)
    restarted = Engine(device="cpu", cache_dir=tmp_path / "shared")
    served = restarted.track_table(track, "lin-cae", seed=SEED)
    for row in MODEL_ROWS:
        np.testing.assert_array_equal(served[row], computed[row])
    with pytest.raises(RuntimeError, match="the model was loaded"):  # an uncached table does need the model
        restarted.track_table(track, "lin-cae", seed=SEED + 1)
