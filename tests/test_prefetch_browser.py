"""The page head starts fetching and decoding the first table's files before Gradio has built the player, and the
player takes them over: each file is requested once; a link to another track does not start it."""
from __future__ import annotations

from browser import chromium, open_page, served, wait_for  # noqa: I001

import pytest

from engine_fakes import IdentityAE, NoisyAE
from lincae.data.library import TrackInfo
from lincae.engine import Engine
from lincae.models.base import ModelInfo
from test_app import SR, loader_for, make_track
from ui.layout import build_demo, launch_kwargs
from ui.player import value_urls
from ui.tables import TableBuilder

DECODED = ("(() => { const p = window.lincaePlayer; if (!p || !p.data) return false; const l = p.loaded();"
           " return l.total && l.decoded === l.total; })()")
WAV_REQUESTS = "performance.getEntriesByType('resource').map(r => r.name).filter(n => n.endsWith('.wav'))"
MODELS = [ModelInfo(name, name, "fake", "test", SR, embedded=True, linear=linear, available=True)
          for name, linear in (("demo-lincae", True), ("demo-ae", False))]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prefetch")
    engine = Engine(device="cpu", cache_dir=tmp / "cache",
                    loader=loader_for(IdentityAE("demo-lincae"), NoisyAE("demo-ae")))
    tracks = {"t1": make_track("t1", 1.0), "t2": make_track("t2", 1.5)}  # different audio, different files
    builder = TableBuilder(engine, MODELS, tracks.__getitem__, cells_dir=tmp / "cells")
    builder.warm("t1")  # as the app does while Gradio is imported: the page opens with this table
    first = builder.remembered("t1").value
    demo = build_demo(builder, [TrackInfo(t, f"Track {t}", "tests", "CC0") for t in tracks])
    with served(demo, **launch_kwargs(builder.cells_dir, first)) as url:
        yield url, first


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def test_the_first_tables_files_are_decoded_from_the_early_start_and_fetched_once(browser, app):
    url, first = app
    page, log = open_page(browser, url)
    wait_for(page, DECODED, timeout_ms=30_000)
    urls = set(value_urls(first))
    assert page.evaluate("window.lincaePlayerKit.prefetchTaken") == len(urls)
    requested = page.evaluate(WAV_REQUESTS)
    assert len(requested) == len(set(requested)) == len(urls)
    assert not log.console_errors


def test_a_link_to_another_track_does_not_start_early(browser, app):
    url, _ = app
    page, log = open_page(browser, f"{url}/?track=t2")
    wait_for(page, "window.lincaePlayer && window.lincaePlayer.data && window.lincaePlayer.data.track.id === 't2'",
             timeout_ms=30_000)
    wait_for(page, DECODED, timeout_ms=30_000)
    assert page.evaluate("window.lincaePlayerKit.prefetched.size") == 0
    assert not page.evaluate("window.lincaePlayerKit.prefetchTaken")  # every file was the player's own request
    assert not log.console_errors
