"""Hearing safety in a real browser: the loudest output the page can produce — the embedded baseline decoding the
latent mixer's largest gains — stays under the −1 dBFS ceiling with the limiter on, across crossfades, and the
Volume control scales what is heard.

Every output sample is checked: a ScriptProcessor taps the player's final node (the AnalyserNode that feeds the
speakers)."""
from __future__ import annotations

from browser import chromium, open_page, run_js, served, wait_for  # noqa: I001

import math

import pytest

from lincae import registry
from lincae.data.library import TrackInfo
from lincae.engine import Engine
from lincae.limits import COEFFICIENT_LIMIT
from lincae.rows import STEMS
from offline import go_offline
from test_app import make_track
from ui.layout import build_demo
from ui.tables import TableBuilder

CEILING = 10 ** (-1 / 20)  # −1 dBFS
BASELINE = "demo-ae"
MIXER = "window.lincaePlayers.mixer"
pytestmark = pytest.mark.skipif(not (registry.EMBEDDED_DIR / f"{BASELINE}.pt").is_file(),
                                reason="the embedded baseline checkpoint is not in assets/models")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("safety")
    with pytest.MonkeyPatch.context() as mp:
        go_offline(mp, tmp)
        models = [m for m in registry.list_models() if m.embedded and m.available]
        engine = Engine(device="cpu", cache_dir=tmp / "cache")
        builder = TableBuilder(engine, models, {"t1": make_track("t1", 2.0)}.__getitem__, cells_dir=tmp / "cells")
        tracks = [TrackInfo("t1", "Test tones", "tests", "CC0")]
        with served(build_demo(builder, tracks), allowed_paths=[str(builder.cells_dir)]) as url, \
                chromium() as browser:
            page, log = open_page(browser, url)
            wait_for(page, "document.querySelector('#lincae-mix-status')?.innerText.includes('Mixed')",
                     timeout_ms=120_000)
            page.log = log
            yield page


def loudest_mix(page) -> float:
    """Every stem at the mixer's largest gain, times its largest scale; returns the scale used."""
    gain = 0.0
    for stem in STEMS:
        box = page.locator(f"#lincae-mix-{stem} input[type=number]")
        gain = float(box.get_attribute("max"))
        box.fill(f"{gain:g}")
    scale_box = page.locator("#lincae-mix-scale input")
    # The largest scale the mixer accepts: its own maximum, or what keeps every coefficient within the limit.
    scale = float(scale_box.get_attribute("max") or COEFFICIENT_LIMIT / gain)
    scale_box.fill(f"{scale:g}")
    page.locator("#lincae-mix-button").click()
    wait_for(page, f"{MIXER}.data.rows[1].formula.includes(arg) && "
             "document.querySelector('#lincae-mix-status').innerText.startsWith('Mixed')",
             arg=f"{gain * scale:g}·z_vocals", timeout_ms=60_000)
    return scale


def measure(page, ms: int, switch_every_ms: int = 0) -> dict:
    """Peak and RMS of every sample the mixer's player sends to the speakers for `ms` milliseconds; with
    `switch_every_ms`, it switches back and forth between the baseline's latent mix and the waveform mix meanwhile."""
    return run_js(page, f"""
        const p = {MIXER};
        const tap = p.ctx.createScriptProcessor(2048, 1, 1);
        let top = 0, sum = 0, n = 0;
        tap.onaudioprocess = (e) => {{
            for (const v of e.inputBuffer.getChannelData(0)) {{ top = Math.max(top, Math.abs(v)); sum += v * v; n++; }}
        }};
        p.analyser.connect(tap);
        tap.connect(p.ctx.destination);
        const cells = [['latent_mix', '{BASELINE}'], ['gt_mix', '{BASELINE}']];
        const t0 = performance.now();
        let k = 0;
        while (performance.now() - t0 < {ms}) {{
            await new Promise(r => setTimeout(r, {switch_every_ms} || 50));
            if ({switch_every_ms}) p.play(...cells[++k % 2]);
        }}
        p.analyser.disconnect(tap);
        tap.disconnect();
        return {{peak: top, rms: Math.sqrt(sum / Math.max(1, n)), samples: n}};""", timeout_ms=ms + 10_000)


def db(x: float) -> float:
    return 20 * math.log10(max(x, 1e-12))


def test_the_loudest_reachable_output_stays_under_the_ceiling_and_volume_scales_it(page):
    scale = loudest_mix(page)
    page.locator(f'#lincae-mixer td[data-row="latent_mix"][data-model="{BASELINE}"]').click()
    wait_for(page, f"{MIXER}.state().playing && {MIXER}.ctx.state === 'running'")
    assert page.evaluate(f"{MIXER}.limiterOn") is True
    volume = page.locator("#lincae-mixer .lc-volume")
    volume.fill("1")
    full = measure(page, 1500)
    assert full["samples"] > 40_000
    assert full["peak"] <= CEILING, f"peak {db(full['peak']):.2f} dBFS at volume 1"
    switching = measure(page, 1500, switch_every_ms=90)  # crossfades overlap two loud voices
    assert switching["peak"] <= CEILING, f"peak {db(switching['peak']):.2f} dBFS while switching"
    page.evaluate(f"{MIXER}.play('latent_mix', '{BASELINE}')")
    volume.fill("0.8")
    loud = measure(page, 1500)
    volume.fill("0.1")
    page.wait_for_timeout(200)
    quiet = measure(page, 1500)
    assert loud["peak"] <= CEILING
    assert db(loud["rms"]) - db(quiet["rms"]) >= 15, (loud, quiet)
    assert db(loud["peak"]) - db(quiet["peak"]) >= 15, (loud, quiet)
    print(f"scale {scale:g}: peak {db(full['peak']):.2f} dBFS at volume 1, {db(switching['peak']):.2f} while "
          f"switching; volume 0.8 → 0.1: RMS {db(loud['rms']):.1f} → {db(quiet['rms']):.1f} dBFS")
    assert page.log.console_errors == []
