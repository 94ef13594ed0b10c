"""Listening tests through `gradio_client`: 20 raters submitting at once lose nothing, bad submissions are refused
with a message, and ratings survive a restart of the app."""
from __future__ import annotations

from browser import served  # noqa: I001

import threading

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from engine_fakes import IdentityAE, NoisyAE
from lincae.data.library import TrackInfo
from lincae.engine import Engine
from lincae.listening import HIDDEN_REFERENCE, Design, ListeningError, ListeningStore
from lincae.settings import Settings
from test_app import info, loader_for, make_track
from ui.layout import build_demo
from ui.tables import TableBuilder

TRACKS = [TrackInfo("t1", "First test track", "tests", "CC0")]
DESIGN = Design(tracks=("t1",), rows=("ae_mix", "additivity", "sep_vocals"), models=("linear", "noisy"))
RATERS = 20


def make_demo(tmp_path, db):
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache",
                    loader=loader_for(IdentityAE("linear"), NoisyAE("noisy")))
    builder = TableBuilder(engine, [info("linear"), info("noisy", linear=False)],
                           {"t1": make_track("t1", 0.5)}.__getitem__, cells_dir=tmp_path / "cells")
    return build_demo(builder, TRACKS, Settings(listening_db=db)), builder


def scores(i: int, trial: int) -> dict[str, float]:
    return {"linear": 50 + i, "noisy": float(trial), HIDDEN_REFERENCE: 100, "anchor_3_5k": 10, "anchor_7k": 30}


def test_twenty_raters_at_once_through_the_api_lose_nothing(tmp_path):
    db = tmp_path / "ratings.sqlite"
    test_id = ListeningStore(db).create_test(DESIGN)
    demo, builder = make_demo(tmp_path, db)
    with served(demo, allowed_paths=[str(builder.cells_dir)]) as url:
        # A generous HTTP timeout: the test machine may be busy; what counts is that no rating is lost.
        clients = [Client(url, verbose=False, httpx_kwargs={"timeout": 120}) for _ in range(RATERS)]
        start = threading.Barrier(RATERS)
        errors: list[BaseException] = []

        def rate(i: int) -> None:
            start.wait()
            try:
                jobs = [clients[i].submit(test_id, f"rater-{i}", trial, scores(i, trial), api_name="/listening_submit")
                        for trial in range(3)]
                assert [job.result(timeout=120)["stored"] for job in jobs] == [5, 5, 5]
            except BaseException as err:  # noqa: BLE001 - collected and asserted below
                errors.append(err)

        threads = [threading.Thread(target=rate, args=(i,)) for i in range(RATERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        results = clients[0].predict(test_id, True, api_name="/listening_results")

    stored = ListeningStore(db).ratings(test_id)
    assert len(stored) == RATERS * 3 * 5
    assert {(r.rater_id, r.trial, r.condition): r.score for r in stored} == {
        (f"rater-{i}", t, c): float(s) for i in range(RATERS) for t in range(3) for c, s in scores(i, t).items()}
    assert results["n_raters"] == RATERS
    linear = next(s for s in results["summary"] if (s["row"], s["condition"]) == ("ae_mix", "linear"))
    assert linear["mean"] == pytest.approx(sum(50 + i for i in range(RATERS)) / RATERS)
    assert linear["n_scores"] == RATERS and linear["ci95"] > 0


def test_bad_submissions_are_refused_with_a_message_and_ratings_survive_a_restart(tmp_path):
    db = tmp_path / "ratings.sqlite"
    test_id = ListeningStore(db).create_test(DESIGN)
    demo, builder = make_demo(tmp_path, db)
    with served(demo, allowed_paths=[str(builder.cells_dir)]) as url:
        client = Client(url, verbose=False)
        assert client.predict(test_id, "rater-a", 0, scores(0, 0), api_name="/listening_submit")["stored"] == 5
        refusals = {
            "already rated": (test_id, "rater-a", 0, scores(1, 0)),
            "not a number from 0 to 100": (test_id, "rater-b", 0, {**scores(0, 0), "linear": 140}),
            "no listening test 'nope'": ("nope", "rater-b", 0, scores(0, 0)),
            "Trial 7 is not in this test": (test_id, "rater-b", 7, scores(0, 0)),
            "missing noisy": (test_id, "rater-b", 1, {"linear": 5}),
        }
        for message, args in refusals.items():
            with pytest.raises(AppError, match=message):
                client.predict(*args, api_name="/listening_submit")
        with pytest.raises(AppError, match="no listening test 'nope'"):
            client.predict("nope", True, api_name="/listening_results")

    demo, builder = make_demo(tmp_path, db)  # the app again, on the same database
    with served(demo, allowed_paths=[str(builder.cells_dir)]) as url:
        results = Client(url, verbose=False).predict(test_id, True, api_name="/listening_results")
    assert results["n_raters"] == 1 and results["raters"][0]["rater_id"] == "rater-a"
    summary = {(s["row"], s["condition"]): s["mean"] for s in results["summary"]}
    assert summary == {("ae_mix", c): float(s) for c, s in scores(0, 0).items()}  # only the first submission
    assert results["names"][HIDDEN_REFERENCE] == "Hidden reference"


def test_a_test_is_created_only_when_every_condition_plays(tmp_path):
    from test_app import Broken
    from ui.listening_views import ListeningTests

    engine = Engine(device="cpu", cache_dir=tmp_path / "cache",
                    loader=loader_for(IdentityAE("linear"), Broken("broken")))
    builder = TableBuilder(engine, [info("linear"), info("broken")], {"t1": make_track("t1", 0.5)}.__getitem__,
                           cells_dir=tmp_path / "cells")
    store = ListeningStore(tmp_path / "ratings.sqlite")
    tests = ListeningTests(builder, store, {"t1": "Track t1"})
    with pytest.raises(ListeningError, match=r"No test created: Broken cannot play Track t1 \(failed on this track"):
        list(tests.create(["t1"], ["ae_mix"], ["linear", "broken"]))
    steps = list(tests.create(["t1"], ["ae_mix", "sep_vocals"], ["linear"]))
    assert [s[:2] for s in steps] == [(0, 2), (1, 2), (2, 2)] and steps[-1][2] is not None
    assert store.design(steps[-1][2]).models == ("linear",)
