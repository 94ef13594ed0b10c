"""The latent mixer and the analysis view in a real browser: a second player that plays latent mixes (one sound on
the page at a time, keys follow the player last used), new gains heard in place, the analysis tab's table and plots.

Every stem of the test track is a pure tone (vocals 440 Hz, other 660 Hz, …) and the "linear" model is exactly
linear, so an AnalyserNode tells which mix is audible."""
from __future__ import annotations

from browser import chromium, open_page, run_js, served, state, wait_for  # noqa: I001

import pytest

from engine_fakes import IdentityAE
from lincae.data.library import TrackInfo
from lincae.rows import STEMS
from test_app import page_builder
from ui.layout import build_demo

TRACKS = [TrackInfo("t1", "First test track", "tests", "CC0")]
MIXER = "window.lincaePlayers.mixer"
TOL_HZ = 25.0


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixer")
    builder = page_builder(tmp, IdentityAE("linear"))
    with served(build_demo(builder, TRACKS), allowed_paths=[str(builder.cells_dir)]) as url:
        yield url


@pytest.fixture(scope="module")
def page(app_url):
    with chromium() as browser:
        page, log = open_page(browser, app_url)
        wait_for(page, "document.querySelector('#lincae-status')?.innerText.includes('Ready')", timeout_ms=30_000)
        wait_for(page, "document.querySelector('#lincae-mix-status')?.innerText.includes('Mixed')", timeout_ms=30_000)
        page.log = log
        yield page


def mixer_state(page) -> dict:
    return page.evaluate(f"{MIXER}.state()")


def audible(page) -> float:
    """Dominant frequency (Hz) after the mixer's master output."""
    return run_js(page, f"""const a = {MIXER}.analyser;
        a.smoothingTimeConstant = 0;
        await new Promise(r => setTimeout(r, 200));
        const f = new Float32Array(a.frequencyBinCount);
        a.getFloatFrequencyData(f);
        let best = 1;
        for (let i = 1; i < f.length; i++) if (f[i] > f[best]) best = i;
        return best * a.context.sampleRate / a.fftSize;""")


def set_gains(page, **gains: float) -> None:
    for stem in STEMS:
        box = page.locator(f"#lincae-mix-{stem} input[type=number]")
        box.fill(str(gains.get(stem, 0.0)))
    page.locator("#lincae-mix-button").click()


def mixed(page, formula: str) -> None:
    """Wait until every model has mixed the latents as `formula` says."""
    wait_for(page, f"{MIXER}.data.rows[1].formula === arg && "
             "document.querySelector('#lincae-mix-status').innerText.startsWith('Mixed')", arg=formula,
             timeout_ms=30_000)


def test_the_mixer_has_the_waveform_mix_and_a_latent_mix_per_model(page):
    cells = page.locator('#lincae-mixer td.lc-cell[role="button"]')
    pairs = {(cells.nth(i).get_attribute("data-row"), cells.nth(i).get_attribute("data-model"))
             for i in range(cells.count())}
    assert pairs == {(r, m) for r in ("gt_mix", "latent_mix") for m in ("linear", "noisy")}
    assert "needs an HF token" in page.locator('#lincae-mixer td.lc-folded li[data-model="gated"]').inner_text()
    assert "spectral SNR" in page.locator("#lincae-mix-scores").inner_text()
    assert page.log.external_requests == [] and page.log.console_errors == []


def test_new_gains_are_heard_in_place_while_playing(page):
    set_gains(page, vocals=1.0)
    mixed(page, "Dec(1·z_vocals)")
    page.locator('#lincae-mixer td[data-row="latent_mix"][data-model="linear"]').click()
    wait_for(page, f"{MIXER}.state().playing && {MIXER}.ctx.state === 'running'")
    assert abs(audible(page) - 440) < TOL_HZ
    set_gains(page, other=1.5)
    mixed(page, "Dec(1.5·z_other)")
    wait_for(page, f"{MIXER}.voice && {MIXER}.voice.url === {MIXER}.urlFor('latent_mix', 'linear')")
    s = mixer_state(page)
    assert s["playing"] and (s["row"], s["model"]) == ("latent_mix", "linear")
    assert abs(audible(page) - 660) < TOL_HZ


def test_one_sound_on_the_page_and_keys_follow_the_player_last_used(page):
    page.locator('#lincae-mixer td[data-row="gt_mix"][data-model="noisy"]').click()
    wait_for(page, f"{MIXER}.state().playing")
    page.locator('#lincae-player td[data-row="ae_mix"][data-model="linear"]').click()
    wait_for(page, "window.lincaePlayer.state().playing")
    assert mixer_state(page)["playing"] is False  # the table took over
    page.keyboard.press("Space")
    wait_for(page, "!window.lincaePlayer.state().playing")
    assert mixer_state(page)["playing"] is False
    page.locator('#lincae-mixer td[data-row="gt_mix"][data-model="noisy"]').click()
    wait_for(page, f"{MIXER}.state().playing")
    assert state(page)["playing"] is False
    page.keyboard.press("Space")  # now the mixer is the one the keys drive
    wait_for(page, f"!{MIXER}.state().playing")
    assert state(page)["playing"] is False


def test_the_analysis_tab_shows_metrics_and_plots(page):
    page.get_by_role("tab", name="Analysis").click()
    wait_for(page, "document.querySelector('#lincae-analysis-status')?.innerText.includes('Analysed 2 model')",
             timeout_ms=60_000)
    wait_for(page, "['Linear', 'Noisy'].every(m => document.querySelector('#lincae-metrics').innerText.includes(m))")
    assert "Separation SNR (dB)" in page.locator("#lincae-metrics").inner_text()
    for plot in ("#lincae-homogeneity", "#lincae-additivity", "#lincae-spectrogram"):
        wait_for(page, f"document.querySelector('{plot} img')?.naturalWidth > 0", timeout_ms=30_000)
        # Nothing drawn over the figure (Gradio's label badge covered the title and the top axis numbers).
        covering = page.evaluate("""(plot) => {
            const img = document.querySelector(`${plot} img`).getBoundingClientRect();
            return [...document.querySelectorAll(`${plot} [data-testid="block-label"]`)].filter(e => {
                const b = e.getBoundingClientRect();
                return b.width > 0 && b.left < img.right && b.right > img.left && b.top < img.bottom && b.bottom > img.top;
            }).map(e => e.innerText); }""", plot)
        assert covering == [], (plot, covering)
    assert page.get_by_text("Good: a flat line high up").count() == 1
    assert page.log.console_errors == []


def test_a_gain_typed_then_enter_or_moved_with_the_keys_is_what_plays(page):
    """What plays is what the sliders show, however the gain was changed."""
    page.get_by_role("tab", name="Latent mixer").click()
    set_gains(page, vocals=1.0)
    mixed(page, "Dec(1·z_vocals)")
    number = page.locator("#lincae-mix-other input[type=number]")
    number.fill("0.5")
    number.press("Enter")
    mixed(page, "Dec(1·z_vocals + 0.5·z_other)")
    slider = page.locator("#lincae-mix-other input[type=range]")
    slider.focus()
    slider.press("ArrowRight")  # one step of 0.05
    mixed(page, "Dec(1·z_vocals + 0.55·z_other)")
    assert page.locator("#lincae-mix-other input[type=number]").input_value() == "0.55"


def test_a_file_both_players_show_is_fetched_once(page, app_url):
    """The mixer's first mix (every gain 1) is the table's Latent Addition and its waveform mix the original mix:
    the page fetches and decodes those files once for both players."""
    other = page.context.browser.new_page()
    fetched: list[str] = []
    other.on("request", lambda r: fetched.append(r.url) if ".wav" in r.url else None)
    other.goto(app_url)
    both = [f"window.lincaePlayers.{p}" for p in ("table", "mixer")]
    wait_for(other, "window.lincaePlayers && " + " && ".join(f"{p} && {p}.data && {p}.loaded().total && {p}.loaded().decoded === {p}.loaded().total"
                                for p in both), timeout_ms=30_000)
    table = other.evaluate("window.lincaePlayers.table.data")
    mixer = other.evaluate("window.lincaePlayers.mixer.data")
    assert mixer["cells"]["latent_mix"]["linear"]["url"] == table["cells"]["additivity"]["linear"]["url"]
    assert mixer["reference"]["gt_mix"]["url"] == table["reference"]["gt_mix"]["url"]
    assert fetched and len(fetched) == len(set(fetched))
    other.close()
