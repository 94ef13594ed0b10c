"""What a visitor waits for, measured in Chromium: cold start to a playable table, the latent mixer after a
slider is released, and the Analysis tab's first open.

    python benchmarks/bench_page.py [--runs 1] [--baseline REV] [--out benchmarks/results/page-<date>.json]

Each run starts `python app.py` as a fresh process with an empty cache folder (a cold start: nothing
computed, nothing on disk) and `HF_HUB_OFFLINE=1` (the embedded models; the official ones say N/A at once), on a
free port, and drives the page with Playwright and Debian's Chromium:
  - `cold_start_to_playable_s`: from spawning the process to every cell of the first track decoded in the
    browser (`window.lincaePlayer.loaded()`), i.e. the first moment any cell plays at once;
  - `server_ready_s`: from spawning to the server answering HTTP;
  - `mixer_after_release_s`: a vocals-gain slider dragged and released, on the page's own clock from the release
    until the mixer player holds the new mix for every model and its audio is decoded (`mixer_harness_s`: the
    same wait as the harness saw it, gesture and polling included);
  - `analysis_metrics_shown_s`: a click on the Analysis tab until its metrics table shows a row;
  - `analysis_first_open_s`: the same click until the metrics table and both plots are shown;
  - `analysis_spectrogram_shown_s`: the same click until the spectrogram of the default cell is shown too;
  - `other_track_analysis_*_s`: the same three for the second track, which nothing computes ahead (the app
    analyses the first track while it starts), in a new tab opened on it once its table plays.
With `--baseline REV` the same measurements run on the app as of git revision REV too (extracted to a
temporary folder), alternating baseline and current run by run, so both see the same machine load.
Results print as JSON (with the machine and its load).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PLAYABLE = ("(() => { const p = window.lincaePlayer; if (!p || !p.data) return false;"
            " const l = p.loaded(); const m = p.data.models.filter(m => m.available);"
            " return m.length > 0 && m.every(m => Object.keys(p.data.cells.ae_mix || {}).includes(m.name))"
            " && l.total > 0 && l.decoded === l.total; })()")
MIXED = ("(f) => { const p = window.lincaePlayers && window.lincaePlayers.mixer; if (!p || !p.data) return false;"
         " const l = p.loaded(); return p.data.rows[1].formula === f && l.total > 0 && l.decoded === l.total"
         " && (document.querySelector('#lincae-mix-status')?.innerText || '').startsWith('Mixed'); }")
MIXER_CLOCK = """() => {
  // The page's own clock, from the slider's release to the new mix decoded: the harness's first simulated gesture
  // and its polling in a new browser can stall for seconds while the page itself is idle; that is not the app's time.
  const p = window.lincaePlayers.mixer, before = p.data.rows[1].formula;
  window.lincaeBenchRelease = window.lincaeBenchMixed = null;
  document.addEventListener("pointerup", () => { window.lincaeBenchRelease = performance.now(); },
                            { capture: true, once: true });
  const poll = setInterval(() => {
    const l = p.loaded();
    if (p.data.rows[1].formula !== before && l.total > 0 && l.decoded === l.total
        && (document.querySelector("#lincae-mix-status")?.innerText || "").startsWith("Mixed")) {
      window.lincaeBenchMixed = performance.now();
      clearInterval(poll);
    }
  }, 10);
}"""
MIX_READY = "(document.querySelector('#lincae-mix-status')?.innerText || '').startsWith('Mixed')"
METRICS_SHOWN = "document.querySelectorAll('#lincae-metrics tbody tr').length > 0"
SPECTROGRAM_SHOWN = "document.querySelector('#lincae-spectrogram img') !== null"
ANALYSED = ("(document.querySelector('#lincae-analysis-status')?.innerText || '').startsWith('Analysed')"
            " && ['homogeneity', 'additivity'].every(p => document.querySelector(`#lincae-${p} img`))")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "load_average": os.getloadavg()}


def wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer")


def drag_release(page, selector: str, fraction: float) -> None:
    """Drag a range input's thumb to `fraction` of its width and release it (a real pointer gesture)."""
    box = page.locator(selector).bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * (1 / 3), y)  # the thumb of gain 1 on −1 … 2
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * fraction, y, steps=5)
    page.mouse.up()


def one_run(browser, timeout_s: float, app_dir: Path = ROOT) -> dict:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    port = free_port()
    cache = tempfile.mkdtemp(prefix="lincae-bench-cache-")
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "LINCAE_CACHE_DIR": cache, "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1"}  # the embedded models only: no download attempts (and their retries) in the timing
    url = f"http://127.0.0.1:{port}"
    page = browser.new_page(viewport={"width": 1400, "height": 900})  # the visitor's tab is open already
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=app_dir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    result: dict = {}
    try:
        wait_http(url, t0 + timeout_s)
        result["server_ready_s"] = time.monotonic() - t0
        page.goto(url)
        page.wait_for_function(PLAYABLE, timeout=timeout_s * 1000)
        result["cold_start_to_playable_s"] = time.monotonic() - t0

        page.wait_for_function(MIX_READY, timeout=timeout_s * 1000)
        page.get_by_role("tab", name="Latent mixer").click()
        slider = "#lincae-mix-vocals input[type=range]"
        page.locator(slider).scroll_into_view_if_needed()
        page.evaluate(MIXER_CLOCK)
        t1 = time.monotonic()
        drag_release(page, slider, 0.6)
        gain = float(page.locator(slider).input_value())
        from ui.mixer import coefficients, mix_rows  # after the timed start: importing Gradio takes seconds

        formula = mix_rows(coefficients({"vocals": gain, "drums": 1.0, "bass": 1.0, "other": 1.0}), False)[1].formula
        page.wait_for_function(MIXED, arg=formula, timeout=timeout_s * 1000)
        page.wait_for_function("window.lincaeBenchMixed !== null", timeout=timeout_s * 1000)
        result["mixer_after_release_s"] = page.evaluate("window.lincaeBenchMixed - window.lincaeBenchRelease") / 1000
        result["mixer_harness_s"] = time.monotonic() - t1  # the same wait as the harness saw it
        result["mixer_gain"] = gain

        result.update(open_analysis(page, timeout_s, "analysis"))
        result.update(analysis_of_another_track(browser, url, timeout_s))
        return result
    except PlaywrightTimeout as err:  # a wait that never ended is a result too: say which
        result["timed_out"] = str(err).splitlines()[0]
        return result
    finally:
        page.close()
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(cache, ignore_errors=True)


def analysis_of_another_track(browser, url: str, timeout_s: float) -> dict:
    """The Analysis of a track nobody has analysed (the second one), in a new tab: its table computed and played
    first, as a visitor would, then the Analysis tab opened."""
    from lincae.data.library import list_tracks

    track = list_tracks()[1].id
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(f"{url}/?track={track}")
        page.wait_for_function(f"{PLAYABLE} && window.lincaePlayer.data.track.id === {json.dumps(track)}",
                               timeout=timeout_s * 1000)
        return open_analysis(page, timeout_s, "other_track_analysis")
    finally:
        page.close()


def open_analysis(page, timeout_s: float, name: str) -> dict:
    """A click on the Analysis tab until its metrics show, then its plots, then the spectrogram (`<name>_…_s`)."""
    t0 = time.monotonic()
    page.get_by_role("tab", name="Analysis").click()
    result = {}
    for shown, key in ((METRICS_SHOWN, "metrics_shown"), (ANALYSED, "first_open"),
                       (SPECTROGRAM_SHOWN, "spectrogram_shown")):
        page.wait_for_function(shown, timeout=timeout_s * 1000)
        result[f"{name}_{key}_s"] = time.monotonic() - t0
    return result


def extract(rev: str) -> Path:
    """The repository's files at `rev` in a temporary folder (the bundled songs and models included)."""
    folder = Path(tempfile.mkdtemp(prefix="lincae-bench-app-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_page.py", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed for each wait")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--baseline", metavar="REV", help="also measure the app as of this git revision")
    args = parser.parse_args(argv)
    apps = {"current": ROOT}
    if args.baseline:
        apps = {f"baseline {args.baseline}": extract(args.baseline), **apps}
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    report = {"machine": machine(), "runs": {name: [] for name in apps}}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     args=CHROMIUM_ARGS)
        try:
            for _ in range(args.runs):
                for name, folder in apps.items():
                    report["runs"][name].append(one_run(browser, args.timeout, folder))
        finally:
            browser.close()
            for name, folder in apps.items():
                if folder != ROOT:
                    shutil.rmtree(folder, ignore_errors=True)
    report["machine"]["load_average_after"] = os.getloadavg()
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
