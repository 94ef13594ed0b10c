"""The official columns through the real download path: `huggingface_hub` against a Hub stand-in on 127.0.0.1
serving tiny checkpoints in the official layout, the real registry, engine and page table builder."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import constants

from conftest import write_tiny_official
from hub_standin import HubStandIn
from lincae import hub
from lincae.data.track import Track
from lincae.engine import MODEL_ROWS, Engine
from lincae.models import official, oobleck
from lincae.registry import list_models, model_info
from lincae.rows import STEMS
from ui.tables import TableBuilder

OFFICIAL = ("lin-cae", "lin-cae-2", "m2l")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def standin(offline_hub: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """The stand-in serving a tiny checkpoint for each official model (different weights for each); the Stable
    Audio repository gated; `huggingface_hub` pointed at it as `HF_ENDPOINT` points it (an empty cache, a token
    set)."""
    root = tmp_path_factory.mktemp("hub")
    for seed, name in enumerate(OFFICIAL):
        write_tiny_official(root, name, seed)
    files = {(official.HUB_REPO, f"{official.hub_folder(m)}/{f}"): (root / official.hub_folder(m) / f).read_bytes()
             for m in OFFICIAL for f in official.FILE_NAMES}
    with HubStandIn(files, gated=(oobleck.HUB_REPO,)) as server:
        monkeypatch.delenv("HF_HUB_OFFLINE")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "ENDPOINT", server.url)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setenv("HF_TOKEN", "hf_standin")
        monkeypatch.setattr(hub, "RETRY", hub.Retry(attempts=2, first_wait_s=0.0))
        monkeypatch.setattr("huggingface_hub.utils._http.time.sleep", lambda seconds: None)  # its back-off, at once
        yield server


@pytest.fixture
def track() -> Track:
    rng = np.random.default_rng(0)
    return Track(id="noise", title="noise",
                 stems={s: (0.1 * rng.standard_normal(8192)).astype(np.float32) for s in STEMS})


def page_table(engine: Engine, track: Track, tmp_path: Path, progress=None) -> dict:
    builder = TableBuilder(engine, list_models(probe=True), {track.id: track}.__getitem__,
                           cells_dir=tmp_path / "cells", refresh=model_info)
    return json.loads(list(builder.updates(track.id, progress=progress))[-1].value)


def playable(value: dict) -> set[str]:
    return {m for m in OFFICIAL if all(m in value["cells"][row] for row in MODEL_ROWS)}


def test_fresh_cache_downloads_plays_survives_a_503_and_then_the_hub_going_away(standin, track, tmp_path) -> None:
    checkpoint = f"{official.hub_folder('lin-cae')}/{official.FILE_NAMES.checkpoint}"
    standin.failures[checkpoint] = 1
    lines: list[str] = []
    first = page_table(Engine(device="cpu", cache_dir=tmp_path / "one"), track, tmp_path,
                       progress=lambda fraction, desc=None: lines.append(desc or ""))
    assert playable(first) == set(OFFICIAL)
    sao = next(m for m in first["models"] if m["name"] == "stable-audio-vae")
    assert not sao["available"] and "401" in sao["reason"] and "gated repo" in sao["reason"]
    assert any(status == 503 for _, path, status in standin.requests if path.endswith(checkpoint))
    downloads = [line for line in lines if line.startswith("downloading lin-cae ")]
    assert any(line.endswith(" MB (autoencoder_inference_model_last.pth)") for line in downloads), downloads

    standin.stop()  # the Hub is gone: a restart (a fresh engine, nothing computed) plays from the local cache
    again = page_table(Engine(device="cpu", cache_dir=tmp_path / "two"), track, tmp_path)
    assert playable(again) == set(OFFICIAL)
    assert model_info("lin-cae").source == "Hugging Face cache"


def test_a_hub_that_keeps_failing_shows_why_and_is_asked_again_next_time(standin, track, tmp_path) -> None:
    checkpoint = f"{official.hub_folder('m2l')}/{official.FILE_NAMES.checkpoint}"
    standin.failures[checkpoint] = 100  # longer than one request keeps trying
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache")
    builder = TableBuilder(engine, list_models(probe=True), {track.id: track}.__getitem__,
                           cells_dir=tmp_path / "cells", refresh=model_info)
    first = json.loads(list(builder.updates(track.id))[-1].value)
    m2l = next(m for m in first["models"] if m["name"] == "m2l")
    assert not m2l["available"] and "503" in m2l["reason"]
    assert playable(first) == {"lin-cae", "lin-cae-2"}
    standin.failures.clear()  # the Hub recovers: the same page (no restart) plays the column
    second = json.loads(list(builder.updates(track.id))[-1].value)
    assert playable(second) == set(OFFICIAL)


def test_cached_tables_need_no_hub_and_no_weights(standin, track, tmp_path, monkeypatch) -> None:
    """A table computed once is served from the cache by an engine that can neither reach the Hub nor load."""
    first = page_table(Engine(device="cpu", cache_dir=tmp_path / "cache"), track, tmp_path)
    standin.stop()
    monkeypatch.setattr(official, "build_module", lambda *a, **k: pytest.fail("a model was loaded"))
    again = page_table(Engine(device="cpu", cache_dir=tmp_path / "cache"), track, tmp_path)
    assert playable(again) == playable(first) == set(OFFICIAL)


def test_app_py_plays_the_official_columns_from_a_fresh_cache(standin, track, tmp_path, monkeypatch) -> None:
    """app.py itself, as a Space starts it: the Hub probed at start, the official columns on the first track."""
    from lincae.data import library

    library.save_track(track, tmp_path / "songs" / track.id)  # a short song in the bundled layout: a quick table
    monkeypatch.setattr(library, "SONGS_DIR", tmp_path / "songs")
    library.load_track.cache_clear()
    monkeypatch.setenv("LINCAE_CACHE_DIR", str(tmp_path / "cache"))
    app = runpy.run_path(str(ROOT / "app.py"), run_name="app")
    assert app["tracks"][0].id == track.id
    infos = {m.name: m for m in app["builder"].model_infos()}
    assert all(infos[name].available for name in OFFICIAL)
    value = json.loads(list(app["builder"].updates(app["tracks"][0].id))[-1].value)
    assert playable(value) == set(OFFICIAL)
    library.load_track.cache_clear()  # the short song's folder goes with this test
