"""The Web Audio player in a real browser, on a fixture track where every cell is a pure tone of its own
frequency (and 1.5× that frequency in the second half), so an AnalyserNode tells what is audible and where."""
from __future__ import annotations

from browser import dominant_frequency, open_page, run_js, served, state, wait_for  # noqa: I001

import gradio as gr
import numpy as np
import pytest

from lincae.models.base import ModelInfo
from lincae.rows import ROWS
from lincae.engine.cells import Cell, make_cell
from ui.player import player, player_value

RATE = 44100
DURATION = 3.0
HALF = DURATION / 2
MODELS = [
    ModelInfo("toy-linear", "Toy Linear", "toy", "test fixture", RATE, True, True, True),
    ModelInfo("toy-baseline", "Toy Baseline", "toy", "test fixture", RATE, True, False, True),
    ModelInfo("stable-audio-vae", "Stable Audio VAE", "oobleck", "test fixture", RATE, False, False, False,
              reason="needs an HF token (accept the licence, then set HF_TOKEN)"),
]
AVAILABLE = [m.name for m in MODELS if m.available]
MODEL_ROWS = [r.id for r in ROWS if not r.reference]
REFERENCE_ROWS = [r.id for r in ROWS if r.reference]
TOL_HZ = 25.0

# One base frequency per playable sound: model cells first, then the references.
FREQ: dict[tuple[str, str | None], float] = {}
for _k, (_row, _model) in enumerate([(r, m) for r in MODEL_ROWS for m in AVAILABLE] + [(r, None) for r in REFERENCE_ROWS]):
    FREQ[(_row, _model)] = 300.0 + 60.0 * _k


LOUD = ("scale_2_0", "toy-baseline")  # louder than full scale: stored scaled down, played at true level
LOUD_AMPLITUDE = 1.8
CEILING = 10 ** (-1 / 20)  # the limiter's ceiling, −1 dBFS


def tone(freq: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(DURATION * RATE)) / RATE
    f = np.where(t < HALF, freq, 1.5 * freq)
    return (amplitude * np.sin(2 * np.pi * np.cumsum(f) / RATE)).astype(np.float32)


def write(folder, audio: np.ndarray) -> Cell:
    return make_cell(audio, RATE, folder)


@pytest.fixture(scope="module")
def page_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cells")
    cells = {r: {m: write(folder, tone(FREQ[(r, m)], LOUD_AMPLITUDE if (r, m) == LOUD else 0.3)) for m in AVAILABLE}
             for r in MODEL_ROWS}
    reference = {r: write(folder, tone(FREQ[(r, None)])) for r in REFERENCE_ROWS}
    value = player_value(track_id="fixture", title="Fixture tones", duration=DURATION, models=MODELS, cells=cells,
                         reference=reference, try_first="sep_vocals")
    with gr.Blocks() as demo:
        gr.Textbox(label="Notes", elem_id="notes")
        player(value)
    with served(demo, allowed_paths=[str(folder)]) as url:
        yield url


@pytest.fixture
def page(browser, page_url):
    page, log = open_page(browser, page_url)
    wait_for(page, "window.lincaePlayer && window.lincaePlayer.loaded().total > 0")
    wait_for(page, "(() => { const l = window.lincaePlayer.loaded(); return l.decoded === l.total; })()")
    page.log = log
    yield page
    page.context.close()


def cell(page, row: str, model: str):
    return page.locator(f'td[data-row="{row}"][data-model="{model}"]')


def play(page, row: str, model: str) -> None:
    cell(page, row, model).click()
    wait_for(page, "window.lincaePlayer.state().playing && window.lincaePlayer.ctx.state === 'running'")


def expect_freq(page, expected: float) -> None:
    got = dominant_frequency(page)
    assert abs(got - expected) < TOL_HZ, f"audible {got:.0f} Hz, expected {expected:.0f} Hz"


def test_page_loads_offline_without_console_errors(page):
    page.wait_for_timeout(300)
    assert page.log.external_requests == []
    assert page.log.console_errors == []
    assert page.locator(".lc-warning").inner_text().lower().count("loud") == 1


def test_table_has_every_row_for_every_available_model(page):
    playable = page.locator('td.lc-cell[role="button"]')
    pairs = {(playable.nth(i).get_attribute("data-row"), playable.nth(i).get_attribute("data-model"))
             for i in range(playable.count())}
    assert pairs == {(r.id, m) for r in ROWS for m in AVAILABLE}
    assert page.locator("th.lc-model.lc-linear").get_attribute("data-model") == "toy-linear"
    assert page.locator("th.lc-linear .lc-badge").first.inner_text() == "linear"
    # Honest labels: where each model comes from is written under its name; nothing is called "ours".
    assert page.locator('th[data-model="toy-linear"] .lc-origin').inner_text() == "trained here, paper's recipe"
    assert page.locator('th[data-model="toy-baseline"] .lc-origin').inner_text() == "trained here, baseline recipe"
    assert "ours" not in page.locator(".lc-table").inner_text()
    assert page.locator(".lc-try").count() == 1
    assert page.locator('tr[data-row="sep_vocals"] .lc-try').inner_text() == "try this first"


def test_models_that_cannot_play_share_one_column_that_says_why_without_hover(page):
    assert page.locator('td.lc-cell[data-model="stable-audio-vae"]').count() == 0
    assert page.locator("th.lc-folded-head").inner_text() == "Not playable here"
    folded = page.locator('td.lc-folded li[data-model="stable-audio-vae"]')
    assert folded.inner_text() == "Stable Audio VAE\nneeds an HF token"  # the owners' how-to stays in the title
    assert folded.get_attribute("title") == MODELS[2].reason
    # The paper's colour for the Stable Audio VAE.
    assert folded.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(229, 62, 62)"
    folded.click()
    page.wait_for_timeout(100)
    assert state(page)["playing"] is False


def test_click_plays_and_click_again_pauses(page):
    play(page, "ae_mix", "toy-linear")
    first = state(page)["position"]
    page.wait_for_timeout(500)
    s = state(page)
    assert (s["row"], s["model"], s["playing"]) == ("ae_mix", "toy-linear", True)
    assert 0.3 < s["position"] - first < 1.4
    expect_freq(page, FREQ[("ae_mix", "toy-linear")])
    assert "lc-playing" in cell(page, "ae_mix", "toy-linear").get_attribute("class")
    cell(page, "ae_mix", "toy-linear").click()
    paused = state(page)
    page.wait_for_timeout(300)
    assert paused["playing"] is False and state(page)["position"] == paused["position"]


def test_reference_row_plays_the_original(page):
    play(page, "gt_vocals", "toy-baseline")
    expect_freq(page, FREQ[("gt_vocals", None)])


def test_sync_switch_keeps_position_and_changes_what_is_audible(page):
    play(page, "sep_vocals", "toy-linear")
    page.evaluate(f"() => window.lincaePlayer.seek({HALF + 0.1})")
    page.wait_for_timeout(200)
    before, after = run_js(page, """
        const p = window.lincaePlayer;
        const before = p.state().position;
        document.querySelector('td[data-row="sep_vocals"][data-model="toy-baseline"]').click();
        return [before, p.state().position];""")
    assert abs(after - before) < 0.1  # the switch is scheduled 20 ms ahead; more under load
    s = state(page)
    assert (s["model"], s["playing"], s["sync"]) == ("toy-baseline", True, True)
    assert HALF < s["position"] < DURATION
    # Second half of the new cell: proves the new source started at the carried position, not at 0.
    expect_freq(page, 1.5 * FREQ[("sep_vocals", "toy-baseline")])


def test_sync_off_restarts_new_cell_at_zero(page):
    page.locator(".lc-sync").click()
    assert state(page)["sync"] is False
    play(page, "ae_vocals", "toy-linear")
    page.wait_for_timeout(600)
    cell(page, "ae_vocals", "toy-baseline").click()
    s = state(page)
    assert s["model"] == "toy-baseline" and s["position"] < 0.25  # with Sync it would be past 0.6 s
    expect_freq(page, FREQ[("ae_vocals", "toy-baseline")])


def test_loop_wraps_gaplessly(page):
    play(page, "scale_0_5", "toy-linear")
    page.evaluate(f"() => window.lincaePlayer.seek({DURATION - 0.3})")
    # Only a wrap brings the position back under 1 s while still playing (without Loop it would stop).
    wait_for(page, "(() => { const s = window.lincaePlayer.state(); return s.playing && s.position < 1; })()",
             timeout_ms=3000)
    assert state(page)["loop"] is True
    expect_freq(page, FREQ[("scale_0_5", "toy-linear")])


def test_loop_off_stops_at_the_end(page):
    page.locator(".lc-loop").click()
    play(page, "scale_2_0", "toy-baseline")
    page.evaluate(f"() => window.lincaePlayer.seek({DURATION - 0.3})")
    wait_for(page, "!window.lincaePlayer.state().playing", timeout_ms=3000)
    assert state(page)["position"] == 0


def test_stop_all_resets_to_zero(page):
    play(page, "additivity", "toy-linear")
    page.wait_for_timeout(400)
    page.locator(".lc-stop").click()
    s = state(page)
    assert s["playing"] is False and s["position"] == 0
    page.wait_for_timeout(200)
    assert state(page)["position"] == 0


def test_only_one_sound_at_a_time(page):
    play(page, "ae_mix", "toy-linear")
    play(page, "ae_mix", "toy-baseline")
    sources = run_js(page, """
        const a = window.lincaePlayer.analyser;
        await new Promise(r => setTimeout(r, 200));
        a.smoothingTimeConstant = 0;
        const f = new Float32Array(a.frequencyBinCount);
        a.getFloatFrequencyData(f);
        const bin = hz => Math.round(hz * a.fftSize / a.context.sampleRate);
        return [f[bin(arg[0])], f[bin(arg[1])]];""", [FREQ[("ae_mix", "toy-linear")], FREQ[("ae_mix", "toy-baseline")]])
    old_db, new_db = sources
    assert new_db - old_db > 40, f"previous cell still audible: {old_db:.0f} dB vs {new_db:.0f} dB"


def test_waveform_click_seeks(page):
    play(page, "ae_mix", "toy-linear")
    box = page.locator(".lc-wave-mix").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    position = state(page)["position"]
    assert abs(position - 0.75 * DURATION) < 0.1
    assert "0:02." in page.locator(".lc-time").inner_text()


def test_dragging_on_the_cell_waveform_seeks_where_it_is_released(page):
    play(page, "ae_mix", "toy-linear")
    page.locator(".lc-stop").click()
    box = page.locator(".lc-wave-cell").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    shown = page.locator(".lc-time").inner_text().split("/")[0].strip()  # "m:ss.cc": the time follows the drag
    assert float(shown.split(":")[1]) == pytest.approx(0.5 * DURATION, abs=0.1)
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    s = state(page)
    assert s["playing"] is False and abs(s["position"] - 0.6 * DURATION) < 0.1


def test_keyboard_controls(page):
    page.locator(".lc-help").click()  # a click in the player gives it the keys
    page.keyboard.press("Space")
    wait_for(page, "window.lincaePlayer.state().playing")
    assert (state(page)["row"], state(page)["model"]) == ("gt_mix", "toy-linear")
    page.keyboard.press("ArrowDown")
    assert state(page)["row"] == "ae_mix"
    page.keyboard.press("2")
    assert state(page)["model"] == "toy-baseline"
    page.keyboard.press("3")  # the unavailable model: nothing changes
    assert state(page)["model"] == "toy-baseline"
    before = state(page)["position"]
    page.keyboard.press("ArrowRight")
    assert state(page)["position"] - before == pytest.approx(1.0, abs=0.1)
    page.keyboard.press("Space")
    assert state(page)["playing"] is False
    page.keyboard.press("s")
    assert state(page)["position"] == 0


def test_space_on_a_focused_cell_plays_that_cell(page):
    play(page, "ae_mix", "toy-linear")
    cell(page, "ae_vocals", "toy-baseline").focus()
    page.keyboard.press("Space")
    wait_for(page, "window.lincaePlayer.state().model === 'toy-baseline'")
    s = state(page)
    assert (s["row"], s["model"], s["playing"]) == ("ae_vocals", "toy-baseline", True)
    page.keyboard.press("Space")  # the focused cell is now the playing one: Space pauses it
    assert state(page)["playing"] is False


def test_space_after_clicking_a_checkbox_plays_instead_of_toggling_it_again(page):
    page.locator(".lc-loop").click()
    assert state(page)["loop"] is False
    page.keyboard.press("Space")
    wait_for(page, "window.lincaePlayer.state().playing")
    assert state(page)["loop"] is False
    page.keyboard.press("Space")
    assert state(page)["playing"] is False


def test_a_focused_form_control_keeps_its_keys(page):
    box = page.locator("#notes textarea, #notes input").first
    box.click()
    page.keyboard.type("a b")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowDown")
    assert box.input_value() == "a b"
    assert state(page)["playing"] is False and state(page)["row"] is None


def test_space_and_arrows_scroll_the_page_when_the_player_does_not_have_the_focus(browser, page_url):
    page, _ = open_page(browser, page_url, viewport={"width": 900, "height": 300})
    try:
        wait_for(page, "window.lincaePlayer && window.lincaePlayer.loaded().total > 0")
        page.mouse.move(890, 5)  # the pointer outside the player, nothing focused
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("Space")
        wait_for(page, "window.scrollY > 0", timeout_ms=3000)
        page.keyboard.press("ArrowDown")
        assert state(page)["playing"] is False and state(page)["row"] is None
    finally:
        page.context.close()


def test_volume_defaults_and_changes(page):
    assert float(page.locator(".lc-volume").input_value()) == pytest.approx(0.8)
    play(page, "ae_mix", "toy-linear")
    page.locator(".lc-volume").fill("0.2")
    assert page.evaluate("() => window.lincaePlayer.volume") == pytest.approx(0.2)
    assert page.evaluate("() => window.lincaePlayer.limiterOn") is True


def output_peak(page) -> float:
    return run_js(page, """
        const a = window.lincaePlayer.analyser;
        await new Promise(r => setTimeout(r, 300));
        const x = new Float32Array(a.fftSize);
        let top = 0;
        for (let k = 0; k < 5; k++) {
            a.getFloatTimeDomainData(x);
            for (const v of x) top = Math.max(top, Math.abs(v));
            await new Promise(r => setTimeout(r, 30));
        }
        return top;""")


def test_loud_cell_plays_at_true_level_without_the_limiter_and_under_the_ceiling_with_it(page):
    page.locator(".lc-volume").fill("1")
    page.locator(".lc-limiter").click()
    assert page.evaluate("() => window.lincaePlayer.limiterOn") is False
    play(page, *LOUD)
    assert output_peak(page) == pytest.approx(LOUD_AMPLITUDE, abs=0.05)
    page.locator(".lc-limiter").click()
    assert output_peak(page) <= CEILING
    play(page, "ae_mix", "toy-linear")  # a cell under the ceiling: the limiter leaves it alone
    assert output_peak(page) == pytest.approx(0.3, abs=0.01)


def test_volume_scales_a_loud_cell_under_the_limiter(page):
    play(page, *LOUD)
    page.locator(".lc-volume").fill("0.8")
    loud = output_peak(page)
    page.locator(".lc-volume").fill("0.1")
    quiet = output_peak(page)
    assert loud <= CEILING
    assert 20 * np.log10(loud / quiet) == pytest.approx(20 * np.log10(8), abs=0.5)


def contrast(locator) -> float:
    """WCAG contrast of an element's text against what is behind it (translucent colours composited)."""
    return locator.evaluate("""e => {
        const parse = (s) => {
            const v = s.match(/[\\d.]+/g).map(Number);
            const rgb = s.startsWith('color(') ? v.slice(0, 3).map(x => x * 255) : v.slice(0, 3);
            return [...rgb, v.length > 3 ? v[3] : 1];
        };
        const over = (top, base) => top.slice(0, 3).map((c, i) => c * top[3] + base[i] * (1 - top[3])).concat(1);
        const layers = [];
        for (let n = e; n; n = n.parentElement) {
            const c = parse(getComputedStyle(n).backgroundColor);
            if (c[3] > 0) layers.push(c);
            if (c[3] >= 0.999) break;
        }
        let bg = [255, 255, 255, 1];
        for (const c of layers.reverse()) bg = over(c, bg);
        const fg = over(parse(getComputedStyle(e).color), bg);
        const lum = (c) => c.slice(0, 3).map(v => v / 255)
            .map(v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4))
            .reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
        const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
    }""")


@pytest.mark.parametrize("scheme,width", [("dark", 1280), ("light", 390)])
def test_dark_mode_and_narrow_screen_are_usable(browser, page_url, scheme, width):
    page, log = open_page(browser, page_url + ("/?__theme=dark" if scheme == "dark" else ""),
                          color_scheme=scheme, viewport={"width": width, "height": 800})
    try:
        wait_for(page, "window.lincaePlayer && document.querySelector('td.lc-cell')")
        label = page.locator(".lc-row-label").first
        rgb = [int(v) for v in label.evaluate("e => getComputedStyle(e).color").strip("rgba() ").split(",")[:3]]
        luminance = sum(rgb) / 3
        assert (luminance > 150) if scheme == "dark" else (luminance < 110)
        for selector in (".lc-badge", ".lc-origin", ".lc-try", ".lc-row-label", ".lc-folded-reason"):
            assert contrast(page.locator(selector).first) >= 4.5, (scheme, selector)
        # Icons are drawn, not glyphs from a symbol or emoji font.
        assert page.locator(".lc-icon").first.evaluate("e => e.textContent + getComputedStyle(e, '::before').content") \
            in ("none", "")
        cell(page, "sep_vocals", "toy-baseline").click()
        label = page.locator(".lc-wave-cell").locator("xpath=..").locator(".lc-wave-label")
        assert label.inner_text() == "Separated Vocals · Toy Baseline"
        assert label.evaluate("e => e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().right "
                              "<= e.parentElement.getBoundingClientRect().right + 1")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        cell(page, "ae_mix", "toy-linear").scroll_into_view_if_needed()
        cell(page, "ae_mix", "toy-linear").click()
        wait_for(page, "window.lincaePlayer.state().playing")
        assert log.console_errors == []
    finally:
        page.context.close()

