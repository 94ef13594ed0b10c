"""Deep links in a real browser: `?track=…&model=…&row=…` opens the page on that cell, selected and ready to play
with one key press; "Copy link" gives a URL that does the same."""
from __future__ import annotations

from browser import open_page, served, state, wait_for  # noqa: I001

import pytest

from engine_fakes import IdentityAE, NoisyAE
from lincae.data.library import TrackInfo
from lincae.engine import Engine
from test_app import info, loader_for, make_track
from ui.layout import build_demo
from ui.tables import TableBuilder

TRACKS = [TrackInfo("t1", "First test track", "tests", "CC0"), TrackInfo("t2", "Second test track", "tests", "CC0")]
READY = "document.querySelector('#lincae-status')?.innerText.includes('Ready')"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deeplink")
    engine = Engine(device="cpu", cache_dir=tmp / "cache", loader=loader_for(IdentityAE("linear"), NoisyAE("noisy")))
    models = [info("linear"), info("noisy", linear=False), info("gated", available=False, reason="needs an HF token")]
    tracks = {"t1": make_track("t1", 1.0), "t2": make_track("t2", 0.8)}
    builder = TableBuilder(engine, models, tracks.__getitem__, cells_dir=tmp / "cells")
    with served(build_demo(builder, TRACKS), allowed_paths=[str(builder.cells_dir)]) as url:
        yield url


@pytest.fixture
def open_link(browser, app_url):
    pages = []

    def go(query: str):
        page, log = open_page(browser, f"{app_url}/{query}")
        wait_for(page, READY, timeout_ms=30_000)
        pages.append(page)
        page.log = log
        return page

    yield go
    for page in pages:
        page.context.close()


def selected_cells(page) -> list[tuple[str, str]]:
    cells = page.locator("td.lc-cell.lc-selected")
    return [(cells.nth(i).get_attribute("data-row"), cells.nth(i).get_attribute("data-model"))
            for i in range(cells.count())]


def test_a_link_opens_its_track_with_the_cell_selected_not_playing(open_link):
    page = open_link("?track=t2&model=noisy&row=sep_vocals")
    wait_for(page, "window.lincaePlayer.data?.track.id === 't2' && window.lincaePlayer.state().row !== null")
    s = state(page)
    assert (s["row"], s["model"], s["playing"]) == ("sep_vocals", "noisy", False)
    assert page.get_by_label("Track").input_value() == "Second test track"
    assert selected_cells(page) == [("sep_vocals", "noisy")]
    page.wait_for_timeout(500)  # the mixer also follows the linked track, not the default one
    assert page.evaluate("window.lincaePlayers.mixer.data.track.id") == "t2"
    assert page.log.external_requests == [] and page.log.console_errors == []


def test_one_key_press_plays_the_linked_cell(open_link):
    page = open_link("?track=t2&model=linear&row=scale_0_5")
    wait_for(page, "window.lincaePlayer.state().row === 'scale_0_5'")
    wait_for(page, "(() => { const l = window.lincaePlayer.loaded(); return l.total && l.decoded === l.total; })()")
    page.keyboard.press("Space")
    wait_for(page, "window.lincaePlayer.state().playing && window.lincaePlayer.state().position > 0.1")
    s = state(page)
    assert (s["row"], s["model"]) == ("scale_0_5", "linear")


def test_a_link_to_the_default_track_selects_without_switching(open_link):
    page = open_link("?track=t1&model=linear&row=ae_mix")
    wait_for(page, "window.lincaePlayer.state().row === 'ae_mix'")
    assert page.get_by_label("Track").input_value() == "First test track"
    assert state(page)["model"] == "linear"


@pytest.mark.parametrize("query,notice", [
    ("?track=nope&model=linear&row=ae_mix", "This link points to a track this page does not have (nope)."),
    ("?track=upload-0123456789ab&model=linear&row=ae_mix", "This link points to an uploaded track."),
    ("?track=t1&model=linear&row=nope", "This link points to a row the table does not have (nope)."),
    ("?track=t1&model=nope&row=ae_mix", "This link points to a model this page does not have (nope)."),
    ("?track=t1&model=gated&row=sep_vocals",
     "The linked cell (Separated Vocals · Gated) cannot play here: needs an HF token."),
    ("?x=1", None),
])
def test_a_link_that_cannot_open_its_cell_opens_the_page_as_usual_and_says_why(open_link, query, notice):
    page = open_link(query)
    wait_for(page, "window.lincaePlayer.data?.track.id === 't1'")
    page.wait_for_timeout(300)
    assert state(page)["row"] is None and selected_cells(page) == []
    shown = page.locator("#lincae-player .lc-notice")
    if notice is None:
        assert shown.is_hidden()
    else:
        assert shown.is_visible() and shown.inner_text().startswith(notice)
        shown.get_by_role("button", name="Dismiss").click()
        assert shown.is_hidden()
    assert page.log.console_errors == []


def test_copy_link_gives_a_url_that_reopens_the_cell(open_link):
    page = open_link("")
    button = page.locator("#lincae-player .lc-copy-link")
    assert button.is_disabled()  # nothing selected yet
    page.get_by_label("Track").click()
    page.get_by_role("option", name="Second test track").click()
    wait_for(page, "window.lincaePlayer.data.track.id === 't2' && window.lincaePlayer.urlFor('additivity', 'noisy')",
             timeout_ms=30_000)
    page.locator('td[data-row="additivity"][data-model="noisy"]').click()
    wait_for(page, "window.lincaePlayer.state().playing", timeout_ms=30_000)  # t2's buffers decode first
    button.click()
    wait_for(page, "document.querySelector('#lincae-player .lc-status').innerText.startsWith('Link')",
             timeout_ms=30_000)
    link = page.evaluate("window.lincaePlayer.link()")
    assert "track=t2" in link and "model=noisy" in link and "row=additivity" in link
    again = open_link(link.removeprefix(page.url.split("?")[0]))
    wait_for(again, "window.lincaePlayer.state().row === 'additivity'")
    assert (state(again)["model"], state(again)["playing"]) == ("noisy", False)
    assert again.evaluate("window.lincaePlayer.data.track.id") == "t2"
