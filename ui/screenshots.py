"""Screenshots of the app for the docs: the page in light and dark (1400×900) and on a phone (390 px wide), the
latent mixer and the analysis view.

    python -m ui.screenshots [--url http://127.0.0.1:7860] [--out docs]

Without --url the app (app.py) is started in this process. Needs Playwright and Debian's chromium.
"""
from __future__ import annotations

import argparse
import runpy
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ui.mixer import coefficients, mix_rows

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
READY = "document.querySelector('#lincae-status')?.innerText.includes('Ready')"
DECODED = "(() => { const l = window.lincaePlayer?.loaded(); return l && l.total > 0 && l.decoded === l.total; })()"
MIXED = "document.querySelector('#lincae-mix-status')?.innerText.startsWith('Mixed')"
ANALYSED = "document.querySelector('#lincae-analysis-status')?.innerText.startsWith('Analysed')"
PLOTTED = "['homogeneity', 'additivity', 'spectrogram'].every(p => document.querySelector(`#lincae-${p} img`))"
MIXER_GAINS = {"vocals": 1.5, "drums": 0.5, "bass": 1.0, "other": -0.5}


def capture(url: str, out: Path, timeout_s: float = 600) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     args=CHROMIUM_ARGS)
        for scheme, name, viewport in (("light", "light", {"width": 1400, "height": 900}),
                                       ("dark", "dark", {"width": 1400, "height": 900}),
                                       ("light", "phone", {"width": 390, "height": 844})):
            page = browser.new_page(color_scheme=scheme, viewport=viewport)
            page.goto(f"{url}/?__theme={scheme}")
            page.wait_for_function(READY, timeout=timeout_s * 1000)
            page.wait_for_function(DECODED, timeout=60_000)
            # Show a playing cell: separated vocals of the first linear model that runs here.
            linear = page.locator("#lincae-player th.lc-linear:not(.lc-unavailable)")
            model = linear.first.get_attribute("data-model") if linear.count() else None
            cell = page.locator(f'#lincae-player td[data-row="sep_vocals"][data-model="{model}"]' if model
                                else '#lincae-player td[data-row="sep_vocals"][role="button"]').first
            if cell.count() and name != "phone":
                cell.click()
                page.wait_for_timeout(1200)
            path = out / f"screenshot-{name}.png"
            page.screenshot(path=str(path), full_page=name != "phone")
            paths.append(path)
            page.close()
        paths += capture_views(browser, url, out, timeout_s)
        browser.close()
    return paths


def _first_linear(page, scope: str) -> str | None:
    linear = page.locator(f"{scope} th.lc-linear:not(.lc-unavailable)")
    return linear.first.get_attribute("data-model") if linear.count() else None


def capture_views(browser, url: str, out: Path, timeout_s: float = 600) -> list[Path]:
    """docs/mixer.png (gains applied, a linear model's latent mix playing) and docs/analysis.png."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/?__theme=light")
    page.wait_for_function(READY, timeout=timeout_s * 1000)
    page.wait_for_function(MIXED, timeout=timeout_s * 1000)
    for stem, gain in MIXER_GAINS.items():
        page.locator(f"#lincae-mix-{stem} input[type=number]").fill(str(gain))
    page.locator("#lincae-mix-button").click()
    formula = mix_rows(coefficients(MIXER_GAINS), origin_correction=False)[1].formula
    page.wait_for_function(f"(f) => window.lincaePlayers.mixer.data.rows[1].formula === f && {MIXED}", arg=formula,
                           timeout=timeout_s * 1000)
    model = _first_linear(page, "#lincae-mixer")
    if model:
        page.locator(f'#lincae-mixer td[data-row="latent_mix"][data-model="{model}"]').click()
        page.wait_for_timeout(1200)
    paths = [out / "mixer.png", out / "analysis.png"]
    page.locator('[role="tabpanel"]:visible').first.screenshot(path=str(paths[0]))
    page.locator('#lincae-mixer .lc-stop').click()
    page.get_by_role("tab", name="Analysis").click()
    page.wait_for_function(ANALYSED, timeout=timeout_s * 1000)
    page.wait_for_function(PLOTTED, timeout=60_000)
    page.wait_for_timeout(500)
    page.locator('[role="tabpanel"]:visible').first.screenshot(path=str(paths[1]))
    page.close()
    return paths


@contextmanager
def launched(demo, cells_dir: Path) -> Iterator[str]:
    """`demo` served in this process for the length of the block; yields its URL."""
    from ui.layout import launch_kwargs

    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(cells_dir))
    try:
        yield demo.local_url.rstrip("/")
    finally:
        demo.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ui.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (default: start app.py here)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    if args.url:
        paths = capture(args.url.rstrip("/"), args.out)
    else:
        app = runpy.run_path(str(ROOT / "app.py"), run_name="app")
        with launched(app["demo"], app["builder"].cells_dir) as url:
            paths = capture(url, args.out)
    for p in paths:
        print(p)


if __name__ == "__main__":
    main()
