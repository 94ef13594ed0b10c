"""app.py as a new user runs it: offline, bundled tracks, the embedded models, the official ones listed as not playable."""
from __future__ import annotations

from browser import chromium, open_page, served, state, wait_for  # noqa: I001

import json
import runpy
from pathlib import Path
from urllib.parse import unquote

import pytest

from lincae import registry
from lincae.rows import ROWS
from offline import go_offline

ROOT = Path(__file__).resolve().parents[1]
EMBEDDED = ("demo-lincae", "demo-ae")
pytestmark = pytest.mark.skipif(
    not all((registry.EMBEDDED_DIR / f"{name}.pt").is_file() for name in EMBEDDED),
    reason="the embedded checkpoints are not in assets/models yet",
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("offline-app")
    with pytest.MonkeyPatch.context() as mp:
        go_offline(mp, tmp)
        mp.setenv("LINCAE_CACHE_DIR", str(tmp / "cache"))
        yield runpy.run_path(str(ROOT / "app.py"), run_name="app")


def test_embedded_models_run_and_the_others_say_why_not(app):
    infos = {m.name: m for m in app["builder"].model_infos()}
    assert all(infos[name].available for name in EMBEDDED)
    for m in infos.values():
        if not m.embedded:
            assert not m.available and m.reason, m


def test_every_bundled_track_gets_a_full_table_from_the_embedded_models(app):
    assert app["tracks"], "no bundled track"
    for track in app["tracks"]:
        value = json.loads(list(app["builder"].updates(track.id))[-1].value)
        for row in (r.id for r in ROWS if not r.reference):
            assert set(value["cells"][row]) == set(EMBEDDED), (track.id, row)
            for cell in value["cells"][row].values():
                assert Path(unquote(cell["url"].removeprefix("gradio_api/file="))).is_file()
        assert value["duration"] > 1


def test_the_page_plays_the_embedded_models_offline(app):
    builder = app["builder"]
    with served(app["demo"], allowed_paths=[str(builder.cells_dir)]) as url, chromium() as browser:
        page, log = open_page(browser, url)
        wait_for(page, "document.querySelector('#lincae-status')?.innerText.includes('Ready')", timeout_ms=120_000)
        wait_for(page, "(() => { const l = window.lincaePlayer.loaded(); return l.total && l.decoded === l.total; })()",
                 timeout_ms=60_000)
        assert page.locator('#lincae-player td.lc-cell[role="button"]').count() == len(ROWS) * len(EMBEDDED)
        unavailable = [m.name for m in builder.model_infos() if not m.available]
        for name in unavailable:
            folded = page.locator(f'#lincae-player td.lc-folded li[data-model="{name}"]')
            assert folded.locator(".lc-folded-reason").inner_text() and folded.get_attribute("title")
        page.locator('#lincae-player td[data-row="sep_vocals"][data-model="demo-lincae"]').click()
        wait_for(page, "window.lincaePlayer.state().playing && window.lincaePlayer.state().position > 0.2")
        assert state(page)["model"] == "demo-lincae"
        assert log.external_requests == [] and log.console_errors == []
