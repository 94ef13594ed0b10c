"""The app's glue: track → engine tables → cells → player value; the model list; app.py itself."""
from __future__ import annotations

import json
import runpy
from pathlib import Path
from urllib.parse import unquote

import gradio as gr
import numpy as np
import pytest
import soundfile as sf
import torch

from engine_fakes import IdentityAE, NoisyAE
from lincae.data.track import Track
from lincae.engine import MODEL_ROWS, Engine
from lincae.models.base import ModelInfo
from lincae.registry import ModelUnavailable
from lincae.rows import ROWS
from ui.layout import models_markdown
from ui.tables import TableBuilder, status_line

ROOT = Path(__file__).resolve().parents[1]
SR = 44100


def info(name: str, available: bool = True, reason: str = "", linear: bool = True) -> ModelInfo:
    return ModelInfo(name, name.title(), "fake", "test", SR, embedded=True, linear=linear, available=available,
                     reason=reason, description=f"{name} for tests")


def make_track(track_id: str = "t1", seconds: float = 0.5) -> Track:
    t = np.arange(int(seconds * SR)) / SR
    freqs = {"vocals": 440.0, "drums": 97.0, "bass": 55.0, "other": 660.0}
    stems = {s: (0.2 * np.sin(2 * np.pi * f * t)).astype(np.float32) for s, f in freqs.items()}
    return Track(id=track_id, title=f"Track {track_id}", stems=stems)


class Broken(IdentityAE):
    def decode(self, z, length, seed=None):
        raise RuntimeError("decoder exploded")


def loader_for(*models):
    by_name = {m.name: m for m in models}

    def load(name: str, device: torch.device):
        if name == "offline":
            raise ModelUnavailable(name, "weights not reachable offline")
        return by_name[name]

    return load



def page_builder(tmp: Path, linear_model) -> TableBuilder:
    """A page's builder: `linear_model` ("linear"), a noisy baseline ("noisy") and a gated model that cannot run,
    on one 2 s track "t1"."""
    engine = Engine(device="cpu", cache_dir=tmp / "cache", loader=loader_for(linear_model, NoisyAE("noisy")))
    models = [info("linear"), info("noisy", linear=False), info("gated", available=False, reason="needs an HF token")]
    return TableBuilder(engine, models, {"t1": make_track("t1", 2.0)}.__getitem__, cells_dir=tmp / "cells")

@pytest.fixture
def builder(tmp_path):
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache",
                    loader=loader_for(IdentityAE("linear"), NoisyAE("noisy"), Broken("broken")))
    models = [info("linear"), info("noisy", linear=False), info("gated", available=False, reason="needs an HF token"),
              info("offline"), info("broken")]
    tracks = {t.id: t for t in (make_track("t1"), make_track("t2", 0.3))}
    return TableBuilder(engine, models, tracks.__getitem__, cells_dir=tmp_path / "cells", seed=3)


def wav(url: str) -> np.ndarray:
    audio, rate = sf.read(unquote(url.removeprefix("gradio_api/file=")), dtype="float32")
    assert rate == SR
    return audio


def test_columns_arrive_one_model_at_a_time_then_the_whole_table(builder):
    updates = list(builder.updates("t1"))
    values = [json.loads(u.value) for u in updates]
    assert [u.done for u in updates] == [False] * 4 + [True]
    # Before the first model: no model cells yet; each later update has one more column computed.
    assert [sum(len(v["cells"][r]) for r in MODEL_ROWS) for v in values] == [0, 7, 14, 14, 14]
    final = values[-1]
    assert final["track"] == {"id": "t1", "title": "Track t1"}
    assert final["duration"] == pytest.approx(0.5)
    assert [r["id"] for r in final["rows"]] == [r.id for r in ROWS]
    assert {r: set(final["cells"][r]) for r in MODEL_ROWS} == {r: {"linear", "noisy"} for r in MODEL_ROWS}
    assert set(final["reference"]) == {"gt_mix", "gt_vocals"}
    assert final["mix_peaks"] == final["reference"]["gt_mix"]["peaks"]
    assert "Ready. Playable:** Linear and Noisy." in updates[-1].status


def test_cells_hold_the_engine_audio_and_the_reference_rows_the_original(builder):
    final = json.loads(list(builder.updates("t1"))[-1].value)
    track = make_track("t1")
    table = builder.engine.track_table(track, "noisy", seed=3)
    for row in MODEL_ROWS:
        cell = final["cells"][row]["noisy"]
        np.testing.assert_allclose(wav(cell["url"]) * cell["gain"], table[row], atol=2e-4)
    np.testing.assert_allclose(wav(final["reference"]["gt_vocals"]["url"]), track.stems["vocals"], atol=2e-4)
    np.testing.assert_allclose(wav(final["reference"]["gt_mix"]["url"]), track.mix, atol=2e-4)


def test_models_that_cannot_run_show_their_reason(builder):
    final = json.loads(list(builder.updates("t1"))[-1].value)
    by_name = {m["name"]: m for m in final["models"]}
    assert [m["name"] for m in final["models"]] == ["linear", "noisy", "gated", "offline", "broken"]
    assert by_name["gated"] == {**by_name["gated"], "available": False, "reason": "needs an HF token"}
    assert by_name["offline"]["reason"] == "weights not reachable offline"
    assert not by_name["broken"]["available"]
    assert "RuntimeError: decoder exploded" in by_name["broken"]["reason"]
    status = list(builder.updates("t1"))[-1].status
    assert "Not on this server: Gated and Offline" in status and "Failed on this track: Broken." in status
    assert "Tried again when the track is opened again" in status
    assert "weights not reachable offline" not in status  # the owners' reasons live in the Models panel


def test_a_model_that_failed_to_load_is_tried_again_on_the_next_request(builder, monkeypatch):
    """A Hub error is not remembered: the next request loads again, and the column plays once it works."""
    attempts = []
    working = builder.engine._loader

    def flaky(name, device):
        if name == "offline":
            attempts.append(name)
            if len(attempts) == 1:
                raise ModelUnavailable(name, "could not download the weights: 503 Service Unavailable")
            return IdentityAE("offline")
        return working(name, device)

    monkeypatch.setattr(builder.engine, "_loader", flaky)
    first = json.loads(list(builder.updates("t1"))[-1].value)
    assert {m["name"]: m["reason"] for m in first["models"]}["offline"].endswith("503 Service Unavailable")
    second = json.loads(list(builder.updates("t1"))[-1].value)
    assert attempts == ["offline", "offline"]
    assert {m["name"]: m["available"] for m in second["models"]}["offline"]
    assert set(second["cells"]["ae_mix"]) >= {"linear", "noisy", "offline"}


def test_the_status_line_says_what_plays_what_does_not_and_what_to_try_first():
    linear, baseline = info("linear"), info("noisy", linear=False)
    gated = info("gated", available=False, reason="needs an HF token")
    assert status_line([linear, baseline, gated]) == (
        "**Ready. Playable:** Linear and Noisy. Not on this server: Gated (no weights here; see Models, below). "
        "Try first: **Separated Vocals**, a linear model, then a baseline.")
    assert "Try first" not in status_line([linear, gated])  # nothing to compare with
    assert status_line([gated]).startswith("**Ready, but no model can play here.**")


def test_a_finished_table_is_served_from_memory_without_touching_the_engine(builder, monkeypatch):
    builder.models = [m for m in builder.models if m.name in ("linear", "noisy")]  # a table without failures
    list(builder.updates("t1"))
    monkeypatch.setattr(builder.engine, "track_table", lambda *a, **k: pytest.fail("recomputed"))
    monkeypatch.setattr(builder.engine, "cached_table", lambda *a, **k: pytest.fail("read the engine's cache"))
    again = list(builder.updates("t1"))
    assert len(again) == 1 and again[0].done


def test_progress_covers_every_model_in_order(builder):
    seen: list[tuple[float, str]] = []
    list(builder.updates("t2", progress=lambda fraction, desc=None: seen.append((fraction, desc))))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] <= 1
    assert any("Linear" in d for _, d in seen) and any("Noisy" in d for _, d in seen)


def test_models_markdown_says_what_each_model_is_and_why_not():
    text = models_markdown([info("linear"), info("gated", available=False, reason="needs an HF token")])
    assert "linear for tests" in text and "✔ playable" in text
    assert "not playable: needs an HF token" in text


def test_app_module_builds_the_demo_offline(offline_hub, tmp_path, monkeypatch):
    monkeypatch.setenv("LINCAE_CACHE_DIR", str(tmp_path / "cache"))
    namespace = runpy.run_path(str(ROOT / "app.py"), run_name="app")
    assert isinstance(namespace["demo"], gr.Blocks)
    names = [m.name for m in namespace["builder"].model_infos()]
    assert {"demo-lincae", "demo-ae", "lin-cae", "lin-cae-2", "m2l", "stable-audio-vae"} <= set(names)
    assert namespace["builder"].cells_dir == tmp_path / "cache" / "cells"
