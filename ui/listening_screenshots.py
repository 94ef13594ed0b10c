"""Screenshots of the Listening test tab for the README: a trial, and the results view.

    python -m ui.listening_screenshots [--out docs] [--all-models]

Starts the app (app.py's engine, models and tracks) in this process with a fresh listening database, designs a test with the designer's defaults,
and fills it with random scores from simulated raters (one of whom misses the hidden reference, to show
post-screening): the results screenshot shows the view, not a finding. Needs Playwright and Debian's chromium.
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import re
import runpy
import shutil
import tempfile
from pathlib import Path

from lincae.listening import HIDDEN_REFERENCE, ListeningStore, presentation

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SIMULATED_RATERS = 6


def simulate_ratings(store: ListeningStore, test_id: str, seed: int = 0) -> None:
    """Random scores (no model is favoured); the last rater scores the hidden reference at 50 half the time."""
    rng = random.Random(seed)
    design = store.design(test_id)
    for i in range(SIMULATED_RATERS):
        rater = f"simulated-{i + 1}"
        for shown in presentation(test_id, rater, design):
            scores = {c: float(rng.randint(10, 90)) for c in design.conditions}
            scores[HIDDEN_REFERENCE] = 50.0 if i == SIMULATED_RATERS - 1 and rng.random() < 0.5 else 100.0
            store.submit(test_id, rater, shown.trial.index, scores)


def capture(url: str, store: ListeningStore, out: Path, skip_models: list[str], timeout_s: float = 900) -> list[Path]:
    """`skip_models`: display names of models to leave out of the test (those whose weights are not here)."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "listening-trial.png", out / "listening-results.png"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/?__theme=light")
        page.get_by_role("tab", name="Listening test").click()
        page.locator("#lincae-listen-design").get_by_text("Design a test").click()
        for name in skip_models:
            page.locator("#lincae-listen-models").get_by_label(name, exact=True).uncheck()
        page.locator("#lincae-listen-create").click()
        page.wait_for_function("document.querySelector('#lincae-listen-design-status')?.innerText"
                               ".includes('is ready')", timeout=timeout_s * 1000)
        test_id = re.search(r"Test (\w+) is ready", page.locator("#lincae-listen-design-status").inner_text()).group(1)
        page.close()

        rater = browser.new_page(viewport={"width": 1280, "height": 900})
        rater.goto(f"{url}/?test={test_id}&__theme=light")
        rater.wait_for_function("document.querySelector('#lincae-listen-header')?.innerText.includes('Trial 1')",
                                timeout=timeout_s * 1000)
        rater.wait_for_function("(() => { const l = window.lincaePlayers.listening?.loaded(); "
                                "return l && l.total > 0 && l.decoded === l.total; })()", timeout=60_000)
        for label, score in zip("ABC", (72, 100, 35)):
            rater.locator(f"#lincae-listen-score-{label} input[type=number]").fill(str(score))
        rater.locator('#lincae-listen-player td[data-model="B"]').click()
        rater.wait_for_timeout(1500)
        rater.locator('[role="tabpanel"]:visible').first.screenshot(path=str(paths[0]))
        rater.close()

        simulate_ratings(store, test_id)
        projector = browser.new_page(viewport={"width": 1280, "height": 900})
        projector.goto(f"{url}/?test={test_id}&view=results&__theme=light")
        projector.wait_for_function("document.querySelector('#lincae-listen-plot img')?.naturalWidth > 0",
                                    timeout=timeout_s * 1000)
        projector.wait_for_timeout(500)
        projector.locator("#lincae-listen-results").screenshot(path=str(paths[1]))
        browser.close()
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ui.listening_screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--all-models", action="store_true", help="every playable model (default: the embedded ones)")
    args = parser.parse_args(argv)
    from ui.layout import build_demo
    from ui.screenshots import launched

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "listening.sqlite"
        app = runpy.run_path(str(ROOT / "app.py"), run_name="app")
        demo = build_demo(app["builder"], app["tracks"], dataclasses.replace(app["settings"], listening_db=db))
        with launched(demo, app["builder"].cells_dir) as url:
            embedded_only = [m.display_name for m in app["builder"].model_infos() if m.available and not m.embedded
                             and not args.all_models]
            paths = capture(url, ListeningStore(db), args.out, embedded_only)
    for p in paths:
        print(p)


if __name__ == "__main__":
    main()
