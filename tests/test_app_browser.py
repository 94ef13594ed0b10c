"""The whole page in a real browser: layout, computed tables, the column of models that cannot play, switching track."""
from __future__ import annotations

import json

from browser import chromium, open_page, served, state, wait_for  # noqa: I001

import pytest

from engine_fakes import IdentityAE, NoisyAE
from lincae.data.library import TrackInfo
from lincae.engine import Engine
from lincae.rows import ROWS
from test_app import info, loader_for, make_track
from ui.layout import build_demo
from ui.tables import TableBuilder

TRACKS = [TrackInfo("t1", "First test track", "tests", "CC0"), TrackInfo("t2", "Second test track", "tests", "CC0")]
DURATIONS = {"t1": 1.0, "t2": 0.6}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    engine = Engine(device="cpu", cache_dir=tmp / "cache", loader=loader_for(IdentityAE("linear"), NoisyAE("noisy")))
    models = [info("linear"), info("noisy", linear=False), info("gated", available=False, reason="needs an HF token"),
              info("offline")]
    tracks = {t.id: make_track(t.id, DURATIONS[t.id]) for t in TRACKS}
    builder = TableBuilder(engine, models, tracks.__getitem__, cells_dir=tmp / "cells")
    with served(build_demo(builder, TRACKS), allowed_paths=[str(builder.cells_dir)]) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def page(app_url, browser):
    page, log = open_page(browser, app_url)
    wait_for(page, "document.querySelector('#lincae-status')?.innerText.includes('Ready')", timeout_ms=30_000)
    wait_for(page, "(() => { const l = window.lincaePlayer.loaded(); return l.total && l.decoded === l.total; })()")
    page.log = log
    yield page


def test_page_loads_offline_without_console_errors(page):
    assert page.log.external_requests == []
    assert page.log.console_errors == []
    assert page.title() == "Linear audio autoencoders — live demo"


def test_table_has_every_row_for_every_model_that_runs(page):
    playable = page.locator('#lincae-player td.lc-cell[role="button"]')
    pairs = {(playable.nth(i).get_attribute("data-row"), playable.nth(i).get_attribute("data-model"))
             for i in range(playable.count())}
    assert pairs == {(r.id, m) for r in ROWS for m in ("linear", "noisy")}


@pytest.mark.parametrize("model,reason", [("gated", "needs an HF token"), ("offline", "weights not reachable offline")])
def test_models_that_cannot_run_are_folded_into_one_column_with_the_reason(page, model, reason):
    assert page.locator(f'#lincae-player td.lc-cell[data-model="{model}"]').count() == 0
    folded = page.locator(f'#lincae-player td.lc-folded li[data-model="{model}"]')
    assert folded.inner_text() == f"{model.title()}\n{reason}"
    assert "Not on this server: Gated and Offline" in page.locator("#lincae-status").inner_text()


def test_a_cached_track_comes_outside_the_queue(tmp_path, browser):
    """Choosing a track whose table is cached: the table is the answer of a request outside Gradio's queue
    (`run/predict`), so it never waits behind queued events; the queued event that follows only confirms it."""
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=loader_for(IdentityAE("linear"),
                                                                                   NoisyAE("noisy")))
    models = [info("linear"), info("noisy", linear=False)]
    tracks = {t: make_track(t, DURATIONS[t]) for t in DURATIONS}
    builder = TableBuilder(engine, models, tracks.__getitem__, cells_dir=tmp_path / "cells")
    for track_id in tracks:
        builder.warm(track_id)
    with served(build_demo(builder, TRACKS), allowed_paths=[str(builder.cells_dir)]) as url:
        page = browser.new_page()
        page.goto(url)
        wait_for(page, "window.lincaePlayer?.data?.track?.id === 't1'", timeout_ms=30_000)
        page.get_by_label("Track").click()
        with page.expect_response("**/gradio_api/run/predict") as answer:
            page.get_by_role("option", name="Second test track").click()
        assert json.loads(answer.value.json()["data"][0])["track"]["id"] == "t2"  # the table itself, not a skip
        wait_for(page, "window.lincaePlayer.data.track.id === 't2'", timeout_ms=30_000)
        assert page.evaluate("() => window.lincaePlayer.data.duration") == pytest.approx(DURATIONS["t2"])
        page.close()


def test_clicking_a_cell_plays_it(page):
    page.locator('#lincae-player td[data-row="ae_mix"][data-model="noisy"]').click()
    wait_for(page, "window.lincaePlayer.state().playing && window.lincaePlayer.ctx.state === 'running'")
    first = state(page)["position"]
    page.wait_for_timeout(300)
    assert state(page)["position"] != first
    assert page.log.console_errors == []


def test_choosing_another_track_loads_its_table_and_stops_playback(page):
    page.locator('#lincae-player td[data-row="gt_mix"][data-model="linear"]').click()
    wait_for(page, "window.lincaePlayer.state().playing")
    page.get_by_label("Track").click()
    page.get_by_role("option", name="Second test track").click()
    wait_for(page, "window.lincaePlayer.data.track.id === 't2'", timeout_ms=30_000)
    wait_for(page, "document.querySelector('#lincae-status')?.innerText.includes('Ready')", timeout_ms=30_000)
    assert state(page)["playing"] is False
    assert page.evaluate("() => window.lincaePlayer.data.duration") == pytest.approx(DURATIONS["t2"])
    assert page.locator('#lincae-player td.lc-cell[role="button"]').count() == len(ROWS) * 2
    assert page.log.external_requests == [] and page.log.console_errors == []


def test_a_table_computed_before_the_page_is_built_is_part_of_the_page(tmp_path, browser):
    """The app computes the first track's table while it starts: the page then carries it, and the player loads its
    audio without waiting for the page's first request (here every request to the queue is refused)."""
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=loader_for(IdentityAE("linear"),
                                                                                   NoisyAE("noisy")))
    models = [info("linear"), info("noisy", linear=False), info("gated", available=False, reason="needs an HF token")]
    builder = TableBuilder(engine, models, {"t1": make_track("t1", 1.0)}.__getitem__, cells_dir=tmp_path / "cells")
    builder.warm("t1")
    refused: list[str] = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    with served(build_demo(builder, TRACKS[:1]), allowed_paths=[str(builder.cells_dir)]) as url:
        page = browser.new_page()
        page.route("**/gradio_api/queue/**", refuse)
        page.goto(url)
        wait_for(page, "(() => { const p = window.lincaePlayer, l = p && p.data && p.loaded();"
                       " return l && l.total && l.decoded === l.total; })()", timeout_ms=30_000)
        data = page.evaluate("window.lincaePlayer.data")
        assert data["track"]["id"] == "t1"
        assert set(data["cells"]["sep_vocals"]) == {"linear", "noisy"}
        assert "Ready" in page.locator("#lincae-status").inner_text()
        assert refused  # the page did ask the queue (its load events); the table did not come from there
        page.close()
