"""A listening test in a real browser: the presenter designs it, two raters rate its three trials blind, the results
view (open on the presenter's screen, updating itself) shows post-screened means and 95 % intervals.

The test knows which letter hides which condition for a rater from the library's `presentation` and the rater id
the page shows; it checks that the letter the rater rates as the hidden reference really plays the reference."""
from __future__ import annotations

from browser import chromium, open_page, served, wait_for  # noqa: I001

import math
import re
import sqlite3

import pytest

from engine_fakes import IdentityAE
from lincae.data.library import TrackInfo
from lincae.listening import HIDDEN_REFERENCE, Design, ListeningStore, presentation
from lincae.rows import ROWS
from lincae.settings import Settings
from test_app import page_builder
from ui.layout import build_demo

TRACKS = [TrackInfo("t1", "First test track", "tests", "CC0")]
ROW_LABEL = {r.id: r.label for r in ROWS}
NAMES = {"linear": "Linear", "noisy": "Noisy", HIDDEN_REFERENCE: "Hidden reference", "anchor_3_5k": "Anchor 3.5 kHz",
         "anchor_7k": "Anchor 7 kHz"}
T975_DF1 = 12.7062  # Student's t, 97.5 % quantile, 1 degree of freedom (printed tables)
# Scores per condition for design trials 0, 1, 2 (rows ae_mix, additivity, sep_vocals of the one track).
CAREFUL = {"linear": [85, 75, 90], "noisy": [40, 35, 20], HIDDEN_REFERENCE: [100, 100, 100],
           "anchor_3_5k": [10, 15, 5], "anchor_7k": [30, 35, 25]}
CARELESS = {"linear": [70, 60, 80], "noisy": [50, 45, 30], HIDDEN_REFERENCE: [50, 95, 100],  # misses it once
            "anchor_3_5k": [20, 10, 0], "anchor_7k": [40, 45, 35]}
HEADER = "document.querySelector('#lincae-listen-header')?.innerText || ''"
LISTENING = "window.lincaePlayers.listening"


class Quieter(IdentityAE):
    """Linear, but 2 dB down: unlike the identity, never plays exactly the reference."""

    def decode(self, z, length, seed=None):
        return 0.8 * super().decode(z, length, seed)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("listening")
    builder = page_builder(tmp, Quieter("linear"))
    db = tmp / "ratings.sqlite"
    demo = build_demo(builder, TRACKS, Settings(listening_db=db))
    with served(demo, allowed_paths=[str(builder.cells_dir)]) as url, chromium() as browser:
        yield url, browser, ListeningStore(db)


def create_test(page) -> tuple[str, str, str]:
    """Design a test with the defaults; returns its id and the raters' and results links."""
    page.get_by_role("tab", name="Listening test").click()
    page.locator("#lincae-listen-design").get_by_text("Design a test").click()
    page.locator("#lincae-listen-create").click()
    wait_for(page, "document.querySelector('#lincae-listen-design-status')?.innerText.includes('is ready')",
             timeout_ms=60_000)
    status = page.locator("#lincae-listen-design-status")
    test_id = re.search(r"Test (\w+) is ready \(3 trials\)", status.inner_text()).group(1)
    links = [a.get_attribute("href") for a in status.locator("a").all()]
    return test_id, links[0], links[1]


def rate_every_trial(browser, link: str, test_id: str, design, scores: dict[str, list[int]]) -> str:
    """Open the raters' link in a fresh browser profile and rate every trial; returns the page's rater id."""
    page, log = open_page(browser, link)
    wait_for(page, f"{HEADER}.includes('Trial 1 of 3')", timeout_ms=60_000)
    note = wait_for(page, "document.querySelector('#lincae-listen-rater')?.innerText.includes('rater id') && "
                    "document.querySelector('#lincae-listen-rater').innerText")
    rater = re.search(r"rater id: (\w+)", note).group(1)
    for position, shown in enumerate(presentation(test_id, rater, design), start=1):
        row = shown.trial.row
        wait_for(page, f"{HEADER}.includes(arg) && {LISTENING}.data?.rows[0].label === 'Trial {position} of 3'",
                 arg=f"Trial {position} of 3: {ROW_LABEL[row]}", timeout_ms=30_000)
        cells = page.evaluate(f"{LISTENING}.data.cells")[row]
        by_label = shown.by_label()
        assert sorted(cells) == sorted(["reference", *by_label])  # the player offers Reference, A, B, C, D, E
        for label, condition in by_label.items():  # only the hidden reference plays the reference's audio
            assert (cells[label]["url"] == cells["reference"]["url"]) == (condition == HIDDEN_REFERENCE)
            page.locator(f"#lincae-listen-score-{label} input[type=number]").fill(
                str(scores[condition][shown.trial.index]))
        page.locator("#lincae-listen-submit").click()
        wait_for(page, "document.querySelector('#lincae-listen-message')?.innerText.includes(arg)",
                 arg=f"Saved 5 ratings of trial {position} of 3.")
    wait_for(page, f"{HEADER}.includes('All 3 trials rated')", timeout_ms=30_000)
    assert log.external_requests == [] and log.console_errors == []
    page.reload()  # the browser keeps its rater id: nothing left to rate
    wait_for(page, f"{HEADER}.includes('All 3 trials rated')", timeout_ms=60_000)
    page.context.close()
    return rater


def summary_table(page) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(row label, condition name) → (mean, 95 % CI, raters) as the results view shows them."""
    lines = page.locator("#lincae-listen-summary table tbody tr").all()
    out = {}
    for line in lines:
        cells = [c.inner_text().strip() for c in line.locator("td").all()]
        out[(cells[0], cells[1])] = (cells[2], cells[3], cells[4])
    return out


def expected(scores_by_rater: list[dict[str, list[int]]]) -> dict[tuple[str, str], tuple[str, str, str]]:
    """The hand computation: mean and t-interval of each condition's scores over the raters, per trial."""
    out = {}
    for trial, row in enumerate(("ae_mix", "additivity", "sep_vocals")):
        for condition, name in NAMES.items():
            values = [s[condition][trial] for s in scores_by_rater]
            n = len(values)
            mean = sum(values) / n
            if n == 1:
                ci = "—"
            else:
                assert n == 2
                half = T975_DF1 * math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) / math.sqrt(n)
                ci = f"± {half:.1f} ({mean - half:.1f} – {mean + half:.1f})"
            out[(ROW_LABEL[row], name)] = (f"{mean:.1f}", ci, str(n))
    return out


def test_two_raters_a_presenter_and_the_results(app):
    url, browser, store = app
    presenter, log = open_page(browser, url)
    test_id, raters_link, results_link = create_test(presenter)
    assert raters_link.endswith(f"/?test={test_id}") and results_link.endswith(f"/?test={test_id}&view=results")
    design = store.design(test_id)
    assert (design.tracks, design.rows, design.models) == (("t1",), ("ae_mix", "additivity", "sep_vocals"),
                                                           ("linear", "noisy"))

    careful = rate_every_trial(browser, raters_link, test_id, design, CAREFUL)
    projector, _ = open_page(browser, results_link)  # presenter mode: the results, updating themselves
    wait_for(projector, "document.querySelector('#lincae-listen-summary table')", timeout_ms=60_000)
    assert "Trial" not in projector.locator("#lincae-listen-header").inner_text()  # the projector does not rate
    assert projector.locator("#lincae-listen-auto input").is_checked()
    assert summary_table(projector) == expected([CAREFUL])
    careless = rate_every_trial(browser, raters_link, test_id, design, CARELESS)
    assert careful != careless

    # The database holds exactly the two raters' ratings: 3 trials × 5 conditions each.
    db = sqlite3.connect(store.path)
    rows = db.execute("SELECT rater_id, trial, condition, label, score FROM ratings").fetchall()
    want = set()
    for rater, scores in ((careful, CAREFUL), (careless, CARELESS)):
        for shown in presentation(test_id, rater, design):
            want |= {(rater, shown.trial.index, c, label, float(scores[c][shown.trial.index]))
                     for label, c in shown.by_label().items()}
    assert len(rows) == 30 and set(rows) == want

    # The projector's timer brings the second rater in; post-screening excludes them (hidden reference at 50).
    wait_for(projector, "document.querySelector('#lincae-listen-raters')?.innerText.includes(arg)",
             arg=f"{careless} — 3 trial(s) rated", timeout_ms=30_000)
    raters = projector.locator("#lincae-listen-raters").inner_text()
    assert "Raters: 1 included of 2" in raters
    assert f"{careless} — 3 trial(s) rated, excluded: hidden reference below 90 in 1 of 3 trials" in raters
    assert f"{careful} — 3 trial(s) rated, included" in raters
    assert summary_table(projector) == expected([CAREFUL])
    projector.locator("#lincae-listen-screening input").uncheck()
    wait_for(projector, "document.querySelector('#lincae-listen-raters')?.innerText.includes('2 included of 2')",
             timeout_ms=30_000)
    assert summary_table(projector) == expected([CAREFUL, CARELESS])
    wait_for(projector, "document.querySelector('#lincae-listen-plot img')?.naturalWidth > 0", timeout_ms=30_000)
    files = projector.locator("#lincae-listen-csv").inner_text().replace("\n", "")
    assert f"{test_id}-ratings.csv" in files and f"{test_id}-summary.csv" in files
    assert log.external_requests == [] and log.console_errors == []


def test_the_trial_player_switches_between_reference_and_conditions_in_sync(app):
    url, browser, store = app
    test_id = store.create_test(Design(("t1",), ("ae_mix", "additivity", "sep_vocals"), ("linear", "noisy")))
    page, log = open_page(browser, f"{url}/?test={test_id}")
    wait_for(page, f"{HEADER}.includes('Trial 1 of 3')", timeout_ms=60_000)
    page.locator('#lincae-listen-player td[data-model="A"]').click()
    wait_for(page, f"{LISTENING}.state().playing && {LISTENING}.state().position > 0.3")
    page.keyboard.press("1")  # key 1: the open reference, at the same position
    state = page.evaluate(f"{LISTENING}.state()")
    assert state["playing"] and state["model"] == "reference" and state["sync"] and state["loop"]
    assert state["position"] > 0.3
    page.keyboard.press("s")
    assert log.console_errors == []


def test_unknown_tests_and_tests_without_playable_models_get_a_message(app):
    url, browser, _ = app
    page, _ = open_page(browser, f"{url}/?test=nosuchid")
    wait_for(page, "document.querySelector('#lincae-listen-message')?.innerText.includes(\"no listening test\")",
             timeout_ms=60_000)
    assert page.locator("#lincae-listen-submit").is_disabled()
    page.get_by_role("tab", name="Listening test").click()  # already open: the link opened it
    page.locator("#lincae-listen-design").get_by_text("Design a test").click()
    for name in ("Linear", "Noisy"):
        page.locator("#lincae-listen-models").get_by_label(name).uncheck()
    page.locator("#lincae-listen-create").click()
    wait_for(page, "document.querySelector('#lincae-listen-design-status')?.innerText.includes('no playable model')")

