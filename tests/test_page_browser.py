"""The first screen in a real browser: what plays and why the rest does not, all nine rows with the player's
controls on a 1400×900 screen, a usable phone layout, and bold labels drawn with their own font."""
from __future__ import annotations

from browser import chromium, open_page, served, wait_for  # noqa: I001

import pytest

from engine_fakes import IdentityAE, NoisyAE
from lincae.data.library import TrackInfo
from lincae.engine import Engine
from lincae.rows import ROWS
from lincae.models.base import ModelInfo
from test_app import SR, loader_for, make_track
from ui.layout import build_demo, launch_kwargs
from ui.tables import TableBuilder

READY = "document.querySelector('#lincae-status')?.innerText.includes('Ready')"
DECODED = "(() => { const l = window.lincaePlayer.loaded(); return l.total && l.decoded === l.total; })()"
# Six columns as in the app offline: two small models that play, four whose weights are not here.
OFFLINE = "weights not reachable offline (set LINCAE_WEIGHTS_DIR)"
MODELS = [
    ModelInfo("demo-lincae", "Demo Lin-AE (trained here)", "fake", "test", SR, embedded=True, linear=True,
              available=True),
    ModelInfo("demo-ae", "Demo AE baseline (trained here)", "fake", "test", SR, embedded=True, linear=False,
              available=True),
    *(ModelInfo(name, label, "fake", "test", SR, embedded=False, linear=linear, available=False, reason=OFFLINE)
      for name, label, linear in (("lin-cae", "Lin-CAE (official)", True), ("lin-cae-2", "Lin-CAE-2 (official)", True),
                                  ("m2l", "M2L (official baseline)", False),
                                  ("stable-audio-vae", "Stable Audio VAE", False))),
]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("page")
    engine = Engine(device="cpu", cache_dir=tmp / "cache",
                    loader=loader_for(IdentityAE("demo-lincae"), NoisyAE("demo-ae")))
    builder = TableBuilder(engine, MODELS, {"t1": make_track("t1", 2.0)}.__getitem__, cells_dir=tmp / "cells")
    demo = build_demo(builder, [TrackInfo("t1", "Generated song #1 (106 bpm, minor)", "tests", "CC0")])
    with served(demo, **launch_kwargs(builder.cells_dir)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def ready_page(browser, url, width: int, height: int, scheme: str = "light"):
    page, log = open_page(browser, url, viewport={"width": width, "height": height}, color_scheme=scheme)
    wait_for(page, READY, timeout_ms=30_000)
    wait_for(page, DECODED)
    page.log = log
    return page


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_at_1400x900_the_whole_table_and_the_player_controls_fit_without_scrolling(browser, app_url):
    page = ready_page(browser, app_url, 1400, 900)
    assert page.evaluate("() => window.scrollY") == 0
    inside = lambda b: b is not None and b["y"] >= 0 and b["y"] + b["height"] <= 900 and b["x"] + b["width"] <= 1400
    for selector in ("#lincae-status", "#lincae-track", "#lincae-player .lc-controls", "#lincae-player .lc-waves"):
        assert inside(box(page, selector)), selector
    rows = page.locator("#lincae-player tbody tr")
    assert rows.count() == len(ROWS)
    for i in range(rows.count()):
        assert inside(rows.nth(i).bounding_box()), f"row {ROWS[i].id} is below the fold: {rows.nth(i).bounding_box()}"
    assert page.log.console_errors == []
    page.context.close()


def test_the_first_screen_says_what_plays_and_why_the_rest_does_not_without_hover(browser, app_url):
    page = ready_page(browser, app_url, 1400, 900)
    status = page.locator("#lincae-status").inner_text()
    assert "Playable: Demo Lin-AE and Demo AE baseline." in status
    assert "Not on this server: Lin-CAE, Lin-CAE-2, M2L and Stable Audio VAE" in status
    assert "LINCAE_WEIGHTS_DIR" not in status  # owners' how-to: in the Models panel
    intro = page.locator("#lincae-intro").inner_text()
    assert "trained here with the paper's recipe" in intro
    assert " ours" not in intro + status and "(ours" not in intro + status
    page.locator("#lincae-models").get_by_text("Models").click()
    assert "LINCAE_WEIGHTS_DIR" in page.locator("#lincae-models").inner_text()
    page.context.close()


def test_at_390px_the_page_does_not_overflow_and_the_table_is_not_a_small_scroll_box(browser, app_url):
    page = ready_page(browser, app_url, 390, 844)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    status = box(page, "#lincae-status")
    assert status["x"] >= 0 and status["x"] + status["width"] <= 390
    # The table may scroll sideways, but never hides rows in a box shorter than itself.
    wrap = page.evaluate("""() => { const w = document.querySelector('#lincae-player .lc-table-wrap');
        return {client: w.clientHeight, scroll: w.scrollHeight}; }""")
    assert wrap["client"] >= wrap["scroll"] - 1, wrap
    page.context.close()


BOLD_LABELS = ["#lincae-status strong", "#lincae-intro h1", "#lincae-player th .lc-model-name",
               "#lincae-player .lc-row-label"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_bold_labels_are_drawn_entirely_with_the_page_font(browser, app_url, scheme):
    """Gradio's bundled semi-bold face lacks most glyphs; every glyph of a bold label must come from the
    page's own font (one font, no fallback), as Chromium reports for the rendered text."""
    page = ready_page(browser, app_url, 1400, 900, scheme)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    for selector in BOLD_LABELS:
        weight = page.locator(selector).first.evaluate("e => getComputedStyle(e).fontWeight")
        assert int(weight) >= 600, selector
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        text = page.locator(selector).first.inner_text()
        # One font drew every glyph, and it is the page's own (a web font), not a system fallback.
        assert len(fonts) == 1 and fonts[0]["isCustomFont"], (selector, text, fonts)
        assert fonts[0]["familyName"].startswith("Source Sans"), (selector, text, fonts)
    page.context.close()


WORDS_ON_ONE_LINE = """(selector) => {
    const broken = [];
    for (const th of document.querySelectorAll(selector)) {
        const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.textContent.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (lines.size > 1) broken.push(m[0]);
            }
        }
    }
    return broken;
}"""


def test_table_headers_never_break_inside_a_word(browser, app_url):
    page = ready_page(browser, app_url, 1400, 900)
    page.locator("#lincae-models").get_by_text("Models").click()
    wait_for(page, "document.querySelectorAll('#lincae-models th').length > 0")
    assert page.evaluate(WORDS_ON_ONE_LINE, "#lincae-models th") == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(WORDS_ON_ONE_LINE, "#lincae-models th") == []
    page.context.close()
